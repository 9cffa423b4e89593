"""The periodic checklist's decisions (plugins/filter/periodic.py): each host check's statuses from what the tasks
collect, the performance checks from Prometheus answers (this window against the previous one) and the alerting
test's outcome."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.redfire.ops.plugins.filter.periodic import FilterModule

F = FilterModule().filters()
NOW = 1_800_000_000.0
HOUR = 3600.0

APT_OUT = ["Inst libssl3 [3.0.11-1] (3.0.13-1~deb12u1 Debian-Security:12/stable-security [amd64])",
           "Inst tzdata [2024a-0] (2024b-0 Debian:12.7/stable [all])",
           "Conf libssl3 (3.0.13-1~deb12u1 Debian-Security:12/stable-security [amd64])"]
SS_OUT = ("LISTEN 0      128          0.0.0.0:22        0.0.0.0:*\n"
          "LISTEN 0      4096       127.0.0.1:9100      0.0.0.0:*\n"
          "LISTEN 0      511             [::]:8080         [::]:*\n")


def collected(**over):
    base = {'window_hours': 168, 'logs': {'files': [{'path': '/var/log/redfire/app.log'}]},
            'log_analysis': {'total_errors': 0, 'error_counts': {}, 'problems': []},
            'apt': {'rc': 0, 'stdout_lines': []}, 'ss': {'rc': 0, 'stdout': SS_OUT.split('\n', maxsplit=1)[0] + '\n'},
            'sshd_exists': True, 'sshd_text': 'PermitRootLogin no\nPasswordAuthentication no\n',
            'backup_dirs': ['/var/backups/redfire'],
            'backups': {'files': [{'path': '/var/backups/redfire/db.dump', 'mtime': NOW - 2 * HOUR, 'size': 2 * 1048576}]},
            'now': NOW}
    base.update(over)
    return base


def by_name(checks):
    return {c['name']: c for c in checks}


def test_a_healthy_host_is_ok_in_every_check():
    checks = by_name(F['periodic_host_checks'](collected()))
    assert sorted(checks) == ['backup', 'listening_ports', 'log_errors', 'security_updates', 'ssh_settings']
    assert {c['status'] for c in checks.values()} == {'ok'}, checks
    assert checks['backup']['value'] == 2.0 and checks['backup']['unit'] == 'h'
    assert checks['listening_ports']['message'] == 'listening: 22 (all allowed)'


@pytest.mark.parametrize('analysis, status, text', [
    ({'total_errors': 3, 'error_counts': {'database_error': 3}}, 'warning', '3 error lines in 168 h: database_error=3'),
    ({'total_errors': 101, 'error_counts': {'timeout': 101}}, 'critical', 'timeout=101'),
    ({'total_errors': 2, 'error_counts': {}, 'problems': ['no line with a timestamp in /x.log']}, 'unknown',
     'incomplete: no line with a timestamp in /x.log'),
    ({'total_errors': 200, 'error_counts': {}, 'problems': ['cut']}, 'critical', 'incomplete: cut'),
])
def test_log_errors(analysis, status, text):
    check = by_name(F['periodic_host_checks'](collected(log_analysis=analysis)))['log_errors']
    assert check['status'] == status and text in check['message'], check


def test_no_log_files_no_log_check():
    assert 'log_errors' not in by_name(F['periodic_host_checks'](collected(logs={'files': []})))


@pytest.mark.parametrize('apt, settings, status, text', [
    ({'rc': 0, 'stdout_lines': APT_OUT}, {}, 'warning', '1 security updates pending of 2 upgrades: libssl3'),
    ({'rc': 0, 'stdout_lines': APT_OUT}, {'security_updates_warning': 1}, 'ok', '1 security updates'),
    ({'rc': 0, 'stdout_lines': APT_OUT}, {'security_updates_critical': 0}, 'critical', 'libssl3'),
    ({'rc': 100, 'stderr': 'E: Could not open lock file'}, {}, 'unknown', 'apt-get -s upgrade failed: E: Could not'),
])
def test_security_updates(apt, settings, status, text):
    check = by_name(F['periodic_host_checks'](collected(apt=apt), settings))['security_updates']
    assert check['status'] == status and text in check['message'], check


@pytest.mark.parametrize('ss, allowed, status, text', [
    ({'rc': 0, 'stdout': SS_OUT}, [22, 9100], 'warning', 'ports not in the allow-list: 8080'),
    ({'rc': 0, 'stdout': SS_OUT}, [22, 9100, '8080'], 'ok', 'listening: 22, 8080, 9100 (all allowed)'),
    ({'rc': 1, 'stderr': 'ss: not found'}, [22], 'unknown', 'ss failed: ss: not found'),
])
def test_listening_ports(ss, allowed, status, text):
    check = by_name(F['periodic_host_checks'](collected(ss=ss), {'allowed_ports': allowed}))['listening_ports']
    assert check['status'] == status and check['message'] == text, check


@pytest.mark.parametrize('text, exists, keys, status, message', [
    ('PermitRootLogin yes\nPasswordAuthentication no\n', True, True, 'warning', 'PermitRootLogin yes (want no or'),
    ('#PermitRootLogin yes\nPasswordAuthentication no\n', True, True, 'ok', 'sshd settings ok'),
    ('PermitRootLogin no\n', True, True, 'warning', 'PasswordAuthentication yes (want no)'),
    ('PermitRootLogin no\n', True, False, 'ok', 'sshd settings ok'),
    # sshd takes the first value it reads
    ('PasswordAuthentication no\nPasswordAuthentication yes\n', True, True, 'ok', 'sshd settings ok'),
    ('', False, True, 'ok', 'no SSH server configuration'),
])
def test_ssh_settings(text, exists, keys, status, message):
    check = by_name(F['periodic_host_checks'](collected(sshd_text=text, sshd_exists=exists),
                                              {'ssh_require_keys': keys}))['ssh_settings']
    assert check['status'] == status and check['message'].startswith(message), check


@pytest.mark.parametrize('files, status, reason, text', [
    ([{'path': '/b/old', 'mtime': NOW - 72 * HOUR, 'size': 5 * 1048576}], 'critical', None, '72 h old'),
    ([{'path': '/b/old', 'mtime': NOW - 30 * HOUR, 'size': 5 * 1048576}], 'warning', None, '30 h old'),
    ([{'path': '/b/old', 'mtime': NOW - 72 * HOUR, 'size': 1}, {'path': '/b/new', 'mtime': NOW - HOUR, 'size': 10}],
     'critical', 'too_small', 'newest backup /b/new, 1 h old, 0 MB < minimum 1 MB'),
    ([], 'critical', 'no_backup', 'no backup found in /var/backups/redfire'),
])
def test_backup(files, status, reason, text):
    check = by_name(F['periodic_host_checks'](collected(backups={'files': files})))['backup']
    assert check['status'] == status and check['reason'] == reason and text in check['message'], check


def test_bad_threshold_names_the_setting():
    with pytest.raises(AnsibleFilterError, match='periodic_host_checks: backup_age_warning_h must be a number'):
        F['periodic_host_checks'](collected(), {'backup_age_warning_h': 'lots'})


QUERIES = [{'name': 'latency_p95', 'query': 'max_over_time(p95[$window])', 'label': 'endpoint', 'unit': 's',
            'warning': 1, 'critical': 2, 'change_warning': 25, 'change_critical': 100},
           {'name': 'order_throughput', 'query': 'avg_over_time(orders[$window])', 'label': 'job', 'unit': '/s',
            'lower_is_worse': True, 'change_warning': 30, 'change_critical': 60}]


def answer(request, *series, status=200):
    return {'item': request, 'status': status,
            'json': {'data': {'result': [{'metric': labels, 'value': [0, str(value)]} for labels, value in series]}}}


def test_requests_this_window_and_the_previous_one():
    requests = F['prometheus_requests'](QUERIES, 168)
    assert [(r['name'], r['window']) for r in requests] == [
        ('latency_p95', 'current'), ('latency_p95', 'previous'), ('order_throughput', 'current'),
        ('order_throughput', 'previous')]
    assert requests[0]['query'] == 'max_over_time(p95[168h])'
    assert requests[1]['query'] == 'last_over_time((max_over_time(p95[168h]))[1m:1m] offset 168h)'
    assert len(F['prometheus_requests'](QUERIES, 24, compare=False)) == 2


@pytest.mark.parametrize('now, before, status, text', [
    (0.5, 0.45, 'ok', 'latency_p95 /api over 168 h: 0.5s against 0.45s the previous 168 h (+11.1%)'),
    (0.6, 0.4, 'warning', '(+50.0%)'),           # below the thresholds, but 50 % slower than last week
    (0.9, 0.3, 'critical', '(+200.0%)'),
    (1.5, 1.6, 'warning', '(-6.3%)'),            # faster than last week, but above the warning threshold
    (0.5, None, 'ok', 'no data for the previous 168 h'),
])
def test_latency_against_the_previous_window(now, before, status, text):
    requests = F['prometheus_requests'](QUERIES[:1], 168)
    answers = [answer(requests[0], ({'endpoint': '/api'}, now)),
               answer(requests[1], *([({'endpoint': '/api'}, before)] if before is not None else []))]
    (check,) = F['prometheus_checks'](answers, QUERIES[:1], 168)
    assert check['name'] == 'latency_p95:/api' and check['status'] == status and text in check['message'], check
    assert (check.get('details') or {}).get('previous') == before


@pytest.mark.parametrize('now, before, status', [
    (10.0, 9.0, 'ok'), (6.0, 10.0, 'warning'), (3.0, 10.0, 'critical'), (20.0, 10.0, 'ok')])
def test_throughput_falling_is_worse(now, before, status):
    requests = F['prometheus_requests'](QUERIES[1:], 168)
    answers = [answer(requests[0], ({'job': 'redfire'}, now)), answer(requests[1], ({'job': 'redfire'}, before))]
    (check,) = F['prometheus_checks'](answers, QUERIES[1:], 168)
    assert check['status'] == status, check


def test_no_data_and_failed_queries_are_unknown():
    requests = F['prometheus_requests'](QUERIES, 1)
    answers = [answer(requests[0]), answer(requests[1]),
               {'item': requests[2], 'status': 400, 'json': {'error': 'parse error'}}, answer(requests[3])]
    checks = by_name(F['prometheus_checks'](answers, QUERIES, 1))
    assert checks['latency_p95']['status'] == 'unknown' and checks['latency_p95']['reason'] == 'no_data'
    assert checks['latency_p95']['message'] == 'no data for max_over_time(p95[1h])'
    assert checks['order_throughput']['status'] == 'unknown'
    assert checks['order_throughput']['message'] == 'query failed: HTTP 400 parse error'


@pytest.mark.parametrize('steps, must, status, reason, text', [
    ({'series': {'changed': True}, 'posted': {'skipped': True}, 'held': True, 'received': True}, True, 'ok', None,
     'delivered to the webhook receiver (through Prometheus rule RedfireChecklistTest)'),
    ({'series': {'failed': True, 'msg': 'Destination directory /x does not exist'}, 'posted': {'skipped': True},
      'held': False, 'received': False}, True, 'critical', 'not_raised', 'the series could not be written'),
    ({'series': {'changed': True}, 'posted': {'skipped': True}, 'held': False, 'received': False}, True, 'critical',
     'not_held', 'Alertmanager did not list test alert T1'),
    ({'series': {'changed': True}, 'posted': {'skipped': True}, 'held': True, 'received': False}, True, 'critical',
     'not_received', 'not seen by the webhook receiver within 60 s'),
    ({'series': {'changed': True}, 'posted': {'skipped': True}, 'held': True, 'received': False}, False, 'ok', None,
     'no receiver check configured'),
])
def test_alerting_check(steps, must, status, reason, text):
    check = F['alerting_check'](steps, 'T1', must_receive=must, timeout=60)
    assert (check['status'], check['reason']) == (status, reason) and text in check['message'], check


def test_alerting_check_straight_to_alertmanager():
    check = F['alerting_check']({'series': {'skipped': True}, 'posted': {'status': 500}, 'held': False}, 'T2',
                                via='alertmanager')
    assert check['status'] == 'critical' and 'did not take the test alert: HTTP 500' in check['message']


def test_alert_series_and_held():
    assert F['alert_test_textfile']('20261202T0400-7') .endswith('redfire_checklist_test_alert{redfire_test_id="20261202T0400-7"} 1\n')
    with pytest.raises(AnsibleFilterError, match='alert_test_textfile: the alert id'):
        F['alert_test_textfile']('x"} 1\nevil')
    assert F['alert_held']([{'labels': {'redfire_test_id': 'A'}}], 'A') and not F['alert_held']([], 'A')


def test_backup_sources_from_directories():
    (source,) = F['periodic_backup_sources'](['/var/backups/redfire/'], ['*.dump'], 26, 50, 2)
    assert source == {'name': 'var_backups_redfire', 'type': 'files', 'path': '/var/backups/redfire/',
                      'patterns': ['*.dump'], 'warning_age_hours': 26.0, 'critical_age_hours': 50.0,
                      'min_size_bytes': 2 * 1048576.0}
    with pytest.raises(AnsibleFilterError, match='periodic_backup_sources: age_warning_h must be a number'):
        F['periodic_backup_sources'](['/b'], None, 'x')


def test_host_audit_checks_replace_the_simple_ones():
    audit = {'checks': [{'name': 'sshd:permit_root_login', 'kind': 'sshd', 'status': 'critical',
                         'reason': 'root_login_allowed', 'message': 'PermitRootLogin yes'}]}
    checks = by_name(F['periodic_host_checks'](collected(audit=audit)))
    assert sorted(checks) == ['log_errors', 'sshd:permit_root_login']
    assert sorted(by_name(F['periodic_host_checks'](collected(audit={'skipped': True})))) == [
        'backup', 'listening_ports', 'log_errors', 'security_updates', 'ssh_settings']
