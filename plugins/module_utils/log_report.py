# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guide's error analysis report as text, in Chinese (the guide's wording) or English."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import unicodedata

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
        'by_level': u'按级别统计',
        'histogram': u'时间分布（每{0}）',
        'bucket': u'时段',
        'total_col': u'合计',
        'empty_buckets': u'（{0}个无错误的时段未列出）',
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
        'by_level': u'Errors by level',
        'histogram': u'Errors over time (per {0})',
        'bucket': u'from',
        'total_col': u'total',
        'empty_buckets': u'({0} buckets without errors not shown)',
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
    levels = result.get('level_counts') or {}
    if levels:
        lines.append(u'')
        lines.append(u'%s:' % lab['by_level'])
        for name, count in levels.items():
            lines.append(u'- %s: %s' % (name, lab['times'].format(count)))
    lines.extend(histogram_table(result.get('histogram'), list((result.get('error_counts') or {}).keys()), lab))
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


def _width(text):
    """Columns a text takes in a terminal (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in ('W', 'F') else 1 for c in text)


def _bucket_text(seconds):
    for unit, size in (('d', 86400), ('h', 3600), ('m', 60)):
        if seconds % size == 0:
            return u'%d%s' % (seconds // size, unit)
    return u'%ds' % seconds


def histogram_table(histogram, names, lab):
    """The histogram as a small text table: one row per bucket with errors (empty ones are counted in a note),
    one column per category that has errors, and the row's total."""
    if not isinstance(histogram, dict) or not histogram.get('buckets'):
        return []
    rows = [b for b in histogram['buckets'] if b.get('total')]
    if not rows:
        return []
    names = [n for n in names if any((b.get('counts') or {}).get(n) for b in rows)]
    header = [lab['bucket']] + names + [lab['total_col']]
    table = [[b.get('start', u'')] + [u'%d' % (b.get('counts') or {}).get(n, 0) for n in names] + [u'%d' % b['total']]
             for b in rows]
    widths = [max(_width(r[i]) for r in [header] + table) for i in range(len(header))]
    out = [u'', u'%s:' % lab['histogram'].format(_bucket_text(int(histogram.get('bucket_seconds') or 3600)))]
    for r in [header] + table:
        cells = [(c + u' ' * (w - _width(c))) if i == 0 else (u' ' * (w - _width(c)) + c)
                 for i, (c, w) in enumerate(zip(r, widths))]
        out.append(u'  ' + u'  '.join(cells))
    skipped = len(histogram['buckets']) - len(rows)
    if skipped:
        out.append(u'  ' + lab['empty_buckets'].format(skipped))
    return out
