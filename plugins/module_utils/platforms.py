# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which hosts the roles support and which the tests ran on: the one platform policy of the collection.

The roles install Debian packages with apt at Debian's paths and names. A Debian-family host other than the tested
releases should serve (same package names) and gets a warning; another OS family is refused before anything
changes, unless the role can install the pinned upstream release instead (the tarball method), which is then
allowed with a warning because no test runs it there.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import namedtuple

# (distribution, major version, codename): what Molecule, the lab and the integration tests run on.
TESTED = (
    ('Debian', '12', 'bookworm'),
    ('Debian', '13', 'trixie'),
)

# What the host modules import, by purpose, and the Debian package that provides it (redfire.ops.host_prereqs
# installs these; health_check names them when one is missing).
LIBRARY_PACKAGES = {
    'psutil': 'python3-psutil',
    'postgresql': 'python3-psycopg2',
    'redis': 'python3-redis',
}

PlatformVerdict = namedtuple('PlatformVerdict', ['supported', 'tested', 'message'])


def tested_text():
    return ', '.join('%s %s (%s)' % t for t in TESTED)


def host_text(facts):
    text = '%s %s' % (facts.get('distribution') or 'unknown', facts.get('distribution_version') or facts.get('distribution_major_version') or '')
    release = facts.get('distribution_release')
    if release and release not in ('NA', 'n/a'):
        text += ' (%s)' % release
    return '%s, %s family' % (text.strip(), facts.get('os_family') or 'unknown')


def platform_verdict(facts, role, method='package', alternative=None):
    """Decide whether `role` may run on the host described by `facts` (ansible_facts).

    method: how the role installs: 'package' (apt), 'tarball' (pinned upstream release), or 'none' (the user
    installs it; nothing OS-specific is done). alternative: what to tell a user on another OS family ('tarball':
    the role has a tarball method; 'install': the role can skip its install with <role>_install: false).
    """
    if not isinstance(facts, dict) or not facts.get('os_family'):
        return PlatformVerdict(False, False, '%s: the host facts lack os_family; gather facts (ansible.builtin.setup) '
                                             'before the role runs' % role)
    tested = any(facts.get('distribution') == dist and str(facts.get('distribution_major_version')) == major
                 for dist, major, _codename in TESTED)
    if tested:
        return PlatformVerdict(True, True, '')
    host = host_text(facts)
    if method == 'none':
        return PlatformVerdict(True, False, '')
    if facts['os_family'] == 'Debian':
        return PlatformVerdict(True, False, '%s is tested on %s; this host runs %s: the Debian packages should serve, '
                                            'but no test ran them here' % (role, tested_text(), host))
    if method == 'tarball':
        return PlatformVerdict(True, False, '%s is tested on %s; this host runs %s: the tarball install (the pinned '
                                            'upstream release under a systemd unit of its own) may serve, but no test '
                                            'ran it here' % (role, tested_text(), host))
    message = ('%s installs Debian packages with apt (Debian names and paths) and supports the Debian family, tested on '
               '%s; this host runs %s. ' % (role, tested_text(), host))
    if alternative == 'tarball':
        message += ('Set %s_install_method: tarball to install the pinned upstream release instead (it may serve on '
                    '%s, untested), or leave this host out.' % (role, facts['os_family']))
    elif alternative == 'install':
        message += 'Install it by other means and set %s_install: false, or leave this host out.' % role
    else:
        message += 'Leave this host out of the play.'
    return PlatformVerdict(False, False, message)
