# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: the guide's error report from one or several redfire.ops.log_analysis results."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.redfire.ops.plugins.module_utils.log_report import LABELS, render_report


def _merge(results):
    """Several results (e.g. one per host) as one: counts summed, details merged by time."""
    merged = {'error_counts': {}, 'total_errors': 0, 'error_details': [], 'top_messages': [], 'files': []}
    tops = {}
    for res in results:
        if not isinstance(res, dict) or 'error_counts' not in res:
            raise AnsibleFilterError('log_report: every item must be a registered redfire.ops.log_analysis result')
        for name, count in res['error_counts'].items():
            merged['error_counts'][name] = merged['error_counts'].get(name, 0) + count
        merged['total_errors'] += res.get('total_errors', 0)
        merged['error_details'].extend(res.get('error_details') or [])
        merged['files'].extend(res.get('files') or [])
        for top in res.get('top_messages') or []:
            cur = tops.setdefault(top['message'], dict(top, count=0))
            cur['count'] += top['count']
            cur['first_seen'] = min(cur['first_seen'], top['first_seen'])
            cur['last_seen'] = max(cur['last_seen'], top['last_seen'])
        for key in ('window', 'generated_at'):
            merged.setdefault(key, res.get(key))
    merged['error_details'].sort(key=lambda d: (d.get('time') or '', d.get('file') or ''))
    merged['top_messages'] = sorted(tops.values(), key=lambda t: (-t['count'], t['first_seen']))[:10]
    return merged


def log_report(result, language='zh', max_details=10):
    """Render the report of a log_analysis result, or of a list of them merged."""
    if language not in LABELS:
        raise AnsibleFilterError('log_report: language must be one of %s, got %r'
                                 % (', '.join(sorted(LABELS)), language))
    if isinstance(result, (list, tuple)):
        result = _merge(result)
    elif not isinstance(result, dict) or 'error_counts' not in result:
        raise AnsibleFilterError('log_report: the input must be a registered redfire.ops.log_analysis result '
                                 '(or a list of them)')
    return render_report(result, language, max_details=max_details)


class FilterModule(object):
    def filters(self):
        return {'log_report': log_report}
