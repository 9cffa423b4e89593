# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a health_check run reports: the summary, the guide's health status, Nagios and textfile outputs."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import time


from ansible_collections.redfire.ops.plugins.module_utils.health_checks_common import (
    SEVERITY, STATUS_CODE, _fmt, worst,
)


def summarize(checks, skipped=None):
    status = worst(c['status'] for c in checks)
    return {
        'status': status,
        'checks': checks,
        'skipped': skipped or [],
        'summary': nagios_summary(status, checks),
        'health_status': guide_health_status(checks, skipped or []),
    }


def guide_health_status(checks, skipped):
    """The guide's HealthChecker.health_status keys, for scripts built on the guide."""
    by_name = dict((c['name'], c) for c in checks)
    out = {
        'cpu_usage': by_name.get('cpu', {}).get('value'),
        'memory_usage': by_name.get('memory', {}).get('value'),
        'disk_usage': None,
        'network_status': 'skipped',
    }
    if 'disk:/' in by_name:
        out['disk_usage'] = by_name['disk:/']['value']
    else:
        disks = [c['value'] for c in checks if c['kind'] == 'disk' and c['value'] is not None]
        out['disk_usage'] = max(disks) if disks else None
    net = [c for c in checks if c['kind'] == 'network']
    if net:
        out['network_status'] = 'connected' if all(c['status'] in ('ok', 'warning') for c in net) else 'disconnected'
    return out


_PERF_UNITS = {'%': '%', 's': 's', 'B': 'B'}


def _perf_label(name):
    label = name.replace("'", '_').replace('=', '_')
    return "'%s'" % label if (' ' in label or ':' in label or '/' in label) else label


def nagios_summary(status, checks):
    """``HEALTH <STATUS> - <problems or counts> | perfdata`` (Nagios plugin output)."""
    problems = [c for c in checks if c['status'] != 'ok']
    problems.sort(key=lambda c: -SEVERITY.get(c['status'], 2))
    if problems:
        text = '; '.join('%s %s: %s' % (c['name'], c['status'], c['message']) for c in problems[:10])
        if len(problems) > 10:
            text += '; and %d more' % (len(problems) - 10)
    else:
        text = '%d checks ok' % len(checks)
    perf = []
    for c in checks:
        if c['value'] is None or isinstance(c['value'], bool):
            continue
        unit = _PERF_UNITS.get(c['unit'], '')
        perf.append('%s=%s%s;%s;%s' % (_perf_label(c['name']), _fmt(c['value']), unit,
                                       '' if c['warning'] is None else _fmt(c['warning']),
                                       '' if c['critical'] is None else _fmt(c['critical'])))
    line = 'HEALTH %s - %s' % (status.upper(), text)
    return line + (' | ' + ' '.join(perf) if perf else '')


def _esc(value):
    return str(value).replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')


def render_textfile(status, checks, timestamp=None):
    """Prometheus text exposition for node_exporter's textfile collector."""
    lines = [
        '# HELP redfire_health_check_status Health check status (0 ok, 1 warning, 2 critical, 3 unknown).',
        '# TYPE redfire_health_check_status gauge',
    ]
    for c in checks:
        lines.append('redfire_health_check_status{check="%s",kind="%s"} %d'
                     % (_esc(c['name']), _esc(c['kind']), STATUS_CODE.get(c['status'], 3)))
    lines += [
        '# HELP redfire_health_check_value Value measured by a health check, in its unit.',
        '# TYPE redfire_health_check_value gauge',
    ]
    for c in checks:
        if c['value'] is None or isinstance(c['value'], bool):
            continue
        try:
            value = float(c['value'])
        except (TypeError, ValueError):
            continue
        lines.append('redfire_health_check_value{check="%s",kind="%s",unit="%s"} %s'
                     % (_esc(c['name']), _esc(c['kind']), _esc(c['unit']), repr(value)))
    lines += [
        '# HELP redfire_health_check_overall_status Worst status of the last health check run (0..3).',
        '# TYPE redfire_health_check_overall_status gauge',
        'redfire_health_check_overall_status %d' % STATUS_CODE.get(status, 3),
        '# HELP redfire_health_check_last_run_timestamp_seconds When the last health check run finished.',
        '# TYPE redfire_health_check_last_run_timestamp_seconds gauge',
        'redfire_health_check_last_run_timestamp_seconds %s'
        % ('%.3f' % (time.time() if timestamp is None else float(timestamp))).rstrip('0').rstrip('.'),
    ]
    return '\n'.join(lines) + '\n'


def validate_textfile(path, shape_only=False):
    """Reason why ``path`` cannot take the textfile output, or None.

    ``shape_only`` checks the name but not the directory (check mode: an earlier task may create it).
    """
    if not path.startswith('/'):
        return 'must be an absolute path, got %r' % path
    if not path.endswith('.prom'):
        return "must end in .prom (node_exporter's textfile collector reads only *.prom), got %r" % path
    if shape_only:
        return None
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        return 'directory %s does not exist (create it or point textfile at node_exporter\'s textfile directory)' % directory
    if not os.access(directory, os.W_OK | os.X_OK):
        return 'directory %s is not writable' % directory
    return None
