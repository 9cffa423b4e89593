# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""platform_verdict: whether a role supports the host, and whether the tests ran on its platform; library_packages:
the Debian packages of the Python libraries the host modules import."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.redfire.ops.plugins.module_utils.platforms import LIBRARY_PACKAGES
from ansible_collections.redfire.ops.plugins.module_utils.platforms import platform_verdict as core_verdict

METHODS = ('package', 'tarball', 'none')
ALTERNATIVES = (None, '', 'tarball', 'install')


def platform_verdict(facts, role, method='package', alternative=None):
    if not isinstance(role, str) or not role:
        raise AnsibleFilterError('platform_verdict: role must be the role name, got %r' % (role,))
    if method not in METHODS:
        raise AnsibleFilterError('platform_verdict: method is %r; use one of %s' % (method, ', '.join(METHODS)))
    if alternative not in ALTERNATIVES:
        raise AnsibleFilterError("platform_verdict: alternative is %r; use 'tarball', 'install' or none" % (alternative,))
    return dict(core_verdict(facts, role, method, alternative or None)._asdict())


def library_packages(wanted):
    """The Debian packages of the host modules' Python libraries that `wanted` ({purpose: bool}) asks for."""
    if not isinstance(wanted, dict) or set(wanted) - set(LIBRARY_PACKAGES):
        raise AnsibleFilterError('library_packages: give a dict of %s to true/false, got %r'
                                 % (', '.join(sorted(LIBRARY_PACKAGES)), wanted))
    return [LIBRARY_PACKAGES[name] for name in sorted(wanted) if wanted[name] in (True, 'true', 'True', 'yes', 1)]


class FilterModule(object):
    def filters(self):
        return {'platform_verdict': platform_verdict, 'library_packages': library_packages}
