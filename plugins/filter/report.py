# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checklist reports: one data structure (checklist_report), rendered as JSON (report_json) and as
HTML for mail clients and browsers (report_html). Chinese by default, English with language='en'."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import html
import json
import re

from ansible_collections.redfire.ops.plugins.module_utils import check_result
from ansible_collections.redfire.ops.plugins.module_utils.filter_input import guarded
from ansible_collections.redfire.ops.plugins.module_utils.url_secrets import mask_url

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # pragma: no cover - only without Ansible
    AnsibleFilterError = ValueError

# Statuses in severity order (the order of the counts in reports) and their ranks: check_result owns both.
STATUSES = check_result.BY_SEVERITY
SEVERITY = check_result.SEVERITY
COLORS = {'ok': '#1e7e34', 'warning': '#b8860b', 'unknown': '#6c757d', 'critical': '#c82333'}
REDACTED = '********'
SECRET_KEY = re.compile(r'(pass(word|wd)?|secret|token|api_?key|private_?key|credential|auth)', re.I)

TEXT = {
    'zh': {
        'daily_check': '日常检查报告', 'periodic_check': '周期性检查报告', 'incident_response': '应急响应报告',
        'generated': '生成时间', 'overall': '总体状态', 'hosts': '主机', 'host': '主机', 'check': '检查项',
        'status': '状态', 'value': '数值', 'warning': '警告阈值', 'critical': '严重阈值', 'message': '说明',
        'summary': '汇总', 'timeline': '时间线', 'time': '时间', 'event': '事件', 'actions': '已执行操作',
        'notes': '备注', 'no_problems': '所有检查项正常', 'problems': '问题', 'run_by': '执行方式',
        'ok': '正常', 'warning_s': '警告', 'unknown': '未知', 'critical_s': '严重', 'escalation': '升级级别',
        'post_incident': '事后分析', 'time_to_detect': '发现用时（秒）', 'time_to_recover': '恢复用时（秒）',
        'impact': '影响范围', 'orders_failed': '失败订单', 'orders_missing': '缺失订单', 'root_cause': '根本原因',
        'lessons': '经验教训', 'to_fill': '（待工程师填写）', 'item': '项目',
        'store': '检查报告存档', 'run': '检查', 'report': '报告', 'no_runs': '暂无报告',
    },
    'en': {
        'daily_check': 'Daily check report', 'periodic_check': 'Periodic check report',
        'incident_response': 'Incident response report',
        'generated': 'Generated', 'overall': 'Overall status', 'hosts': 'Hosts', 'host': 'Host', 'check': 'Check',
        'status': 'Status', 'value': 'Value', 'warning': 'Warning', 'critical': 'Critical', 'message': 'Message',
        'summary': 'Summary', 'timeline': 'Timeline', 'time': 'Time', 'event': 'Event', 'actions': 'Actions taken',
        'notes': 'Notes', 'no_problems': 'All checks ok', 'problems': 'Problems', 'run_by': 'Run by',
        'ok': 'OK', 'warning_s': 'WARNING', 'unknown': 'UNKNOWN', 'critical_s': 'CRITICAL', 'escalation': 'Escalation level',
        'post_incident': 'Post-incident analysis', 'time_to_detect': 'Time to detect (s)',
        'time_to_recover': 'Time to recover (s)', 'impact': 'Impact', 'orders_failed': 'Orders failed',
        'orders_missing': 'Orders missing', 'root_cause': 'Root cause', 'lessons': 'Lessons learned',
        'to_fill': '(for the engineer to fill in)', 'item': 'Item',
        'store': 'Checklist reports', 'run': 'Checklist', 'report': 'Report', 'no_runs': 'No reports yet',
    },
}


def _text(language):
    if language not in TEXT:
        raise AnsibleFilterError("report: language must be one of %s, got %r (set redfire_report_language)"
                                 % (', '.join(sorted(TEXT)), language))
    return TEXT[language]


