"""Hostile input, by class (issue 14): no hang past a documented timeout, no raw exception, no secret in
output, no change before a refusal. Each class is a table; the examples of the issue are rows of it.

A hang would also hang the test run, so every call that could hang runs in a forked child that the test kills
after a generous limit and then fails ("hung"): a guard, not a timing measurement."""
import json
import os
import pickle
import signal
import socket
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ansible_collections.redfire.ops.plugins.module_utils import health_checks as hc
from ansible_collections.redfire.ops.plugins.module_utils import log_scan
from ansible_collections.redfire.ops.plugins.module_utils import sysctl_profile as sp
from ansible_collections.redfire.ops.plugins.module_utils import url_secrets
from ansible_collections.redfire.ops.plugins.module_utils.deadline import (
    Deadline, DeadlineExceeded, NotRegularFile, bounded_search, open_regular)

HANG_LIMIT = 60  # far above every timeout used below: reaching it means the call ignored its timeout
NOW = datetime(2024, 5, 1, 12, 0, 0)
CATASTROPHIC = r'(a+)+$'  # exponential backtracking on 'aaaa...a!'
HOSTILE_LINE = 'a' * 40 + '!'  # 2**40 steps: without a deadline it never returns


def _within(func, *args):
    """func(*args) in a forked child; its result, or pytest.fail when it does not return within HANG_LIMIT."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(rfd)
            try:
                out = pickle.dumps((True, func(*args)))
            except BaseException as exc:  # pylint: disable=broad-except
                out = pickle.dumps((False, '%s: %s' % (type(exc).__name__, exc)))
            os.write(wfd, out)
        finally:
            os._exit(0)
    os.close(wfd)
    chunks = []
    deadline = time.monotonic() + HANG_LIMIT
    import select
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([rfd], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                pytest.fail('hung: no answer within %ss' % HANG_LIMIT)
            data = os.read(rfd, 1 << 20)
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(rfd)
        os.waitpid(pid, 0)
    ok, value = pickle.loads(b''.join(chunks))
    assert ok, value
    return value


def _log(tmp_path, lines, name='app.log'):
    path = tmp_path / name
    path.write_text(''.join('2024-05-01 11:%02d:00 ERROR %s\n' % (i % 60, text) for i, text in enumerate(lines)))
    return str(path)


# --------------------------------------------------------------------------------------------- hangs: patterns

@pytest.mark.parametrize('options, line', [
    ({'categories': {'hostile': CATASTROPHIC}}, HOSTILE_LINE),
    ({'categories': {'hostile': r'(x|x)*y'}}, 'x' * 40),
    ({'categories': {'hostile': r'(\w+\s?)+$'}, 'ignore_case': False}, 'word ' * 12 + '!'),
    ({'timestamp_regex': r'((?:\d+)+-)', 'categories': {'e': 'ERROR'}}, '1' * 40 + '!'),
], ids=['nested-plus', 'alternation-star', 'words', 'timestamp_regex'])
def test_log_scan_stops_a_catastrophic_pattern_at_its_timeout_and_says_incomplete(tmp_path, options, line):
    path = tmp_path / 'app.log'
    path.write_text('2024-05-01 11:00:00 ERROR first\n%s\n2024-05-01 11:01:00 ERROR %s\n' % (line, line))
    other = _log(tmp_path, ['DatabaseError later'], name='later.log')
    res = _within(lambda: log_scan.analyze([str(path), other], timeout=1, now=NOW, seek=False, **options))
    assert res['incomplete'] is True and res['stats']['timed_out'] is True
    first, rest = res['files'][0], res['files'][1:]
    assert any('stopped at the timeout of 1s' in w for w in first['warnings'])
    assert [f['status'] for f in rest] == ['timeout']
    assert 'not scanned: the timeout of 1s ran out' in rest[0]['error']
    assert dict(log_scan.file_problems(res['files']))[str(path)].startswith('the scan of %s was stopped' % path)


def test_log_scan_timeout_also_stops_parallel_workers(tmp_path):
    path = tmp_path / 'big.log'
    with open(path, 'w') as f:
        for i in range(6000):
            f.write('2024-05-01 11:%02d:%02d ERROR %s\n' % (i // 60 % 60, i % 60, HOSTILE_LINE[:30] + '!'))
    res = _within(lambda: log_scan.analyze([str(path)], categories={'h': r'(a|a)+x'}, timeout=1, now=NOW,
                                           workers=2, parallel_min_bytes=1, seek=False))
    assert res['stats']['timed_out'] is True and res['incomplete'] is True


def test_log_scan_without_timeout_problems_is_complete(tmp_path):
    res = log_scan.analyze([_log(tmp_path, ['DatabaseError x'])], timeout=30, now=NOW)
    assert res['incomplete'] is False and res['stats']['timed_out'] is False and res['total_errors'] == 1


@pytest.mark.parametrize('timeout', [0, -1, float('inf'), float('nan'), 'x', True, 86401])
def test_log_scan_timeout_is_validated(tmp_path, timeout):
    with pytest.raises(log_scan.LogScanError) as err:
        log_scan.analyze([_log(tmp_path, ['x'])], timeout=timeout)
    assert err.value.option == 'timeout'


class _Body(BaseHTTPRequestHandler):
    body = HOSTILE_LINE.encode()

    def do_GET(self):  # noqa: N802 - the http.server API
        self.send_response(200)
        self.send_header('Content-Length', str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    server = HTTPServer(('127.0.0.1', 0), _Body)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield 'http://127.0.0.1:%d' % server.server_address[1]
    server.shutdown()
    server.server_close()


def _run(params):
    return hc.run_checks(hc.normalize(params))


@pytest.mark.parametrize('regex', [CATASTROPHIC, r'(a|aa)+$', r'(a*)*b'])
def test_health_check_body_regex_is_stopped_within_the_endpoint_timeout(http_server, regex):
    res = _within(_run, {'checks': ['http'], 'http': [{'url': http_server + '/', 'body_regex': regex, 'timeout': 1}]})
    (check,) = res['checks']
    assert check['status'] == 'unknown'
    assert 'body_regex %r did not finish within' % regex in check['message']


def test_health_check_logs_patterns_are_stopped_within_logs_timeout(tmp_path):
    path = tmp_path / 'app.log'
    path.write_text('2024-05-01 11:00:00 ERROR %s\n' % HOSTILE_LINE)
    res = _within(_run, {'checks': ['logs'], 'logs': {'paths': [str(path)], 'categories': {'h': CATASTROPHIC},
                                                      'timeout': 1, 'hours': 100000}})
    by_name = dict((c['name'], c) for c in res['checks'])
    assert by_name['log_errors']['status'] == 'unknown'
    assert 'incomplete: the scan of %s was stopped at the timeout' % path in by_name['log_errors']['message']


def test_deadline_nests_and_gives_the_outer_timer_back():
    with pytest.raises(DeadlineExceeded):
        with Deadline(0.5) as outer:
            with Deadline(0.05):
                pass
            assert outer.remaining() > 0
            bounded_search(__import__('re').compile(CATASTROPHIC), HOSTILE_LINE, 5)  # the outer one stops it
    assert outer.expired
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


# --------------------------------------------------------------------------------------------- hangs: files

def _specials(tmp_path):
    """(path, what the message must say) for every kind of file that is not regular."""
    fifo = tmp_path / 'fifo.log'
    os.mkfifo(fifo)
    sock_path = tmp_path / 'sock.log'
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    zero = tmp_path / 'zero.log'
    zero.symlink_to('/dev/zero')
    link = tmp_path / 'fifo-link.log'
    link.symlink_to(fifo)
    return sock, [(str(fifo), 'is a FIFO (named pipe)'), (str(sock_path), 'is a socket'),
                  (str(zero), 'is a symlink to /dev/zero, a character device'), ('/dev/null', 'is a character device'),
                  (str(link), 'is a symlink to %s, a FIFO (named pipe)' % fifo)]


def test_only_regular_files_are_opened(tmp_path):
    sock, specials = _specials(tmp_path)
    try:
        for path, what in specials:
            with pytest.raises(NotRegularFile) as err:
                open_regular(path)
            assert '%s %s; only regular files are read' % (path, what) in str(err.value)
    finally:
        sock.close()


def test_log_scan_names_files_that_are_not_regular_and_reads_the_others(tmp_path):
    sock, specials = _specials(tmp_path)
    good = _log(tmp_path, ['DatabaseError x'])
    try:
        res = _within(lambda: log_scan.analyze([good] + [p for p, _w in specials], now=NOW, timeout=30))
    finally:
        sock.close()
    by_path = dict((f['path'], f) for f in res['files'])
    assert res['total_errors'] == 1 and by_path[good]['status'] == 'scanned'
    for path, what in specials:
        assert by_path[path]['status'] == 'error' and '%s %s' % (path, what) in by_path[path]['error']


def test_log_scan_rotated_sibling_that_is_a_fifo_is_named(tmp_path):
    good = _log(tmp_path, ['DatabaseError x'])
    os.mkfifo(good + '.1')
    res = _within(lambda: log_scan.analyze([good], now=NOW, timeout=30))
    assert [(f['path'], f['status']) for f in res['files']] == [(good + '.1', 'error'), (good, 'scanned')]


def _sysctl_root(tmp_path):
    root = tmp_path / 'root'
    (root / 'etc' / 'sysctl.d').mkdir(parents=True)
    (root / 'proc' / 'sys' / 'vm').mkdir(parents=True)
    (root / 'proc' / 'sys' / 'vm' / 'swappiness').write_text('60\n')
    return root


@pytest.mark.parametrize('make, path, text', [
    (lambda d: os.mkfifo(d / '90-redfire.conf'), '/etc/sysctl.d/90-redfire.conf', 'is a FIFO (named pipe), not a regular'),
    (lambda d: (d / '90-redfire.conf').symlink_to('/dev/zero'), '/etc/sysctl.d/90-redfire.conf', 'is a symlink to /dev/zero'),
    (lambda d: (d / '99-sysctl.conf').symlink_to('../sysctl.conf'), '/etc/sysctl.d/99-sysctl.conf', 'is a symlink to'),
    (lambda d: None, '/etc/sysctl.d/*.conf', 'is a glob'),
    (lambda d: None, '/etc/sysctl.d/9[0].conf', 'is a glob'),
], ids=['fifo', 'symlink-to-device', 'debian-symlink', 'glob-star', 'glob-bracket'])
@pytest.mark.parametrize('state', ['present', 'absent'])
def test_sysctl_profile_refuses_a_path_that_is_not_a_regular_file_before_any_change(tmp_path, make, path, text, state):
    root = _sysctl_root(tmp_path)
    make(root / 'etc' / 'sysctl.d')
    before = sorted(os.listdir(root / 'etc' / 'sysctl.d'))

    def plan():
        try:
            if state == 'present':
                sp.plan_present({'vm.swappiness': 10}, path, str(root))
            else:
                sp.plan_absent(['vm.swappiness'], path, str(root))
        except sp.SysctlError as exc:
            return str(exc)
        return None

    message = _within(plan)
    assert message is not None and message.startswith('path: ') and text in message
    assert sorted(os.listdir(root / 'etc' / 'sysctl.d')) == before
    assert (root / 'proc' / 'sys' / 'vm' / 'swappiness').read_text() == '60\n'


def test_sysctl_profile_skips_a_fifo_among_the_system_files_with_a_warning(tmp_path):
    root = _sysctl_root(tmp_path)
    os.mkfifo(root / 'etc' / 'sysctl.d' / '95-fifo.conf')
    plan = _within(lambda: sp.plan_present({'vm.swappiness': 10}, '/etc/sysctl.d/90-redfire.conf', str(root)))
    assert plan.changes() == [{'key': 'vm.swappiness', 'before': '60', 'after': '10'}]
    assert any('95-fifo.conf is a FIFO (named pipe)' in w and 'skipped' in w for w in plan.warnings)


@pytest.mark.parametrize('where', ['sysctl.conf', 'sysctl.d/99-local.conf', 'sysctl.d/90-redfire.conf'])
def test_sysctl_profile_reads_text_that_is_not_utf8(tmp_path, where):
    root = _sysctl_root(tmp_path)
    (root / 'etc' / where).write_bytes(b'# r\xe9glage local (Latin-1)\nvm.swappiness = 30\n')
    plan = sp.plan_present({'vm.swappiness': 10}, '/etc/sysctl.d/90-redfire.conf', str(root))
    assert [c['after'] for c in plan.changes()] == ['10']
    if where == 'sysctl.conf' or where.endswith('99-local.conf'):
        assert any('sets vm.swappiness = 30' in w for w in plan.warnings)


# --------------------------------------------------------------------------------------------- raw exceptions

INF, NAN = float('inf'), float('nan')
HEALTH_BAD = [
    ({'timeout': INF}, 'timeout must be a finite number'),
    ({'timeout': 'inf'}, 'timeout must be a finite number'),
    ({'disk_timeout': NAN}, 'disk_timeout must be a finite number'),
    ({'thresholds': {'cpu': {'warning': INF}}}, 'thresholds.cpu.warning must be a finite number'),
    ({'thresholds': {'load': {'critical': -INF}}}, 'thresholds.load.critical must be a finite number'),
    ({'cpu_sample': -INF}, 'cpu_sample must be a finite number'),
    ({'logs': {'paths': ['/var/log/x.log'], 'hours': INF}}, 'logs.hours must be a finite number'),
    ({'logs': {'paths': ['/var/log/x.log'], 'hours': 1e12}}, 'logs.hours must be <='),
    ({'logs': {'paths': ['/var/log/x.log'], 'timeout': INF}}, 'logs.timeout must be a finite number'),
    ({'logs': {'paths': ['/var/log/x.log'], 'errors_warning': INF}}, 'logs.errors_warning must be a finite'),
    ({'logs': {'paths': ['/var/log/x.log'], 'timestamp_format': 5}}, 'logs.timestamp_format must be a string'),
    ({'http': [{'url': 'http://[::1/health'}]}, 'http[0].url is not a valid URL'),
    ({'http': [{'url': 'http://[::1:8080/'}]}, 'http[0].url is not a valid URL'),
    ({'http': [{'url': 'http://h/', 'expected_status': [INF]}]}, 'http[0].expected_status must hold HTTP status'),
    ({'http': [{'url': 'http://h/', 'body_regex': 5}]}, 'http[0].body_regex must be a regular expression'),
    ({'http': [{'url': 'http://h/', 'cert_warning_days': INF}]}, 'http[0].cert_warning_days must be a finite'),
    ({'network_targets': [{'type': 'http', 'address': 'http://[fe80::1'}]}, 'network_targets[0].address is not a valid URL'),
    ({'network_targets': [{'type': 'tcp', 'address': 'h:99999999999999999999'}]}, 'network_targets[0].address must be'),
    ({'network_targets': [{'type': 'dns', 'address': 'x', 'warning': 'inf'}]}, 'network_targets[0].warning must be a finite'),
    ({'ports': [INF]}, 'ports[0] must be a TCP port'),
    ({'postgresql': [{'host': 'h', 'port': INF}]}, 'postgresql[0].port must be a TCP port'),
    ({'redis': [{'host': 'h', 'db': INF}]}, 'redis[0].db must be a finite number'),
]


@pytest.mark.parametrize('params, text', HEALTH_BAD, ids=[str(i) for i in range(len(HEALTH_BAD))])
def test_health_check_bad_numbers_and_urls_name_the_option(params, text):
    with pytest.raises(hc.ConfigError) as err:
        hc.normalize(params)
    assert text in str(err.value)


LOG_BAD = [
    ({'hours': INF}, 'hours'), ({'hours': -INF}, 'hours'), ({'hours': NAN}, 'hours'), ({'hours': 1e12}, 'hours'),
    ({'hours': 'x'}, 'hours'), ({'order_tolerance': int(1e11)}, 'order_tolerance'),
    ({'order_tolerance': INF}, 'order_tolerance'), ({'since': '-999999999d'}, 'since'),
    ({'until': '+99999999w'}, 'until'), ({'since': '0001-01-01 00:00:00'}, 'since'),
    ({'until': '9999-12-31 23:59:59'}, 'until'), ({'since': '-1e400d'}, 'since'),
    ({'timezone': '+24:00'}, 'timezone'), ({'timezone': '-23:60'}, 'timezone'), ({'timezone': 5}, 'timezone'),
    ({'max_details': 'x'}, 'max_details'), ({'max_details': INF}, 'max_details'), ({'max_details': 1.5}, 'max_details'),
    ({'top_messages': -1}, 'top_messages'), ({'workers': True}, 'workers'),
    ({'max_line_bytes': 'x'}, 'max_line_bytes'), ({'max_line_bytes': INF}, 'max_line_bytes'),
    ({'json_time_field': 5}, 'json_time_field'), ({'timestamp_regex': 5}, 'timestamp_regex'),
    ({'timestamp_format': 5}, 'timestamp_format'), ({'categories': {'a': 5}}, 'categories'),
    ({'categories': []}, 'categories'), ({'categories': {'a': '('}}, 'categories'),
]


@pytest.mark.parametrize('options, option', LOG_BAD, ids=[str(i) for i in range(len(LOG_BAD))])
def test_log_scan_bad_options_name_the_option(tmp_path, options, option):
    with pytest.raises(log_scan.LogScanError) as err:
        log_scan.analyze([_log(tmp_path, ['x'])], now=NOW, **options)
    assert err.value.option == option and str(err.value)


# --------------------------------------------------------------------------------------------- secrets

SECRET_URLS = [
    ('http://admin:S3cretPw@127.0.0.1:9/x', 'S3cretPw', 'http://admin:***@127.0.0.1:9/x'),
    ('https://T0kenOnly@example.test/', 'T0kenOnly', 'https://***@example.test/'),
    ('http://127.0.0.1:9/health?token=abc123secret&x=1', 'abc123secret', 'http://127.0.0.1:9/health?token=***&x=***'),
    ('http://u:p%40ss%3Aword@127.0.0.1:9/', 'p%40ss%3Aword', 'http://u:***@127.0.0.1:9/'),
    ('postgresql://app:DbPassw0rd@db:5432/app', 'DbPassw0rd', 'postgresql://app:***@db:5432/app'),
    ('host=db user=app password=DsnSecret1 dbname=app', 'DsnSecret1', 'host=db user=app password=*** dbname=app'),
]


@pytest.mark.parametrize('url, secret, shown', SECRET_URLS)
def test_mask_url_hides_userinfo_query_values_and_dsn_passwords(url, secret, shown):
    assert url_secrets.mask_url(url) == shown
    assert secret not in url_secrets.mask_secrets('connect to %s failed: %s' % (url, secret), url)


def test_health_check_output_and_textfile_carry_no_secret(http_server):
    port = http_server.rsplit(':', 1)[1]
    secrets = ['S3cretPw', 'abc123secret', 'DbPassw0rd', 'RedisT0ken']
    res = _run({'checks': ['http', 'network', 'postgresql', 'redis'], 'timeout': 2,
                'http': [{'url': 'http://admin:S3cretPw@127.0.0.1:%s/ok?token=abc123secret' % port}],
                'network_targets': [{'type': 'http', 'address': 'http://127.0.0.1:%s/?token=abc123secret' % port},
                                    {'type': 'http', 'address': 'http://admin:S3cretPw@127.0.0.1:1/'}],
                'postgresql': [{'host': 'postgresql://app:DbPassw0rd@127.0.0.1:1/app', 'port': 1, 'timeout': 1}],
                'redis': [{'host': 'redis://:RedisT0ken@127.0.0.1', 'port': 1, 'timeout': 1}]})
    text = json.dumps(res) + hc.render_textfile(res['status'], res['checks']) + hc.nagios_summary(res['status'], res['checks'])
    for secret in secrets:
        assert secret not in text
    assert 'http://admin:***@127.0.0.1:%s/ok?token=***' % port in text


def test_health_check_config_errors_carry_no_secret():
    with pytest.raises(hc.ConfigError) as err:
        hc.normalize({'http': [{'url': 'ftp://admin:S3cretPw@h/?token=abc123secret'}]})
    assert 'S3cretPw' not in str(err.value) and 'abc123secret' not in str(err.value)
