# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for health check results: status from thresholds, a text table, Prometheus textfile text."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.redfire.ops.plugins.module_utils import check_result
from ansible_collections.redfire.ops.plugins.module_utils import health_checks as core
from ansible_collections.redfire.ops.plugins.module_utils.filter_input import guarded, is_number

_COLUMNS = ('name', 'status', 'value', 'warning', 'critical', 'message')


def health_status(value, warning=None, critical=None, lower_is_worse=False):
    """Nagios status of a value against warning/critical thresholds."""
    for option, threshold in (('warning', warning), ('critical', critical)):
        if threshold is not None:
            try:
                if not is_number(float(threshold)):
                    raise ValueError(threshold)
            except (TypeError, ValueError):
                raise AnsibleFilterError('health_status: %s must be a number (finite), got %r' % (option, threshold))
    return core.status_of(value, warning, critical, lower_is_worse=bool(lower_is_worse))


def _checks(checks, filter_name, needs=()):
    if isinstance(checks, dict) and 'checks' in checks:
        checks = checks['checks']
    if not isinstance(checks, (list, tuple)):
        raise AnsibleFilterError('%s: input must be the checks list (or the registered result) of '
                                 'redfire.ops.health_check, got %s' % (filter_name, type(checks).__name__))
    for i, c in enumerate(checks):
        if not isinstance(c, dict) or 'name' not in c or 'status' not in c:
            raise AnsibleFilterError('%s: item %d is not a health check result (needs name and status)' % (filter_name, i))
        missing = [k for k in needs if k not in c]
        if missing:
            raise AnsibleFilterError('%s: item %d (%s) is not a health check result: it has no %s'
                                     % (filter_name, i, c['name'], ', '.join(missing)))
        if not isinstance(c['status'], str) or c['status'] not in check_result.STATUSES:
            raise AnsibleFilterError('%s: item %d (%s): status must be one of %s, got %r'
                                     % (filter_name, i, c['name'], ', '.join(check_result.STATUSES), c['status']))
        for key in ('value', 'warning', 'critical'):
            val = c.get(key)
            if val is not None and not isinstance(val, str) and not is_number(val):
                raise AnsibleFilterError('%s: item %d (%s): %s must be a finite number, a text or null, got %r'
                                         % (filter_name, i, c['name'], key, val))
    return checks


def _cell(check, key):
    value = check.get(key)
    if value is None:
        return '-'
    if key in ('value', 'warning', 'critical'):
        return '%s%s' % (core._fmt(value), check.get('unit') or '')  # pylint: disable=protected-access
    return str(value)


def health_table(checks, only_problems=False):
    """A fixed-width text table of health check results, worst first."""
    rows = list(_checks(checks, 'health_table'))
    if only_problems:
        rows = [c for c in rows if c['status'] != 'ok']
    rows = check_result.worst_first(rows)
    table = [[c.upper() for c in _COLUMNS]] + [[_cell(c, k) for k in _COLUMNS] for c in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(_COLUMNS) - 1)]
    lines = []
    for r in table:
        lines.append('  '.join(r[i].ljust(widths[i]) for i in range(len(widths))) + '  ' + r[-1])
    return '\n'.join(line.rstrip() for line in lines)


def health_textfile(checks, timestamp=None):
    """Prometheus textfile text (the redfire_health_check_* metrics) of health check results."""
    rows = _checks(checks, 'health_textfile', needs=('kind',))
    if timestamp is not None:
        try:
            timestamp = float(timestamp)
            if not is_number(timestamp):
                raise ValueError(timestamp)
        except (TypeError, ValueError):
            raise AnsibleFilterError('health_textfile: timestamp must be a number of seconds, got %r' % (timestamp,))
    return core.render_textfile(check_result.worst(c['status'] for c in rows), rows, timestamp)


class FilterModule(object):
    def filters(self):
        return dict((name, guarded(name, func, AnsibleFilterError)) for name, func in (
            ('health_status', health_status), ('health_table', health_table), ('health_textfile', health_textfile)))