def _status_label(status, t):
    return t.get(status + '_s', t.get(status, status))


worst = check_result.worst


def _redact(value, secrets, urls=False):
    """Copy of value with secret-looking keys masked and every known secret string replaced; with urls, also the
    credentials and query values of URLs and DSNs in the texts (url_secrets.mask_url)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(key, str) and SECRET_KEY.search(key) and item not in (None, '', [], {}):
                out[key] = REDACTED
            else:
                out[key] = _redact(item, secrets, urls)
        return out
    if isinstance(value, (list, tuple)):
        return [_redact(item, secrets, urls) for item in value]
    if isinstance(value, str):
        for secret in secrets:
            if secret and secret in value:
                value = value.replace(secret, REDACTED)
        return mask_url(value) if urls else value
    return value


def _secrets(redact):
    if redact is None:
        return []
    if isinstance(redact, str):
        redact = [redact]
    if not isinstance(redact, (list, tuple)):
        raise AnsibleFilterError('report: redact must be a list of strings to mask, got %s' % type(redact).__name__)
    # longest first, so a secret containing another one is masked whole
    return sorted((str(s) for s in redact if s not in (None, '')), key=len, reverse=True)


def _not_checked(value):
    """{reason, message} of a host that was not checked (checklist_host_result's not_checked), or None."""
    if not isinstance(value, dict) or 'not_checked' not in value:
        return None
    why = value['not_checked']
    if isinstance(why, dict):
        return {'reason': str(why.get('reason') or 'not_checked'), 'message': str(why.get('message') or '')}
    return {'reason': 'not_checked', 'message': str(why)}


def _host_checks(name, value):
    why = _not_checked(value)
    if why:  # the host was not checked: a critical "reachable" row in the tables, the reason in host.not_checked
        value = [{'name': 'reachable', 'kind': 'host', 'status': 'critical', 'message': why['message']}]
    if isinstance(value, dict) and 'checks' in value:
        value = value['checks']
    if value is None:
        value = []
    if not isinstance(value, (list, tuple)):
        raise AnsibleFilterError('checklist_report: results of host %s must be a list of checks (or a health_check '
                                 'result), got %s' % (name, type(value).__name__))
    checks = []
    for i, check in enumerate(value):
        if not isinstance(check, dict) or 'name' not in check or 'status' not in check:
            raise AnsibleFilterError('checklist_report: check %d of host %s needs at least name and status' % (i, name))
        row = dict(check)
        row['status'] = check_result.normalize_status(row['status'])
        checks.append(row)
    return check_result.worst_first(checks)


def checklist_report(results, kind, language='zh', title=None, generated_at=None, timeline=None, actions=None,
                     notes=None, extra=None, redact=None):
    """Build the report structure from {host: [checks]} (or {host: health_check result}, or {host: {not_checked:
    why}})."""
    t = _text(language)
    if kind not in ('daily_check', 'periodic_check', 'incident_response'):
        raise AnsibleFilterError('checklist_report: kind must be daily_check, periodic_check or incident_response, '
                                 'got %r' % (kind,))
    if not isinstance(results, dict):
        raise AnsibleFilterError('checklist_report: input must be a dict of host name to checks, got %s'
                                 % type(results).__name__)
    for option, value, kinds, shape in (('timeline', timeline, (list, tuple), 'a list'),
                                        ('actions', actions, (list, tuple), 'a list'),
                                        ('notes', notes, (list, tuple), 'a list'), ('extra', extra, dict, 'a dict')):
        if value is not None and not isinstance(value, kinds):
            raise AnsibleFilterError('checklist_report: %s must be %s, got %s %r'
                                     % (option, shape, type(value).__name__, value))
    for i, item in enumerate(timeline or []):
        if not isinstance(item, (dict, str)):
            raise AnsibleFilterError('checklist_report: timeline[%d] must be a dict (time, host, event) or a text, '
                                     'got %r' % (i, item))
    hosts = []
    for name in sorted(results, key=str):
        checks = _host_checks(name, results[name])
        counts = dict((s, 0) for s in STATUSES)
        for check in checks:
            counts[check['status']] += 1
        hosts.append({'name': str(name), 'status': worst(c['status'] for c in checks), 'counts': counts,
                      'checks': checks, 'not_checked': _not_checked(results[name])})
    counts = dict((s, sum(1 for h in hosts if h['status'] == s)) for s in STATUSES)
    if generated_at is None:
        generated_at = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    report = {
        'kind': kind,
        'title': title or t[kind],
        'language': language,
        'generated_at': str(generated_at),
        'status': worst(h['status'] for h in hosts),
        'host_counts': counts,
        'problems': [{'host': h['name'], 'check': c['name'], 'status': c['status'], 'message': c.get('message', '')}
                     for h in hosts for c in h['checks'] if c['status'] != 'ok'],
        'hosts': hosts,
        'not_checked': [h['name'] for h in hosts if h['not_checked']],
        'timeline': list(timeline or []),
        'actions': list(actions or []),
        'notes': list(notes or []),
        'extra': dict(extra or {}),
    }
    # once, here: the renderers and notifications take this structure as it is
    return _redact(report, _secrets(redact), urls=True)


def _check_report(report, name):
    if not isinstance(report, dict) or 'hosts' not in report or 'kind' not in report:
        raise AnsibleFilterError('%s: input must be the result of redfire.ops.checklist_report' % name)
    missing = [k for k in ('title', 'status') if k not in report]
    if missing:
        raise AnsibleFilterError('%s: the report has no %s: give the result of redfire.ops.checklist_report'
                                 % (name, ', '.join(missing)))
    if not isinstance(report['hosts'], list):
        raise AnsibleFilterError('%s: hosts must be a list, got %r' % (name, report['hosts']))
    for i, host in enumerate(report['hosts']):
        if not isinstance(host, dict) or not isinstance(host.get('checks'), list) or \
                not isinstance(host.get('counts'), dict) or 'name' not in host or 'status' not in host:
            raise AnsibleFilterError('%s: hosts[%d] must have name, status, counts and checks, as '
                                     'redfire.ops.checklist_report builds them' % (name, i))
        for j, check in enumerate(host['checks']):
            if not isinstance(check, dict) or 'name' not in check or 'status' not in check:
                raise AnsibleFilterError('%s: hosts[%d].checks[%d] needs at least name and status' % (name, i, j))
    for i, problem in enumerate(report.get('problems') or []):
        if not isinstance(problem, dict) or any(k not in problem for k in ('host', 'check', 'status')):
            raise AnsibleFilterError('%s: problems[%d] needs host, check and status' % (name, i))


def report_json(report, redact=None, indent=2):
    """The report as JSON text (sorted keys, UTF-8 characters kept), secrets masked."""
    _check_report(report, 'report_json')
    return json.dumps(_redact(report, _secrets(redact)), indent=indent, sort_keys=True, ensure_ascii=False,
                      default=str)


def _esc(value):
    if value is None:
        return '-'
    if isinstance(value, float):
        value = ('%.2f' % value).rstrip('0').rstrip('.')
    return html.escape(str(value), quote=True)


def _badge(status, t):
    color = COLORS.get(status, COLORS['unknown'])
    return ('<span style="display:inline-block;padding:2px 8px;border-radius:3px;background:%s;color:#ffffff;'
            'font-weight:bold;font-size:12px">%s</span>' % (color, _esc(_status_label(status, t))))


_TD = 'style="border:1px solid #dddddd;padding:4px 8px;text-align:left;vertical-align:top"'
_TH = 'style="border:1px solid #dddddd;padding:4px 8px;text-align:left;background:#f2f2f2"'
_TABLE = 'style="border-collapse:collapse;width:100%;font-size:13px;margin:8px 0 16px 0"'
_H2 = '<h2 style="font-size:16px;margin:16px 0 4px 0">%s</h2>'


def _value(check):
    value = check.get('value')
    if value is None:
        return '-'
    return _esc(value) + _esc(check.get('unit') or '')


def _table(headers, rows):
    out = ['<table %s cellpadding="0" cellspacing="0"><tr>' % _TABLE]
    out.extend('<th %s>%s</th>' % (_TH, _esc(h)) for h in headers)
    out.append('</tr>')
    for row in rows:
        out.append('<tr>' + ''.join('<td %s>%s</td>' % (_TD, cell) for cell in row) + '</tr>')
    out.append('</table>')
    return ''.join(out)


def report_html(report, redact=None):
    """A self-contained HTML page of the report: inline styles only, no scripts, no external resources."""
    _check_report(report, 'report_html')
    report = _redact(report, _secrets(redact))
    t = _text(report.get('language', 'zh'))
    lang = 'zh-CN' if report.get('language', 'zh') == 'zh' else 'en'
    parts = ['<!DOCTYPE html><html lang="%s"><head><meta charset="utf-8"><title>%s</title></head>'
             % (lang, _esc(report['title'])),
             '<body style="margin:0;padding:16px;font-family:Arial,\'Microsoft YaHei\',sans-serif;color:#222222">',
             '<h1 style="font-size:20px;margin:0 0 8px 0">%s</h1>' % _esc(report['title']),
             '<p style="margin:0 0 4px 0">%s: %s</p>' % (_esc(t['generated']), _esc(report.get('generated_at'))),
             '<p style="margin:0 0 12px 0">%s: %s</p>' % (_esc(t['overall']), _badge(report['status'], t))]
    summary = [[_esc(h['name']), _badge(h['status'], t),
                _esc(' / '.join('%s %d' % (_status_label(s, t), h['counts'][s]) for s in STATUSES))]
               for h in report['hosts']]
    parts.append(_H2 % _esc(t['summary']))
    parts.append(_table([t['host'], t['status'], t['summary']], summary))
    parts.append(_H2 % _esc(t['problems']))
    if report.get('problems'):
        parts.append(_table([t['host'], t['check'], t['status'], t['message']],
                            [[_esc(p['host']), _esc(p['check']), _badge(p['status'], t), _esc(p.get('message'))]
                             for p in report['problems']]))
    else:
        parts.append('<p>%s</p>' % _esc(t['no_problems']))
    for key in ('timeline', 'actions', 'notes'):
        items = report.get(key) or []
        if not items:
            continue
        parts.append(_H2 % _esc(t[key]))
        if key == 'timeline':
            parts.append(_table([t['time'], t['host'], t['event']],
                                [[_esc(i.get('time') if isinstance(i, dict) else ''),
                                  _esc(i.get('host', '') if isinstance(i, dict) else ''),
                                  _esc(i.get('event') if isinstance(i, dict) else i)] for i in items]))
        else:
            parts.append('<ul>' + ''.join('<li>%s</li>' % _esc(i) for i in items) + '</ul>')
    incident = (report.get('extra') or {}).get('incident')
    if isinstance(incident, dict):
        parts.extend(_incident_sections(incident, t))
    for host in report['hosts']:
        parts.append(_H2 % ('%s %s %s' % (_esc(t['host']), _esc(host['name']), _badge(host['status'], t))))
        parts.append(_table([t['check'], t['status'], t['value'], t['warning'], t['critical'], t['message']],
                            [[_esc(c['name']), _badge(c['status'], t), _value(c), _esc(c.get('warning')),
                              _esc(c.get('critical')), _esc(c.get('message'))] for c in host['checks']]))
    parts.append('</body></html>\n')
    return '\n'.join(parts)


def _incident_sections(incident, t):
    """The post-incident analysis of an alert-driven incident's record (extra.incident): durations, impact, level,
    and the root-cause and lessons sections the engineer fills in."""
    impact = incident.get('impact') if isinstance(incident.get('impact'), dict) else {}
    rows = [[_esc(t['time_to_detect']), _esc(incident.get('time_to_detect_seconds'))],
            [_esc(t['time_to_recover']), _esc(incident.get('time_to_recover_seconds'))],
            [_esc(t['escalation']), _esc(incident.get('level'))],
            [_esc(t['impact']), _esc(', '.join(str(v) for v in list(impact.get('hosts') or []) + list(impact.get('endpoints') or [])))],
            [_esc(t['orders_failed']), _esc(impact.get('orders_failed'))],
            [_esc(t['orders_missing']), _esc(impact.get('orders_missing'))]]
    parts = [_H2 % _esc(t['post_incident']), _table([t['item'], t['value']], rows)]
    for key in ('root_cause', 'lessons'):
        parts.append(_H2 % _esc(t[key]))
        parts.append('<p>%s</p>' % _esc(incident.get(key) or t['to_fill']))
    return parts


def report_text(report, redact=None):
    """Plain-text summary of the report (one line per problem), for chat webhooks and mail subjects."""
    _check_report(report, 'report_text')
    report = _redact(report, _secrets(redact))
    t = _text(report.get('language', 'zh'))
    lines = ['%s: %s (%s %s)' % (report['title'], _status_label(report['status'], t), t['generated'],
                                 report.get('generated_at'))]
    for p in report.get('problems', []):
        lines.append('- %s %s %s: %s' % (p['host'], p['check'], _status_label(p['status'], t), p.get('message', '')))
    if not report.get('problems'):
        lines.append(t['no_problems'])
    return '\n'.join(lines)


def report_index_html(index, language='zh', title=None):
    """The report store's index page: every stored run, newest first, with its status and links to its HTML and
    JSON reports (relative links: the page sits beside them). Input: the runs of redfire.ops.report_store_index."""
    t = _text(language)
    runs = index.get('runs') if isinstance(index, dict) else index
    if not isinstance(runs, list):
        raise AnsibleFilterError('report_index_html: input must be the index of redfire.ops.report_store_index '
                                 '(runs: [...]), got %s' % type(index).__name__)
    rows = []
    for i, run in enumerate(runs):
        if not isinstance(run, dict) or any(k not in run for k in ('name', 'kind', 'generated_at', 'status')):
            raise AnsibleFilterError('report_index_html: runs[%d] needs name, kind, generated_at and status' % i)
        counts = run.get('host_counts') or {}
        name = _esc(run['name'])
        rows.append([_esc(run['generated_at']), _esc(t.get(run['kind'], run['kind'])), _badge(run['status'], t),
                     _esc(' / '.join('%s %d' % (_status_label(s, t), int(counts.get(s, 0))) for s in STATUSES)),
                     '<a href="%s.html">HTML</a> <a href="%s.json">JSON</a>' % (name, name)])
    title = title or t['store']
    lang = 'zh-CN' if language == 'zh' else 'en'
    parts = ['<!DOCTYPE html><html lang="%s"><head><meta charset="utf-8"><title>%s</title></head>' % (lang, _esc(title)),
             '<body style="margin:0;padding:16px;font-family:Arial,\'Microsoft YaHei\',sans-serif;color:#222222">',
             '<h1 style="font-size:20px;margin:0 0 8px 0">%s</h1>' % _esc(title)]
    if rows:
        parts.append(_table([t['generated'], t['run'], t['status'], t['hosts'], t['report']], rows))
    else:
        parts.append('<p>%s</p>' % _esc(t['no_runs']))
    parts.append('</body></html>\n')
    return '\n'.join(parts)


class FilterModule(object):
    def filters(self):
        return dict((name, guarded(name, func, AnsibleFilterError)) for name, func in (
            ('checklist_report', checklist_report), ('report_json', report_json), ('report_html', report_html),
            ('report_text', report_text), ('report_index_html', report_index_html)))
