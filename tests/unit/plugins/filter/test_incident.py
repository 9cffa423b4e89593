"""Decisions of the alert-driven incident response (issue 18): alerts of an Alertmanager webhook, silences, the
circuit breaker, the recovery plan and escalation, the record's timeline and durations, the impact and the user
notice that never shows a host name, address or trace."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.redfire.ops.plugins.filter.incident import FilterModule
from ansible_collections.redfire.ops.plugins.module_utils import incident as core
from ansible_collections.redfire.ops.plugins.module_utils import incident_record as records

F = FilterModule().filters()
HOSTS = {'redfire-lab-app': '10.250.13.10', 'redfire-lab-data': '10.250.13.11', 'localhost': ''}


def payload(status='firing', starts='2026-12-02T04:00:00.5Z', ends='0001-01-01T00:00:00Z', **labels):
    base = {'alertname': 'TargetDown', 'job': 'redfire-backend', 'instance': '10.250.13.10:8000',
            'severity': 'critical', 'level': '1', 'runbook': 'service_down'}
    base.update(labels)
    return {'version': '4', 'status': status, 'receiver': 'redfire-rulebook', 'groupLabels': {}, 'commonLabels': base,
            'alerts': [{'status': status, 'labels': base,
                        'annotations': {'summary': '监控目标不可达', 'description': '目标 10.250.13.10:8000 已30s无法抓取'},
                        'startsAt': starts, 'endsAt': ends, 'fingerprint': 'a1b2c3d4e5f60718'}]}


def alert(**labels):
    return F['incident_alerts'](payload(**labels), HOSTS)[0]


def test_alert_names_its_inventory_host_unit_and_port():
    a = alert()
    expected = ('redfire-lab-app', 'redfire-backend', 8000, 'service_down', 'firing')
    assert (a['host'], a['unit'], a['port'], a['runbook'], a['status']) == expected
    assert a['starts_at'] == '2026-12-02T04:00:00Z' and a['ends_at'] == ''
    assert a['incident_id'] == 'a1b2c3d4e5f60718-20261202T040000Z'
    assert a['level'] == 1


def test_alert_outside_the_inventory_and_unknown_runbook():
    a = alert(instance='10.9.9.9:8000', runbook='reboot_everything')
    assert a['host'] is None and a['runbook'] == ''
    assert alert(level='emergency')['level'] == 4
    # HostSystemdUnitFailed (node_exporter's systemd collector): the unit as the allow-list names it, and no port
    # (the instance's is node_exporter's)
    systemd = alert(alertname='HostSystemdUnitFailed', name='redfire-frontend.service', job='node',
                    instance='10.250.13.10:9100')
    assert (systemd['host'], systemd['unit'], systemd['port']) == ('redfire-lab-app', 'redfire-frontend', None)
    assert alert(name='redfire-md.socket', job='node')['unit'] == 'redfire-md.socket'
    assert alert(unit='redfire-backend', name='x.service', instance='10.250.13.10:8000')['port'] == 8000


@pytest.mark.parametrize('bad, text', [
    ({'alerts': 'x'}, 'no list "alerts"'),
    ({'foo': 1}, 'not an Alertmanager webhook notification'),
    ([], 'must be an Alertmanager webhook notification'),
    ({'alerts': [{'status': 'firing', 'labels': {}, 'startsAt': 'yesterday', 'fingerprint': 'ab'}]}, 'RFC 3339'),
    ({'alerts': [{'status': 'weird', 'labels': {}, 'startsAt': '2026-12-02T04:00:00Z', 'fingerprint': 'ab'}]},
     'firing or resolved'),
    ({'alerts': [{'status': 'firing', 'labels': {}, 'startsAt': '2026-12-02T04:00:00Z', 'fingerprint': '../x'}]},
     'fingerprint'),
])
def test_malformed_payload_names_what_is_wrong(bad, text):
    with pytest.raises(AnsibleFilterError) as err:
        F['incident_alerts'](bad, HOSTS)
    assert str(err.value).startswith('incident_alerts: ') and text in str(err.value)


SILENCE = {'id': 's1', 'status': {'state': 'active'},
           'matchers': [{'name': 'alertname', 'value': 'TargetDown', 'isRegex': False, 'isEqual': True},
                        {'name': 'instance', 'value': '10\\.250\\.13\\.10:.*', 'isRegex': True, 'isEqual': True}]}


def test_silence_matching():
    labels = alert()['labels']
    assert F['incident_silenced'](labels, [SILENCE]) == ['s1']
    assert F['incident_silenced'](labels, [dict(SILENCE, status={'state': 'expired'})]) == []
    other = dict(SILENCE, matchers=SILENCE['matchers'] + [{'name': 'job', 'value': 'redfire-backend', 'isEqual': False}])
    assert F['incident_silenced'](labels, [other]) == []
    # a regex matches the whole value, as in Alertmanager
    partial = dict(SILENCE, matchers=[{'name': 'instance', 'value': '10\\.250', 'isRegex': True}])
    assert F['incident_silenced'](labels, [partial]) == []


def test_plan_restarts_a_down_allowed_unit_and_counts_it():
    plan = F['incident_plan'](alert(), ['redfire-backend'], ['redfire-backend'], True, [], {}, 3, 1000.0)
    assert plan['action'] == 'restart' and plan['escalate'] is False and plan['level'] == 1
    assert plan['breaker'] == {'actions': [{'host': 'redfire-lab-app', 'unit': 'redfire-backend', 'time': 1000.0}]}

    # the unit's own failed state (HostSystemdUnitFailed, usually the first alert of a crash) is the same unit
    systemd = alert(alertname='HostSystemdUnitFailed', name='redfire-backend.service', job='node', instance='10.250.13.10:9100')
    plan = F['incident_plan'](systemd, ['redfire-backend'], ['redfire-backend'], True, [], {}, 3, 1000.0)
    assert plan['action'] == 'restart' and plan['unit'] == 'redfire-backend'


def test_breaker_opens_after_n_actions_within_the_hour_and_escalates():
    state = {}
    for i in range(3):
        plan = F['incident_plan'](alert(), ['redfire-backend'], ['redfire-backend'], True, [], state, 3, 1000.0 + i)
        assert plan['action'] == 'restart'
        state = plan['breaker']
    plan = F['incident_plan'](alert(), ['redfire-backend'], ['redfire-backend'], True, [], state, 3, 1010.0)
    assert plan['action'] == 'none' and plan['escalate'] is True and plan['level'] == 2
    assert 'circuit breaker open' in plan['reason']
    # another unit or host is not held back; an hour later the breaker closes again
    assert F['incident_plan'](alert(job='redfire-frontend'), ['redfire-frontend'], ['redfire-frontend'], True, [],
                              state, 3, 1010.0)['action'] == 'restart'
    assert F['incident_plan'](alert(), ['redfire-backend'], ['redfire-backend'], True, [], state, 3,
                              1000.0 + 3600.5)['action'] == 'restart'


@pytest.mark.parametrize('kwargs, reason', [
    ({'enabled': False}, 'automatic recovery is off'),
    ({'silences': ['s1']}, 'silenced'),
    ({'down_units': []}, 'not down'),
    ({'allowed_units': ['redfire-frontend']}, 'not on the allow-list'),
])
def test_plan_holds_back(kwargs, reason):
    args = dict(down_units=['redfire-backend'], allowed_units=['redfire-backend'], enabled=True, silences=[],
                breaker_state={}, limit=3, now=1000.0)
    args.update(kwargs)
    plan = F['incident_plan'](alert(), **args)
    assert plan['action'] == 'none' and reason in plan['reason'] and plan['breaker'] == {'actions': []}


def test_plan_never_acts_for_the_database_or_diagnosis_only_runbooks():
    for labels in ({'runbook': 'database_connection', 'job': 'postgresql'}, {'runbook': 'api_slow'},
                   {'runbook': 'out_of_memory'}):
        plan = F['incident_plan'](alert(**labels), ['redfire-backend', 'postgresql'], ['redfire-backend', 'postgresql'],
                                  True, [], {}, 3, 1000.0)
        assert plan['action'] == 'none' and 'diagnoses only' in plan['reason']


def test_escalation_stops_at_emergency():
    assert [core.escalate(x) for x in ('1', '2', '3', 'emergency')] == [2, 3, 4, 4]


def test_record_timeline_and_durations():
    a = alert()
    record = F['incident_record'](a, received_at='2026-12-02T04:00:40Z')
    assert record['time_to_detect_seconds'] == 40 and record['status'] == 'open'
    record = F['incident_record'](record, diagnosed_at='2026-12-02T04:00:45Z', actions=[
        {'time': '2026-12-02T04:00:46Z', 'host': 'redfire-lab-app', 'unit': 'redfire-backend', 'action': 'restart',
         'result': 'ok'}], service_back_at='2026-12-02T04:00:47Z')
    assert record['time_to_recover_seconds'] == 47
    record = F['incident_record'](record, resolved_at='2026-12-02T04:01:20Z')
    assert record['status'] == 'resolved' and record['time_to_recover_seconds'] == 47
    events = [e['event'] for e in record['timeline']]
    assert events == ['alert TargetDown started (startsAt)', 'alert received by the rulebook', 'diagnosis done',
                      'restart redfire-backend: ok', 'service redfire-backend running again', 'alert resolved']
    assert record['root_cause'] == '' and record['lessons'] == ''


def test_record_without_service_back_recovers_at_resolution_and_escalation_is_an_event():
    record = F['incident_record'](alert(), received_at='2026-12-02T04:00:40Z', level=2)
    assert record['level'] == 2 and record['timeline'][-1]['event'] == 'escalated to level 2'
    record = F['incident_record'](record, resolved_at='2026-12-02T04:02:00Z')
    assert record['time_to_recover_seconds'] == 120
    with pytest.raises(AnsibleFilterError):
        F['incident_record'](record, level=5)


def test_impact_from_prometheus_results():
    failed = [{'metric': {'status': 'failed'}, 'value': [1, '3.2']}, {'metric': {'status': 'cancelled'}, 'value': [1, '1']}]
    during = [{'metric': {}, 'value': [1, '10']}]
    rate = [{'metric': {}, 'value': [1, '0.5']}]
    assert F['incident_impact'](failed, during, rate, 60) == {'orders_failed': 4, 'orders_missing': 20}
    assert F['incident_impact']([], [], [], 60) == {'orders_failed': None, 'orders_missing': None}
    with pytest.raises(AnsibleFilterError):
        F['incident_impact']([{'value': 'x'}], [], [], 60)


@pytest.mark.parametrize('language', ['zh', 'en'])
def test_user_notice_holds_no_host_name_address_or_trace(language):
    record = F['incident_record'](alert(), received_at='2026-12-02T04:00:40Z', level=3)
    notice = F['incident_notice'](record, language=language, services={'redfire-backend': 'Trading API 10.250.13.10'},
                                  forbidden=list(HOSTS) + list(HOSTS.values()), now='2026-12-02T04:01:00Z')
    assert notice['send'] is True
    text = notice['title'] + notice['text']
    for word in ('redfire-lab-app', '10.250.13.10', ':8000', 'TargetDown', 'Traceback'):
        assert word not in text
    assert ('2026-12-02 12:00' in text) and ('Trading API' in text)
    assert records.leaks(text, list(HOSTS)) == []


def test_notice_only_at_level_three_or_on_request_and_all_clear_after_a_notice():
    record = F['incident_record'](alert(), received_at='2026-12-02T04:00:40Z')
    assert F['incident_notice'](record) == {'send': False}
    assert F['incident_notice'](record, requested=True)['send'] is True
    assert F['incident_notice'](record, kind='clear') == {'send': False}
    record = F['incident_record'](record, user_notice=True, resolved_at='2026-12-02T04:02:00Z')
    clear = F['incident_notice'](record, kind='clear', language='en')
    assert clear['send'] and 'ended at 2026-12-02 12:02' in clear['text']


def test_scrub_and_leaks():
    text = 'db at 10.1.2.3:5432 and fe80::1 on app01.corp failed\nTraceback (most recent call last):\n  File "x.py"'
    clean = records.scrub(text, ['app01'])
    assert records.leaks(clean, ['app01']) == [] and '10.1.2.3' not in clean and 'File "' not in clean
    assert records.leaks(text, ['app01'])


@pytest.mark.parametrize('name', sorted(F))
@pytest.mark.parametrize('value', [None, 5, 'x', [], [5], {}, {'alerts': [5]}, {'timeline': 5, 'id': 1}])
def test_no_malformed_input_gives_a_raw_exception(name, value):
    try:
        F[name](value, *{'incident_alerts': (HOSTS,), 'incident_silenced': ([],),
                         'incident_plan': ([], []), 'incident_impact': ([], [], 1)}.get(name, ()))
    except AnsibleFilterError as exc:
        assert str(exc).startswith(name + ': ')


def test_a_failed_action_escalates_once():
    record = F['incident_record'](alert(), received_at='2026-12-02T04:00:40Z')
    record = F['incident_record'](record, actions=[{'time': '2026-12-02T04:00:46Z', 'host': 'redfire-lab-app',
                                                    'unit': 'redfire-backend', 'action': 'restart', 'result': 'failed'}])
    assert record['level'] == 2 and record['actions'][0]['text'].endswith('restart redfire-backend: failed')
    assert F['incident_record'](record, escalate=True)['level'] == 3


def test_post_incident_report_has_the_durations_impact_and_empty_sections():
    from ansible_collections.redfire.ops.plugins.filter.report import checklist_report, report_html
    record = F['incident_record'](alert(), received_at='2026-12-02T04:00:40Z', resolved_at='2026-12-02T04:02:00Z',
                                  impact={'orders_failed': 4, 'orders_missing': 20})
    html = report_html(checklist_report({'redfire-lab-app': []}, 'incident_response', extra={'incident': record}))
    assert '事后分析' in html and '（待工程师填写）' in html and '>120<' in html and '>40<' in html and '>20<' in html
    html_en = report_html(checklist_report({}, 'incident_response', language='en', extra={'incident': record}))
    assert 'Root cause' in html_en and 'Lessons learned' in html_en


def test_firing_record_decides_the_restart_result_from_the_checks():
    a = alert()
    plans = [{'unit': 'redfire-frontend', 'action': 'none', 'reason': 'other'},
             {'unit': 'redfire-backend', 'action': 'restart', 'reason': 'unit redfire-backend is down: restart',
              'escalate': False}]
    events = [{'time': '2026-12-02T04:00:20Z', 'host': 'redfire-lab-app', 'event': 'diagnosis done'}]
    checks = [{'name': 'service:redfire-backend', 'status': 'critical'}, {'name': 'service:redfire-backend', 'status': 'ok'}]
    rec = F['incident_firing_record'](a, '2026-12-02T04:00:10Z', plans=plans, checks=checks, events=events,
                                      done_at='2026-12-02T04:00:30Z', silences=[])
    assert [(x['action'], x['result'], x['unit']) for x in rec['actions']] == [('restart', 'ok', 'redfire-backend')]
    assert rec['service_back_at'] == '2026-12-02T04:00:30Z' and rec['diagnosed_at'] == '2026-12-02T04:00:30Z'
    assert rec['notifications'] == ['plan: unit redfire-backend is down: restart'] and rec['level'] == 1
    assert 'diagnosis done' in [e['event'] for e in rec['timeline']]
    # still down after the restart: failed, no service back, one level up
    failed = F['incident_firing_record'](a, '2026-12-02T04:00:10Z', plans=plans, checks=checks[:1],
                                         done_at='2026-12-02T04:00:30Z')
    assert [x['result'] for x in failed['actions']] == ['failed'] and failed['service_back_at'] == ''
    assert failed['level'] == 2
    # an alert of no inventory host: nothing diagnosed, nothing done
    outside = F['incident_firing_record'](alert(instance='10.9.9.9:8000'), '2026-12-02T04:00:10Z')
    assert outside['actions'] == [] and outside['diagnosed_at'] == ''
    assert outside['notifications'] == ['plan: no host of the inventory: nothing diagnosed']
    matcher = {'name': 'alertname', 'value': 'TargetDown', 'isRegex': False, 'isEqual': True}
    silence = {'id': 's1', 'status': {'state': 'active'}, 'matchers': [matcher]}
    assert F['incident_firing_record'](a, '2026-12-02T04:00:10Z', silences=[silence])['silences'] == ['s1']
    with pytest.raises(AnsibleFilterError) as err:
        F['incident_firing_record']({'unit': 'x'}, '2026-12-02T04:00:10Z')
    assert 'incident_firing_record' in str(err.value)


def test_resolved_results_are_one_ok_row_of_the_host():
    rec = F['incident_record'](alert(), '2026-12-02T04:00:10Z')
    rows = F['incident_resolved_results'](rec)
    assert list(rows) == ['redfire-lab-app']
    row = rows['redfire-lab-app'][0]
    assert (row['name'], row['kind'], row['status'], row['reason'], row['message']) == \
        ('incident', 'incident', 'ok', 'resolved', 'TargetDown resolved')
    outside = F['incident_record'](alert(instance='10.9.9.9:8000'), '2026-12-02T04:00:10Z')
    assert list(F['incident_resolved_results'](outside)) == ['controller']
