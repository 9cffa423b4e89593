"""Report filters: checklist_report builds one structure, report_json/report_html/report_text render it."""
import json
from html.parser import HTMLParser

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.redfire.ops.plugins.filter.report import FilterModule

F = FilterModule().filters()

HEALTHY = [
    {'name': 'cpu', 'kind': 'cpu', 'status': 'ok', 'value': 12.5, 'unit': '%', 'warning': 80.0, 'critical': 95.0,
     'message': 'cpu usage 12.5%'},
    {'name': 'service:cron', 'kind': 'service', 'status': 'ok', 'value': 1, 'message': 'active'},
]
SICK = [
    {'name': 'disk:/', 'kind': 'disk', 'status': 'warning', 'value': 91.0, 'unit': '%', 'warning': 90.0,
     'critical': 95.0, 'message': '/ used 91% > warning 90%'},
    {'name': 'service:cron', 'kind': 'service', 'status': 'critical', 'value': 0,
     'message': 'cron.service inactive <script>alert(1)</script>'},
    {'name': 'cpu', 'kind': 'cpu', 'status': 'ok', 'value': 3.0, 'unit': '%'},
]


def build(**kw):
    return F['checklist_report']({'web-2': SICK, 'web-1': {'status': 'ok', 'checks': HEALTHY}, 'web-3': []},
                                 'daily_check', generated_at='2026-11-25T09:00:00+08:00', **kw)


def test_structure_statuses_and_problems_per_host():
    report = build()
    assert [h['name'] for h in report['hosts']] == ['web-1', 'web-2', 'web-3']
    by = {h['name']: h for h in report['hosts']}
    assert by['web-1']['status'] == 'ok' and by['web-3']['status'] == 'ok'
    assert by['web-2']['status'] == 'critical'
    assert [c['name'] for c in by['web-2']['checks']] == ['service:cron', 'disk:/', 'cpu']  # worst first
    assert by['web-2']['counts'] == {'ok': 1, 'warning': 1, 'unknown': 0, 'critical': 1}
    assert report['status'] == 'critical'
    assert report['host_counts'] == {'ok': 2, 'warning': 0, 'unknown': 0, 'critical': 1}
    assert {(p['host'], p['check']) for p in report['problems']} == {('web-2', 'service:cron'), ('web-2', 'disk:/')}
    assert report['title'] == '日常检查报告' and report['language'] == 'zh'
    assert F['checklist_report']({'a': HEALTHY}, 'periodic_check', language='en')['title'] == 'Periodic check report'


def test_a_host_not_checked_gets_a_critical_reachable_check_and_is_listed():
    report = F['checklist_report']({'web-1': HEALTHY, 'web-9': {'not_checked': 'unreachable: Connection refused'}},
                                   'daily_check', language='en')
    by = {h['name']: h for h in report['hosts']}
    assert by['web-9']['checks'] == [{'name': 'reachable', 'kind': 'host', 'status': 'critical',
                                      'message': 'unreachable: Connection refused'}]
    assert by['web-9']['status'] == 'critical' and report['status'] == 'critical'
    assert report['not_checked'] == ['web-9']
    assert {'host': 'web-9', 'check': 'reachable', 'status': 'critical',
            'message': 'unreachable: Connection refused'} in report['problems']
    assert build()['not_checked'] == []


def test_status_order_unknown_is_worse_than_warning():
    report = F['checklist_report']({'h': [{'name': 'a', 'status': 'warning'}, {'name': 'b', 'status': 'unknown'}],
                                    'g': [{'name': 'c', 'status': 'bogus'}]}, 'daily_check')
    assert report['status'] == 'unknown'
    assert report['hosts'][0]['checks'][0]['status'] == 'unknown'  # bogus status counts as unknown


def test_json_round_trip_and_chinese_kept():
    report = build(timeline=[{'time': '09:00', 'event': '发现 cron 停止'}], actions=['restarted cron'])
    text = F['report_json'](report)
    assert '日常检查报告' in text and '\\u' not in text
    assert json.loads(text) == json.loads(json.dumps(report))


def test_secrets_never_in_any_rendering():
    secret = 's3cr3t-Pa55'
    checks = [{'name': 'postgresql:db', 'status': 'critical', 'message': 'auth failed for password %s' % secret,
               'password': secret, 'api_token': 'tok-123'}]
    report = F['checklist_report']({'db-1': checks}, 'incident_response', redact=[secret, 'tok-123'],
                                   extra={'webhook': {'url': 'https://hooks/x', 'token': 'tok-123'}})
    for rendered in (F['report_json'](report), F['report_html'](report), F['report_text'](report),
                     json.dumps(report, ensure_ascii=False)):
        assert secret not in rendered and 'tok-123' not in rendered
        assert '********' in rendered
    # secrets given only at render time are masked too
    plain = F['checklist_report']({'h': [{'name': 'x', 'status': 'warning', 'message': 'key=abcdef'}]}, 'daily_check')
    assert 'abcdef' not in F['report_html'](plain, redact=['abcdef'])
    assert 'abcdef' not in F['report_json'](plain, redact=['abcdef'])


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text, self.attrs = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data):
        self.text.append(data)


@pytest.mark.parametrize('language,words', [('zh', ['日常检查报告', '总体状态', '严重', '问题', '时间线']),
                                            ('en', ['Daily check report', 'Overall status', 'CRITICAL', 'Problems',
                                                    'Timeline'])])
def test_html_mail_safe_escaped_and_translated(language, words):
    report = build(language=language, timeline=[{'time': '09:00', 'event': 'x < y'}])
    page = F['report_html'](report)
    parsed = _Collector()
    parsed.feed(page)
    assert 'script' not in parsed.tags and 'style' not in parsed.tags and 'link' not in parsed.tags
    assert not any(name.startswith('on') for name, dummy in parsed.attrs)  # no event handlers
    assert not any(name in ('src', 'href') for name, dummy in parsed.attrs)  # no external resources
    text = ''.join(parsed.text)
    assert '<script>alert(1)</script>' in text  # shown as text, escaped in the markup
    assert '<script>' not in page
    for word in words:
        assert word in text
    assert 'web-2' in text and '91%' in text
    assert ('lang="zh-CN"' if language == 'zh' else 'lang="en"') in page


def test_text_summary():
    text = F['report_text'](build(language='en'))
    lines = text.splitlines()
    assert lines[0].startswith('Daily check report: CRITICAL')
    assert len(lines) == 3 and all(line.startswith('- web-2 ') for line in lines[1:])
    assert F['report_text'](F['checklist_report']({'a': HEALTHY}, 'daily_check')).splitlines()[1] == '所有检查项正常'


@pytest.mark.parametrize('call,message', [
    (lambda: F['checklist_report']([], 'daily_check'), 'dict of host name'),
    (lambda: F['checklist_report']({'h': HEALTHY}, 'weekly'), 'kind must be'),
    (lambda: F['checklist_report']({'h': HEALTHY}, 'daily_check', language='fr'), 'redfire_report_language'),
    (lambda: F['checklist_report']({'h': 'down'}, 'daily_check'), 'results of host h'),
    (lambda: F['checklist_report']({'h': [{'status': 'ok'}]}, 'daily_check'), 'check 0 of host h'),
    (lambda: F['checklist_report']({'h': HEALTHY}, 'daily_check', redact=5), 'redact must be'),
    (lambda: F['report_html']({'status': 'ok'}), 'report_html: input must be'),
    (lambda: F['report_json']('x'), 'report_json: input must be'),
])
def test_bad_input_names_the_problem(call, message):
    with pytest.raises(AnsibleFilterError, match=message):
        call()
