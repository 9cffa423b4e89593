# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""duration_seconds: a Prometheus duration (1h30m, 15s, 500ms) in seconds, for preflight comparisons."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # pragma: no cover - only without Ansible
    AnsibleFilterError = ValueError

_UNITS = (('y', 365 * 86400), ('w', 7 * 86400), ('d', 86400), ('h', 3600), ('m', 60), ('s', 1), ('ms', 0.001))
_DURATION = re.compile(r'^' + ''.join(r'(?:(\d+)%s)?' % unit for unit, _s in _UNITS) + r'$')


def duration_seconds(value):
    """Seconds of a Prometheus duration such as ``1h30m``, ``15s`` or ``500ms``."""
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    m = _DURATION.match(text) if text else None
    if m is None or not any(m.groups()):
        raise AnsibleFilterError('duration_seconds: %r is not a Prometheus duration such as 15s, 5m or 1h30m'
                                 % (value,))
    return sum(int(n) * size for n, (_unit, size) in zip(m.groups(), _UNITS) if n)


class FilterModule(object):
    def filters(self):
        return {'duration_seconds': duration_seconds}
