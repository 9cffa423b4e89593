"""How each host sets its checklist result and the report gathers them (plugins/filter/checklist.py), and the
incident checklist's decisions: services down from the reason field, impact notes, actions, recipients."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.redfire.ops.plugins.filter.checklist import FilterModule
from ansible_collections.redfire.ops.plugins.filter.report import FilterModule as ReportFilters

F = FilterModule().filters()
R = ReportFilters().filters()
OK = {'name': 'memory', 'kind': 'memory', 'status': 'ok', 'message': 'memory 20%'}
DOWN = {'name': 'service:redfire-app', 'kind': 'service', 'status': 'critical', 'reason': 'inactive',
        'message': 'unit redfire-app inactive (dead)'}
MISSING = {'name': 'service:nosuch', 'kind': 'service', 'status': 'critical', 'reason': 'unit_not_found',
           'message': 'unit nosuch not found'}


@pytest.mark.parametrize('value, step, expected', [
    ([OK], 'health_check', {'checks': [OK]}),
    ({'changed': False, 'checks': [OK], 'status': 'ok'}, 'health_check', {'checks': [OK]}),
    ({'unreachable': True, 'msg': 'Failed to connect: Connection refused'}, 'health_check',
     {'not_checked': {'reason': 'unreachable', 'message': 'unreachable: Failed to connect: Connection refused'}}),
    ({'failed': True, 'msg': 'logs.errors_warning must be a number'}, 'health_check',
     {'not_checked': {'reason': 'failed', 'message': 'health_check failed: logs.errors_warning must be a number'}}),
    ({'failed': True, 'msg': 'Failed to import ... (psutil)', 'missing_libraries': [
        {'check': 'cpu', 'library': 'psutil', 'package': 'python3-psutil'},
        {'check': 'redis', 'library': 'redis', 'package': 'python3-redis'},
        {'check': 'memory', 'library': 'psutil', 'package': 'python3-psutil'}]}, 'health_check',
     {'not_checked': {'reason': 'missing_library', 'message': 'health_check needs psutil, redis on this host: install '
                                                              'python3-psutil python3-redis (redfire.ops.host_prereqs)'}}),
    ({'failed': True, 'msg': 'boom'}, 'Find the backups',
     {'not_checked': {'reason': 'failed', 'message': 'Find the backups failed: boom'}}),
])
def test_each_host_sets_its_result_one_way(value, step, expected):
    assert F['checklist_host_result'](value, step) == expected


def test_long_failure_text_is_cut():
    result = F['checklist_host_result']({'failed': True, 'msg': 'x' * 1000})
    assert len(result['not_checked']['message']) < 330


def test_results_name_the_hosts_not_reached_and_add_monitoring_rows():
    results = F['checklist_results']([[OK], None], ['h1', 'h2'], 'periodic_check',
                                     extra={'monitoring': [OK], 'empty': []})
    assert results == {'h1': {'checks': [OK]}, 'monitoring': {'checks': [OK]},
                       'h2': {'not_checked': {'reason': 'not_reached',
                                              'message': 'not checked: the host was not reached in this run'}}}
    incident = F['checklist_results']([None], ['h3'], 'incident_response')
    assert incident['h3']['not_checked']['message'].startswith('not diagnosed: ')
    with pytest.raises(AnsibleFilterError, match='checklist_results: give the hosts'):
        F['checklist_results']([None], ['a', 'b'])


def test_the_report_keeps_the_reason_as_a_field():
    results = F['checklist_results']([[OK], {'unreachable': True, 'msg': 'refused'}], ['h1', 'h2'])
    report = R['checklist_report'](results, 'daily_check', language='en')
    by = {h['name']: h for h in report['hosts']}
    assert by['h2']['not_checked'] == {'reason': 'unreachable', 'message': 'unreachable: refused'}
    assert by['h1']['not_checked'] is None and report['not_checked'] == ['h2']
    assert by['h2']['checks'][0]['name'] == 'reachable' and by['h2']['status'] == 'critical'


def test_the_report_masks_url_credentials_once_when_built():
    check = dict(OK, message='GET https://ops:s3cr3tpw@api.test/health?token=abcdef failed')
    report = R['checklist_report']({'h': [check]}, 'daily_check')
    text = report['hosts'][0]['checks'][0]['message']
    assert 's3cr3tpw' not in text and 'abcdef' not in text and 'ops:***@api.test' in text


def test_services_down_come_from_the_reason_never_the_text():
    renamed = dict(DOWN, message='unit redfire-app not found (a message text that lies)')
    assert F['incident_down']([OK, DOWN, MISSING]) == ['redfire-app']
    assert F['incident_down']([renamed]) == ['redfire-app']
    assert F['incident_down']([dict(DOWN, status='ok')]) == []


def test_incident_report_inputs():
    results = {'h1': {'checks': [OK]}, 'h2': {'checks': [OK, DOWN]},
               'h3': {'not_checked': {'reason': 'unreachable', 'message': 'unreachable: x'}}}
    incidents = [{'timeline': [{'time': '2026-12-02T04:00:02Z', 'host': 'h2', 'event': 'b'}], 'actions': [],
                  'findings': ['top memory: 1 root']},
                 {'timeline': [{'time': '2026-12-02T04:00:01Z', 'host': 'h1', 'event': 'a'}],
                  'actions': ['h1: restarted x'], 'findings': []}, None]
    inputs = F['checklist_report_inputs'](results, 'incident_response', incidents, level=2, confirm=True)
    assert [e['event'] for e in inputs['timeline']] == ['a', 'b', 'report written']
    assert inputs['actions'] == ['h1: restarted x']
    assert inputs['notes'] == ['impact: 2 of 3 hosts affected: h2, h3', 'escalation level: 2',
                               'confirmed recovery: True', 'top memory: 1 root']
    assert F['checklist_report_inputs'](results, 'periodic_check', window_hours=24)['extra'] == {'window_hours': 24}
    assert F['checklist_report_inputs'](results, 'daily_check')['notes'] == []


def test_incident_actions_and_failures():
    restarted = [{'item': 'a', 'changed': True}, {'item': 'b', 'changed': False}]
    assert F['incident_actions']('h', restarted=restarted) == ['h: restarted a']
    assert F['incident_actions']('h', dropped_caches=True, database='postgresql') == [
        'h: synced and dropped the page cache', 'h: restarted database postgresql']
    assert F['incident_action_failed']('h', 'Drop the page cache', {'stderr': 'permission denied'}) == \
        'h: FAILED Drop the page cache: permission denied'
    check = F['checklist_step_failed']('Check memory and swap', {'msg': 'boom'})
    assert check == {'name': 'diagnosis', 'kind': 'diagnosis', 'status': 'unknown', 'reason': 'step_failed',
                     'step': 'Check memory and swap', 'message': 'Check memory and swap failed: boom'}


def test_memory_findings():
    top = ['  101 root   2048  1.5 python3', '  7 app 1024 0.7 java', '9 x 1 0 y']
    oom = ['kernel: Out of memory: Killed process 7 (java)', 'kernel: unrelated']
    assert F['incident_memory_findings'](top, oom, 2) == ['top memory: 101 root 2048 1.5 python3',
                                                          'top memory: 7 app 1024 0.7 java',
                                                          'kernel: Out of memory: Killed process 7 (java)']


def test_event_has_a_utc_time():
    event = F['checklist_event']('h1', 'service check', '1 critical')
    assert event['host'] == 'h1' and event['event'] == 'service check: 1 critical' and event['time'].endswith('Z')
    assert F['checklist_event']('h1', 'started')['event'] == 'started'


def test_recipients_of_each_level():
    contacts = {1: {'emails': ['ops@x']}, '2': {'emails': ['dev@x', 'ops@x'], 'webhooks': ['http://h/2']},
                3: {'emails': ['arch@x']}}
    assert F['notify_recipients'](contacts, 2, webhook_url='http://h/always', emails=['boss@x']) == {
        'webhooks': ['http://h/always', 'http://h/2'], 'emails': ['boss@x', 'ops@x', 'dev@x']}
    assert F['notify_recipients']({}, 1) == {'webhooks': [], 'emails': []}
    with pytest.raises(AnsibleFilterError, match='notify_recipients: the escalation level must be 1'):
        F['notify_recipients'](contacts, 5)
    with pytest.raises(AnsibleFilterError, match='contact levels must be 1 to 4'):
        F['notify_recipients']({'ops': {}}, 1)


def test_log_findings_of_the_last_minutes():
    analysis = {
        'error_counts': {'database_error': 2, 'api_error': 0, 'service_failure': 1}, 'error_events': 4,
        'error_details': [
            {'time': '2024-05-01 08:00:01', 'file': 'journal:unit=redfire-app', 'message': 'DatabaseError: refused',
             'continuation': []},
            {'time': '2024-05-01 08:00:02', 'file': '/var/log/redfire/app.log', 'message': 'ERROR DatabaseError x',
             'continuation': ['Traceback (most recent call last):', '  File "a.py"']},
            {'time': '2024-05-01 08:00:03', 'file': 'journal:unit=redfire-app',
             'message': 'redfire-app.service: Failed with result exit-code.', 'continuation': []}],
        'files': [{'path': '/var/log/redfire/app.log', 'error': None}, {'path': 'journal:unit=redfire-app', 'error': None},
                  {'path': 'journal:unit=nosuch', 'error': 'no such unit: nosuch'}]}
    assert F['incident_log_findings'](analysis, 30) == [
        'logs of the last 30 min (/var/log/redfire/app.log, journal:unit=redfire-app, journal:unit=nosuch): '
        '4 error events: database_error=2, service_failure=1',
        '2024-05-01 08:00:01 journal:unit=redfire-app: DatabaseError: refused',
        '2024-05-01 08:00:02 /var/log/redfire/app.log: ERROR DatabaseError x (+2 lines)',
        '2024-05-01 08:00:03 journal:unit=redfire-app: redfire-app.service: Failed with result exit-code.',
        '... and 1 more error events',
        'not read: no such unit: nosuch']
    quiet = {'error_counts': {'database_error': 0}, 'error_events': 0, 'error_details': [],
             'files': [{'path': 'journal:unit=redfire-app', 'error': None}]}
    assert F['incident_log_findings'](quiet) == ['logs of the last 15 min (journal:unit=redfire-app): no error events']
    assert F['incident_log_findings'](quiet, 5, 'app1') == [
        'app1: logs of the last 5 min (journal:unit=redfire-app): no error events']
    assert F['incident_log_findings']({'skipped': True, 'changed': False}) == []
    assert F['incident_log_findings'](None) == []


def test_listener_findings():
    lines = ['LISTEN 0      128    0.0.0.0:8000   0.0.0.0:*    users:(("python3",pid=7,fd=3))']
    assert F['incident_listener_findings'](lines, [8000]) == [
        'listening: LISTEN 0 128 0.0.0.0:8000 0.0.0.0:* users:(("python3",pid=7,fd=3))']
    assert F['incident_listener_findings']([], [8000, 8001]) == ['listening: nothing on port 8000, 8001']
    assert F['incident_listener_findings']([''], []) == []


def test_notify_outcomes_read_machine_fields_not_messages():
    results = [{'status': 200, 'url': 'http://secret@h/1'}, {'status': 500, 'url': 'http://secret@h/2'},
               {'status': -1, 'msg': 'Connection refused', 'url': 'http://secret@h/3'}]
    failures = F['notify_webhook_failures'](results)
    assert failures == ['webhook 2 of 3: HTTP 500', 'webhook 3 of 3: HTTP no answer']
    assert 'secret' not in ' '.join(failures)
    assert F['notify_webhook_failures']([]) == []
    # community.general.mail: exit_json(msg=..., result={refused}) when sent, fail_json(rc=1, msg=...) when not
    assert F['notify_mail_outcome']({'msg': 'Mail sent successfully', 'result': {}}, 2) == 'mail to 2 recipient(s): sent'
    assert F['notify_mail_outcome']({'msg': 'whatever the words', 'result': {}}, 2) == 'mail to 2 recipient(s): sent'
    assert F['notify_mail_outcome']({'msg': 'Failed to send mail to at least one recipient',
                                     'result': {'a@x': [550, 'no such user']}}, 2) == \
        'mail to 2 recipient(s): sent, refused by the server for 1 of them'
    failed = {'rc': 1, 'msg': 'Unable to Connect 127.0.0.1:25: refused', 'failed': False, 'failed_when_result': False}
    assert F['notify_mail_outcome'](failed, 2) == 'mail to 2 recipient(s): FAILED'
    assert F['notify_mail_outcome']({'failed': True, 'msg': 'missing required arguments: to'}, 1) == \
        'mail to 1 recipient(s): FAILED'
    assert F['notify_mail_outcome']({'skipped': True}, 0) == 'mail to 0 recipient(s): not sent (skipped)'
    assert F['incident_notice_outcome']({'skipped': True, 'changed': False}, 'clear') == \
        'user notice (clear): not posted: redfire_incident_status_page_url is not set'
    assert F['incident_notice_outcome']({'status': 202}, 'incident') == 'user notice (incident): HTTP 202'
    assert F['incident_notice_outcome']({'status': -1, 'msg': 'refused'}, 'incident') == 'user notice (incident): HTTP no answer'
