# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a scheduled checklist run leaves behind once its execution environment is gone: the run's summary (AWX job
artifacts through set_stats), the report store's index and retention, and the checklist metrics pushed to a
Prometheus Pushgateway. Pure Python, no Ansible imports: the filters (plugins/filter/checklist_run.py) and the unit
tests call these functions directly.

A run *succeeded* when every host of it was checked (no host in the report's not_checked): what it found is its
status (RedFireChecklistCritical alerts on a critical one); RedFireChecklistMissed alerts when no run succeeded for
too long.

Errors are ValueError with a text naming the option; the filters turn them into AnsibleFilterError."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import math
import re

from ansible_collections.redfire.ops.plugins.module_utils import check_result

STATUS_CODE = check_result.STATUS_CODE
KINDS = ('daily_check', 'periodic_check', 'incident_response')
# the report files' base names as the checklist role writes them: <kind>-<UTC stamp><suffix>
_FILE = re.compile(r'^(daily_check|periodic_check|incident_response)-\d{8}T\d{6}Z[A-Za-z0-9_.-]*$')
_LABEL_NAME = re.compile(r'^[a-zA-Z_][a-zA-Z0-9_]*$')


def _check_report(report, name):
    if not isinstance(report, dict) or any(k not in report for k in ('kind', 'status', 'hosts', 'generated_at')):
        raise ValueError('%s: input must be the report of redfire.ops.checklist_report (kind, status, hosts, '
                         'generated_at)' % name)
    if not isinstance(report['hosts'], list):
        raise ValueError('%s: the report\'s hosts must be a list' % name)
    for i, host in enumerate(report['hosts']):
        if not isinstance(host, dict) or 'name' not in host or 'status' not in host \
                or not isinstance(host.get('checks', []), list):
            raise ValueError('%s: hosts[%d] must have name, status and checks' % (name, i))


def _number(value, option, name, allow_none=True):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError('%s: %s must be a number, got %r' % (name, option, value))
    if not math.isfinite(value):
        raise ValueError('%s: %s must be a finite number, got %r' % (name, option, value))
    return float(value)


def parse_time(value, option='generated_at', name='checklist_run'):
    """Seconds since the epoch of an ISO 8601 time (a report's generated_at) or of a number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number(value, option, name, allow_none=False)
    text = str(value or '').strip()
    if text.endswith('Z'):
        text = text[:-1] + '+00:00'
    try:
        stamp = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError('%s: %s must be an ISO 8601 time such as 2026-12-02T09:00:00+00:00, got %r'
                         % (name, option, value))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    return stamp.timestamp()


def succeeded(report):
    """True when every host of the run was checked."""
    return not report.get('not_checked')


def duration(started, finished, name='checklist_run_summary'):
    """Seconds from the earliest of ``started`` (times the hosts began, some None) to ``finished``; None without
    any start time."""
    if started is None:
        return None
    if not isinstance(started, (list, tuple)):
        started = [started]
    starts = [parse_time(s, 'started', name) for s in started if s not in (None, '')]
    if not starts:
        return None
    return max(0.0, round(parse_time(finished, 'finished', name) - min(starts), 3))


def summary(report, files=None, url='', started=None):
    """The run's summary for set_stats (AWX job artifacts): overall status, success, per-host status, counts of
    hosts and checks by status, the problems' count, the hosts not checked, the duration and where the report is."""
    name = 'checklist_run_summary'
    _check_report(report, name)
    files = files or {}
    if not isinstance(files, dict):
        raise ValueError('%s: files must be a dict (json, html), got %s' % (name, type(files).__name__))
    checks = dict((s, 0) for s in check_result.BY_SEVERITY)
    for host in report['hosts']:
        for check in host.get('checks') or []:
            checks[check_result.normalize_status(check.get('status'))] += 1
    return {
        'kind': report['kind'],
        'status': report['status'],
        'succeeded': succeeded(report),
        'generated_at': report['generated_at'],
        'duration_seconds': duration(started, report['generated_at'], name),
        'hosts': dict((h['name'], h['status']) for h in report['hosts']),
        'host_counts': dict(report.get('host_counts') or {}),
        'check_counts': checks,
        'problems': len(report.get('problems') or []),
        'not_checked': list(report.get('not_checked') or []),
        'report': {'json': files.get('json', ''), 'html': files.get('html', ''), 'url': url or ''},
    }


# --- Pushgateway ------------------------------------------------------------------------------------------------

def _esc(value):
    return str(value).replace('\\', '\\\\').replace('\n', '\\n').replace('"', '\\"')


def _num(value):
    text = '%.3f' % value
    return text.rstrip('0').rstrip('.') if '.' in text else text


def last_success(groups, job, checklist):
    """The last-success time the Pushgateway holds for the group job=<job>, checklist=<checklist>, from its
    /api/v1/metrics answer (the parsed JSON); None when it holds none."""
    name = 'pushgateway_last_success'
    if isinstance(groups, dict):
        groups = groups.get('data')
    if groups in (None, ''):
        return None
    if not isinstance(groups, list):
        raise ValueError('%s: input must be the JSON of the Pushgateway\'s /api/v1/metrics' % name)
    for group in groups:
        labels = group.get('labels') or {} if isinstance(group, dict) else {}
        if labels.get('job') != job or labels.get('checklist') != checklist:
            continue
        family = group.get('redfire_checklist_last_success_timestamp_seconds') or {}
        for metric in family.get('metrics') or []:
            try:
                value = float(metric.get('value'))
            except (TypeError, ValueError):
                continue
            if math.isfinite(value) and value > 0:
                return value
    return None


def metrics(report, started=None, previous_success=None, labels=None):
    """The checklist metrics of one run as Prometheus text exposition, for a PUT to the Pushgateway group
    /metrics/job/<job>/checklist/<kind> (the grouping key adds job and checklist; one run replaces the last).

    Statuses are Nagios codes (0 ok, 1 warning, 2 critical, 3 unknown), as health_check's textfile metrics.
    The last-success time is this run's when it succeeded, else ``previous_success`` (what the group held, see
    last_success), else 0 (never): RedFireChecklistMissed then fires once its threshold has passed."""
    name = 'checklist_metrics'
    _check_report(report, name)
    labels = labels or {}
    if not isinstance(labels, dict) or any(not _LABEL_NAME.match(str(k)) or k in ('job', 'checklist', 'host', 'check')
                                           for k in labels):
        raise ValueError('%s: labels must be a dict of Prometheus label names (not job, checklist, host or check) '
                         'to values, got %r' % (name, labels))
    finished = parse_time(report['generated_at'], 'generated_at', name)
    previous = _number(previous_success, 'previous_success', name)
    ok = succeeded(report)
    success = finished if ok else (previous or 0.0)
    extra = ''.join(',%s="%s"' % (k, _esc(labels[k])) for k in sorted(labels))
    plain = '{%s}' % extra[1:] if extra else ''
    lines = []

    def family(metric, help_text):
        lines.extend(['# HELP %s %s' % (metric, help_text), '# TYPE %s gauge' % metric])

    family('redfire_checklist_status', 'Overall status of the last checklist run (0 ok, 1 warning, 2 critical, 3 unknown).')
    lines.append('redfire_checklist_status%s %d' % (plain, STATUS_CODE.get(report['status'], 3)))
    family('redfire_checklist_succeeded', 'Whether the last checklist run checked every host (1) or not (0).')
    lines.append('redfire_checklist_succeeded%s %d' % (plain, 1 if ok else 0))
    family('redfire_checklist_last_run_timestamp_seconds', 'When the last checklist run finished.')
    lines.append('redfire_checklist_last_run_timestamp_seconds%s %s' % (plain, _num(finished)))
    family('redfire_checklist_last_success_timestamp_seconds', 'When a checklist run last checked every host (0: never).')
    lines.append('redfire_checklist_last_success_timestamp_seconds%s %s' % (plain, _num(success)))
    seconds = duration(started, finished, name)
    if seconds is not None:
        family('redfire_checklist_run_duration_seconds', 'How long the last checklist run took.')
        lines.append('redfire_checklist_run_duration_seconds%s %s' % (plain, _num(seconds)))
    family('redfire_checklist_hosts', 'Hosts of the last checklist run by status.')
    counts = dict((s, 0) for s in check_result.STATUSES)
    for host in report['hosts']:
        counts[check_result.normalize_status(host['status'])] += 1
    for status in check_result.STATUSES:
        lines.append('redfire_checklist_hosts{status="%s"%s} %d' % (status, extra, counts[status]))
    family('redfire_checklist_host_status', 'Status of each host in the last checklist run (0..3).')
    for host in report['hosts']:
        lines.append('redfire_checklist_host_status{host="%s"%s} %d'
                     % (_esc(host['name']), extra, STATUS_CODE.get(host['status'], 3)))
    family('redfire_checklist_check_status', 'Status of each check of each host in the last checklist run (0..3).')
    for host in report['hosts']:
        seen = set()
        for check in host.get('checks') or []:
            if check['name'] in seen:  # one series per host and check
                continue
            seen.add(check['name'])
            lines.append('redfire_checklist_check_status{check="%s",host="%s"%s} %d'
                         % (_esc(check['name']), _esc(host['name']), extra,
                            STATUS_CODE.get(check_result.normalize_status(check['status']), 3)))
    return '\n'.join(lines) + '\n'


# --- report store -----------------------------------------------------------------------------------------------

def store_entry(report, files):
    """The index entry of one stored run: its base file name, kind, time, status and host counts."""
    name = 'report_store_index'
    _check_report(report, name)
    if not isinstance(files, dict) or not files.get('json'):
        raise ValueError('%s: files must be redfire_report_files (json, html)' % name)
    base = str(files['json']).rsplit('/', 1)[-1]
    base = base[:-5] if base.endswith('.json') else base
    if not _FILE.match(base):
        raise ValueError('%s: report file %r is not named <kind>-<YYYYMMDDTHHMMSSZ><suffix>.json' % (name, base))
    return {'name': base, 'kind': report['kind'], 'title': report.get('title', report['kind']),
            'generated_at': report['generated_at'], 'status': report['status'], 'succeeded': succeeded(report),
            'host_counts': dict(report.get('host_counts') or {}), 'problems': len(report.get('problems') or [])}


def _entries(index, name):
    if index in (None, ''):
        return []
    if isinstance(index, dict):
        index = index.get('runs')
    if not isinstance(index, list):
        raise ValueError('%s: the index must be the store\'s index.json (runs: [...]), got %s'
                         % (name, type(index).__name__))
    out = []
    for i, entry in enumerate(index):
        if not isinstance(entry, dict) or not _FILE.match(str(entry.get('name', ''))) \
                or entry.get('kind') not in KINDS or 'generated_at' not in entry:
            raise ValueError('%s: runs[%d] of the index is not an entry of this store (name, kind, generated_at)'
                             % (name, i))
        out.append(entry)
    return out


def store_plan(index, entry, now, max_age_days=90, max_count=100):
    """The store's new index (newest first) after adding ``entry``, and the base names of the runs that
    retention removes: older than ``max_age_days`` (0: no age limit) or beyond the ``max_count`` newest of their
    kind (0: no count limit). The run just added is always kept."""
    name = 'report_store_index'
    entries = [e for e in _entries(index, name) if e['name'] != entry['name']] + [entry]
    now = parse_time(now, 'now', name)
    max_age = _number(max_age_days, 'max_age_days', name, allow_none=False)
    count = _number(max_count, 'max_count', name, allow_none=False)
    if max_age < 0 or count < 0 or count != int(count):
        raise ValueError('%s: max_age_days must be >= 0 and max_count a whole number >= 0, got %r and %r'
                         % (name, max_age_days, max_count))
    entries.sort(key=lambda e: (parse_time(e['generated_at'], 'generated_at', name), e['name']), reverse=True)
    kept, removed, per_kind = [], [], {}
    for e in entries:
        per_kind[e['kind']] = per_kind.get(e['kind'], 0) + 1
        too_old = max_age > 0 and now - parse_time(e['generated_at'], 'generated_at', name) > max_age * 86400
        too_many = count > 0 and per_kind[e['kind']] > count
        if e['name'] != entry['name'] and (too_old or too_many):
            removed.append(e['name'])
        else:
            kept.append(e)
    return {'runs': kept, 'remove': removed}
