# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: the guide's error report from one or several redfire.ops.log_analysis results."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.redfire.ops.plugins.module_utils.filter_input import guarded
from ansible_collections.redfire.ops.plugins.module_utils.log_report import LABELS, render_report

_INT = 'a whole number'


def _count(value, what):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise AnsibleFilterError('log_report: %s must be %s >= 0, got %r' % (what, _INT, value))
    return value


def _check_result(res, i=None):
    """A registered log_analysis result, or AnsibleFilterError saying which part is malformed."""
    where = 'the input' if i is None else 'every item (item %d)' % i
    if not isinstance(res, dict) or not isinstance(res.get('error_counts'), dict):
        raise AnsibleFilterError('log_report: %s must be a registered redfire.ops.log_analysis result (with '
                                 'error_counts)' % where)
    for name, count in res['error_counts'].items():
        _count(count, '%s: error_counts.%s' % (where, name))
    if res.get('total_errors') is not None:
        _count(res['total_errors'], '%s: total_errors' % where)
    for key in ('error_details', 'top_messages', 'files'):
        items = res.get(key)
        if items is not None and not (isinstance(items, list) and all(isinstance(x, dict) for x in items)):
            raise AnsibleFilterError('log_report: %s: %s must be a list of dicts, got %r' % (where, key, items))
    for j, top in enumerate(res.get('top_messages') or []):
        for key in ('message', 'first_seen', 'last_seen'):
            if not isinstance(top.get(key), str):
                raise AnsibleFilterError('log_report: %s: top_messages[%d].%s must be a text, got %r'
                                         % (where, j, key, top.get(key)))
        _count(top.get('count'), '%s: top_messages[%d].count' % (where, j))
    for name, count in (res.get('level_counts') or {}).items():
        _count(count, '%s: level_counts.%s' % (where, name))
    hist = res.get('histogram')
    if hist is not None:
        rows = hist.get('buckets') if isinstance(hist, dict) else None
        if not isinstance(rows, list) or not all(isinstance(r, dict) and isinstance(r.get('start'), str) and
                                                 isinstance(r.get('counts'), dict) for r in rows):
            raise AnsibleFilterError('log_report: %s: histogram must be a dict with buckets, a list of '
                                     '{start, counts, total}, got %r' % (where, hist))
        for j, row in enumerate(rows):
            _count(row.get('total'), '%s: histogram.buckets[%d].total' % (where, j))
            for name, count in row['counts'].items():
                _count(count, '%s: histogram.buckets[%d].counts.%s' % (where, j, name))
    if res.get('window') is not None and not isinstance(res['window'], dict):
        raise AnsibleFilterError('log_report: %s: window must be a dict, got %r' % (where, res['window']))
    return res


def _merge(results):
    """Several results (e.g. one per host) as one: counts summed, details merged by time."""
    merged = {'error_counts': {}, 'total_errors': 0, 'error_details': [], 'top_messages': [], 'files': [],
              'level_counts': {}}
    tops = {}
    buckets = {}
    bucket_seconds = set()
    for i, res in enumerate(results):
        _check_result(res, i)
        for name, count in res['error_counts'].items():
            merged['error_counts'][name] = merged['error_counts'].get(name, 0) + count
        merged['total_errors'] += res.get('total_errors', 0)
        merged['error_details'].extend(res.get('error_details') or [])
        merged['files'].extend(res.get('files') or [])
        for name, count in (res.get('level_counts') or {}).items():
            merged['level_counts'][name] = merged['level_counts'].get(name, 0) + count
        hist = res.get('histogram') or {}
        if hist.get('buckets'):
            bucket_seconds.add(hist.get('bucket_seconds'))
        for row in hist.get('buckets') or []:
            cur = buckets.setdefault(row['start'], {'start': row['start'], 'counts': {}, 'total': 0})
            for name, count in row['counts'].items():
                cur['counts'][name] = cur['counts'].get(name, 0) + count
            cur['total'] += row['total']
        for top in res.get('top_messages') or []:
            cur = tops.setdefault(top['message'], dict(top, count=0))
            cur['count'] += top['count']
            cur['first_seen'] = min(cur['first_seen'], top['first_seen'])
            cur['last_seen'] = max(cur['last_seen'], top['last_seen'])
        for key in ('window', 'generated_at'):
            merged.setdefault(key, res.get(key))
    merged['error_details'].sort(key=lambda d: (d.get('time') or '', d.get('file') or ''))
    if len(bucket_seconds) == 1:  # hosts with different bucket sizes cannot share one table
        merged['histogram'] = {'bucket_seconds': bucket_seconds.pop(), 'buckets': [buckets[k] for k in sorted(buckets)]}
    merged['top_messages'] = sorted(tops.values(), key=lambda t: (-t['count'], t['first_seen']))[:10]
    return merged


def log_report(result, language='zh', max_details=10):
    """Render the report of a log_analysis result, or of a list of them merged."""
    if language not in LABELS:
        raise AnsibleFilterError('log_report: language must be one of %s, got %r'
                                 % (', '.join(sorted(LABELS)), language))
    if max_details is not None:
        _count(max_details, 'max_details')
    if isinstance(result, (list, tuple)):
        result = _merge(result)
    elif not isinstance(result, dict) or 'error_counts' not in result:
        raise AnsibleFilterError('log_report: the input must be a registered redfire.ops.log_analysis result '
                                 '(or a list of them)')
    else:
        _check_result(result)
    return render_report(result, language, max_details=max_details)


class FilterModule(object):
    def filters(self):
        return {'log_report': guarded('log_report', log_report, AnsibleFilterError)}
