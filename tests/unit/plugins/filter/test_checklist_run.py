"""The scheduled run's outputs: the set_stats summary, the Pushgateway metrics (checked by promtool and
prometheus_client's parser), the last-success carried from the Pushgateway, the report store's index and retention,
and the index page through the report renderer."""
import shutil
import subprocess

import pytest
from ansible.errors import AnsibleFilterError
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.redfire.ops.plugins.filter.checklist_run import FilterModule as RunFilters
from ansible_collections.redfire.ops.plugins.filter.report import FilterModule as ReportFilters

F = dict(RunFilters().filters(), **ReportFilters().filters())
T0 = '2026-12-02T09:00:00+00:00'
OK = {'name': 'memory', 'kind': 'memory', 'status': 'ok'}
BAD = {'name': 'service:redfire-app', 'kind': 'service', 'status': 'critical', 'message': 'inactive'}


def report(results=None, at=T0, kind='daily_check'):
    return F['checklist_report'](results or {'h1': [OK], 'h2': [OK, BAD]}, kind, generated_at=at)


def files(stamp='20261202T090000Z', kind='daily_check'):
    return {'json': '/tmp/r/%s-%s.json' % (kind, stamp), 'html': '/tmp/r/%s-%s.html' % (kind, stamp)}


def test_summary_holds_status_hosts_counts_and_where_the_report_is():
    s = F['checklist_run_summary'](report(), files(), url='http://store:8090/daily_check-20261202T090000Z.html',
                                   started=['2026-12-02T08:59:30+00:00', None, '2026-12-02T08:59:50Z'])
    assert s['status'] == 'critical' and s['succeeded'] is True and s['kind'] == 'daily_check'
    assert s['hosts'] == {'h1': 'ok', 'h2': 'critical'}
    assert s['host_counts'] == {'ok': 1, 'warning': 0, 'unknown': 0, 'critical': 1}
    assert s['check_counts'] == {'ok': 2, 'warning': 0, 'unknown': 0, 'critical': 1}
    assert s['problems'] == 1 and s['not_checked'] == [] and s['duration_seconds'] == 30.0
    assert s['report'] == {'json': files()['json'], 'html': files()['html'],
                           'url': 'http://store:8090/daily_check-20261202T090000Z.html'}


def test_a_host_not_checked_makes_the_run_unsuccessful():
    r = report({'h1': [OK], 'h2': {'not_checked': {'reason': 'unreachable', 'message': 'unreachable: x'}}})
    s = F['checklist_run_summary'](r)
    assert s['succeeded'] is False and s['not_checked'] == ['h2'] and s['duration_seconds'] is None


