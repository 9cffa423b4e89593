# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""release_arch: the architecture name in Prometheus-ecosystem release tarballs, from Ansible's fact."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # pragma: no cover - only without Ansible
    AnsibleFilterError = ValueError

# ansible_facts['architecture'] (uname -m) -> GOARCH as in <name>-<version>.linux-<arch>.tar.gz.
# Names already in Go's spelling pass through (ppc64le, s390x, or a fact that is already amd64).
ARCH_MAP = {
    'x86_64': 'amd64',
    'amd64': 'amd64',
    'aarch64': 'arm64',
    'arm64': 'arm64',
    'armv7l': 'armv7',
    'armv6l': 'armv6',
    'i386': '386',
    'i686': '386',
    'ppc64le': 'ppc64le',
    's390x': 's390x',
    'riscv64': 'riscv64',
    'mips64': 'mips64',
}


def release_arch(architecture):
    """The release architecture for a machine architecture; fails naming the known ones."""
    if not isinstance(architecture, str) or architecture not in ARCH_MAP:
        raise AnsibleFilterError(
            'release_arch: no release architecture for %r; known: %s (set the role\'s download URL by hand)'
            % (architecture, ', '.join(sorted(ARCH_MAP))))
    return ARCH_MAP[architecture]


class FilterModule(object):
    def filters(self):
        return {'release_arch': release_arch}
