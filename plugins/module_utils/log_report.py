# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guide's error analysis report as text, in Chinese (the guide's wording) or English."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

LABELS = {
    'zh': {
        'title': u'RedFire系统错误分析报告',
        'generated': u'生成时间',
        'range': u'分析范围',
        'last_hours': u'最近{0}小时',
        'between': u'{0} 至 {1}',
        'total': u'总错误数',
        'by_type': u'错误类型统计',
        'times': u'{0}次',
        'details': u'详细错误信息',
        'top': u'高频错误消息',
        'files': u'文件问题',
    },
    'en': {
        'title': u'RedFire system error analysis report',
        'generated': u'Generated at',
        'range': u'Analysis range',
        'last_hours': u'last {0} hours',
        'between': u'{0} to {1}',
        'total': u'Total errors',
        'by_type': u'Errors by type',
        'times': u'{0}',
        'details': u'Error details',
        'top': u'Top recurring messages',
        'files': u'File problems',
    },
}


def render_report(result, language='zh', max_details=None):
    """Render the analysis ``result`` (log_scan.analyze's dictionary) as the guide's text report."""
    if language not in LABELS:
        raise ValueError('language must be one of %s, got %r' % (', '.join(sorted(LABELS)), language))
    lab = LABELS[language]
    window = result.get('window') or {}
    if window.get('relative'):
        rng = lab['last_hours'].format(window.get('hours'))
    else:
        rng = lab['between'].format(window.get('since'), window.get('until'))
    lines = [
        lab['title'],
        u'%s: %s' % (lab['generated'], result.get('generated_at', '')),
        u'%s: %s' % (lab['range'], rng),
        u'%s: %s' % (lab['total'], result.get('total_errors', 0)),
        u'',
        u'%s:' % lab['by_type'],
    ]
    for name, count in (result.get('error_counts') or {}).items():
        lines.append(u'- %s: %s' % (name, lab['times'].format(count)))
    details = result.get('error_details') or []
    if max_details is not None:
        details = details[:max_details]
    if details:
        lines.append(u'')
        lines.append(u'%s:' % lab['details'])
        for d in details:
            lines.append(u'- %s [%s]: %s' % (d.get('time'), d.get('type'), d.get('message')))
            for cont in d.get('continuation') or []:
                lines.append(u'    %s' % cont)
    top = result.get('top_messages') or []
    if top:
        lines.append(u'')
        lines.append(u'%s:' % lab['top'])
        for t in top:
            lines.append(u'- %s x %s (%s .. %s)'
                         % (t.get('count'), t.get('message'), t.get('first_seen'), t.get('last_seen')))
    problems = [f for f in result.get('files') or [] if f.get('error') or f.get('warnings')]
    if problems:
        lines.append(u'')
        lines.append(u'%s:' % lab['files'])
        for f in problems:
            for msg in ([f['error']] if f.get('error') else []) + list(f.get('warnings') or []):
                lines.append(u'- %s: %s' % (f.get('path'), msg))
    return u'\n'.join(lines) + u'\n'