def families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_metrics_parse_and_carry_each_status():
    text = F['checklist_metrics'](report(), started='2026-12-02T08:58:00+00:00')
    fam = families(text)
    assert fam['redfire_checklist_status'].samples[0].value == 2
    assert fam['redfire_checklist_succeeded'].samples[0].value == 1
    assert fam['redfire_checklist_last_success_timestamp_seconds'].samples[0].value == 1796202000.0
    assert fam['redfire_checklist_last_run_timestamp_seconds'].samples[0].value == 1796202000.0
    assert fam['redfire_checklist_run_duration_seconds'].samples[0].value == 120
    hosts = {s.labels['host']: s.value for s in fam['redfire_checklist_host_status'].samples}
    assert hosts == {'h1': 0, 'h2': 2}
    checks = {(s.labels['host'], s.labels['check']): s.value for s in fam['redfire_checklist_check_status'].samples}
    assert checks == {('h1', 'memory'): 0, ('h2', 'memory'): 0, ('h2', 'service:redfire-app'): 2}
    assert {s.labels['status']: s.value for s in fam['redfire_checklist_hosts'].samples} == \
        {'ok': 1, 'warning': 0, 'critical': 1, 'unknown': 0}
    promtool = shutil.which('promtool')
    assert promtool, 'promtool not found: install the Debian package prometheus (./scripts/setup test)'
    proc = subprocess.run([promtool, 'check', 'metrics'], input=text, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_unsuccessful_run_keeps_the_last_success_the_pushgateway_held():
    r = report({'h1': {'not_checked': {'reason': 'unreachable', 'message': 'x'}}})
    groups = {'status': 'success', 'data': [
        {'labels': {'job': 'redfire_checklist', 'checklist': 'periodic_check'},
         'redfire_checklist_last_success_timestamp_seconds': {'metrics': [{'labels': {}, 'value': '5'}]}},
        {'labels': {'job': 'redfire_checklist', 'checklist': 'daily_check'},
         'redfire_checklist_last_success_timestamp_seconds': {'metrics': [{'labels': {}, 'value': '1.7e+09'}]}}]}
    previous = F['pushgateway_last_success'](groups, 'redfire_checklist', 'daily_check')
    assert previous == 1.7e9
    assert F['pushgateway_last_success']({'data': []}) is None
    fam = families(F['checklist_metrics'](r, previous_success=previous))
    assert fam['redfire_checklist_last_success_timestamp_seconds'].samples[0].value == 1.7e9
    assert fam['redfire_checklist_succeeded'].samples[0].value == 0
    never = families(F['checklist_metrics'](r))
    assert never['redfire_checklist_last_success_timestamp_seconds'].samples[0].value == 0


def test_metrics_escape_label_values_and_take_extra_labels():
    r = report({'web "1"\\': [dict(OK, name='disk:/a"b')]})
    fam = families(F['checklist_metrics'](r, labels={'site': 'sh'}))
    sample = fam['redfire_checklist_check_status'].samples[0]
    assert sample.labels == {'host': 'web "1"\\', 'check': 'disk:/a"b', 'site': 'sh'}
    with pytest.raises(AnsibleFilterError, match='labels must be'):
        F['checklist_metrics'](r, labels={'job': 'x'})


def test_store_index_is_newest_first_and_retention_drops_by_age_and_count():
    index = None
    for day in range(1, 6):
        stamp = '202611%02dT090000Z' % day
        at = '2026-11-%02dT09:00:00+00:00' % day
        index = F['report_store_index'](index, report(at=at), files(stamp), max_age_days=0, max_count=0)
        assert index['remove'] == []
    weekly = F['report_store_index'](index, report(at='2026-11-06T09:00:00+00:00', kind='periodic_check'),
                                     files('20261106T090000Z', 'periodic_check'), max_age_days=0, max_count=0)
    assert [r['name'] for r in weekly['runs']][:2] == ['periodic_check-20261106T090000Z', 'daily_check-20261105T090000Z']
    # count per kind: the weekly run stays beside the three newest daily runs
    plan = F['report_store_index'](weekly, report(at='2026-11-07T09:00:00+00:00'), files('20261107T090000Z'),
                                   max_age_days=0, max_count=3)
    assert plan['remove'] == ['daily_check-20261103T090000Z', 'daily_check-20261102T090000Z',
                              'daily_check-20261101T090000Z']
    assert [r['name'] for r in plan['runs']] == ['daily_check-20261107T090000Z', 'periodic_check-20261106T090000Z',
                                                 'daily_check-20261105T090000Z', 'daily_check-20261104T090000Z']
    # age: older than 3 days at the newest run's time
    plan = F['report_store_index'](weekly, report(at='2026-11-07T09:00:00+00:00'), files('20261107T090000Z'),
                                   max_age_days=3, max_count=0)
    assert plan['remove'] == ['daily_check-20261103T090000Z', 'daily_check-20261102T090000Z',
                              'daily_check-20261101T090000Z']
    assert plan['runs'][0]['status'] == 'critical' and plan['runs'][0]['host_counts']['critical'] == 1
    # the same run stored twice is one entry
    again = F['report_store_index'](plan, report(at='2026-11-07T09:00:00+00:00'), files('20261107T090000Z'))
    assert [r['name'] for r in again['runs']] == [r['name'] for r in plan['runs']]


def test_index_page_through_the_report_renderer():
    plan = F['report_store_index']({'runs': []}, report(), files())
    page = F['report_index_html'](plan)
    assert '检查报告存档' in page and 'href="daily_check-20261202T090000Z.html"' in page and '严重' in page
    assert '<script' not in page
    english = F['report_index_html'](plan, 'en')
    assert 'Checklist reports' in english and 'CRITICAL' in english
    assert '暂无报告' in F['report_index_html']({'runs': []})


@pytest.mark.parametrize('name, args, kwargs, text', [
    ('checklist_run_summary', ({'kind': 'x'},), {}, 'must be the report'),
    ('checklist_run_summary', (report(),), {'files': 'x'}, 'files must be a dict'),
    ('checklist_run_summary', (report(),), {'started': 'yesterday'}, 'started must be an ISO 8601 time'),
    ('checklist_metrics', (report(),), {'previous_success': 'x'}, 'previous_success must be a number'),
    ('pushgateway_last_success', ('x',), {}, 'input must be the JSON'),
    ('report_store_index', (None, report(), {'json': '/x/other.json'}), {}, 'is not named'),
    ('report_store_index', ({'runs': [{'name': 'x'}]}, report(), files()), {}, 'runs[0] of the index'),
    ('report_store_index', (None, report(), files()), {'max_count': -1}, 'max_count a whole number'),
    ('report_store_index', (None, report(), files()), {'max_age_days': 'old'}, 'max_age_days must be a number'),
    ('report_index_html', (5,), {}, 'input must be the index'),
    ('report_index_html', ({'runs': [{}]},), {}, 'runs[0] needs'),
])
def test_bad_input_names_the_filter_and_the_option(name, args, kwargs, text):
    with pytest.raises(AnsibleFilterError) as err:
        F[name](*args, **kwargs)
    assert str(err.value).startswith(name + ': ') and text in str(err.value), str(err.value)
