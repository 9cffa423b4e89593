"""Unit tests of the health check core with fakes (fake /proc, fake systemctl, a hanging statvfs)."""
import datetime
import json
import os
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ansible_collections.redfire.ops.plugins.module_utils import health_checks as hc
from ansible_collections.redfire.ops.plugins.module_utils import health_checks_host as hc_host
from ansible_collections.redfire.ops.plugins.module_utils import health_checks_logs as hc_logs
from ansible_collections.redfire.ops.plugins.module_utils import health_checks_net as hc_net
from ansible_collections.redfire.ops.plugins.module_utils import health_checks_stores as hc_stores


@pytest.mark.parametrize('value,warning,critical,lower,expected', [
    (79.9, 80, 95, False, 'ok'),
    (80, 80, 95, False, 'ok'),          # the guide: cpu_percent > 80 warns
    (80.1, 80, 95, False, 'warning'),
    (95.5, 80, 95, False, 'critical'),
    (None, 80, 95, False, 'unknown'),
    ('n/a', 80, 95, False, 'unknown'),
    (5, None, None, False, 'ok'),
    (20, 14, 3, True, 'ok'),
    (5, 14, 3, True, 'warning'),
    (1, 14, 3, True, 'critical'),
])
def test_status_of(value, warning, critical, lower, expected):
    assert hc.status_of(value, warning, critical, lower_is_worse=lower) == expected


def test_worst_orders_unknown_between_warning_and_critical():
    assert hc.worst([]) == 'ok'
    assert hc.worst(['ok', 'warning']) == 'warning'
    assert hc.worst(['warning', 'unknown', 'ok']) == 'unknown'
    assert hc.worst(['unknown', 'critical', 'warning']) == 'critical'


def test_load_per_core_uses_five_minute_average():
    th = hc.normalize({})['thresholds']
    r = hc.check_load(th, cpu_count=4, loadavg=(20.0, 8.0, 2.0))
    assert (r['status'], r['value'], r['kind']) == ('warning', 2.0, 'load')
    assert '1/5/15 min: 20/8/2' in r['message'] and '4 cores' in r['message']
    assert hc.check_load(th, cpu_count=2, loadavg=(0.1, 0.2, 0.3))['status'] == 'ok'
    assert hc.check_load(th, cpu_count=1, loadavg=(9, 9, 9))['status'] == 'critical'


def test_swap_absent_is_ok(monkeypatch):
    class Swap(object):
        total = 0
        percent = 0.0
    monkeypatch.setattr(hc_host.psutil, 'swap_memory', Swap)
    r = hc.check_swap(hc.normalize({})['thresholds'])
    assert r['status'] == 'ok' and r['message'] == 'no swap configured'


def test_memory_thresholds_from_config(monkeypatch):
    class VM(object):
        percent = 87.0
        total = 8 << 30
    monkeypatch.setattr(hc_host.psutil, 'virtual_memory', VM)
    cfg = hc.normalize({})
    assert hc.check_memory(cfg['thresholds'])['status'] == 'warning'   # guide: > 85
    cfg = hc.normalize({'thresholds': {'memory': {'warning': 90, 'critical': 99}}})
    assert hc.check_memory(cfg['thresholds'])['status'] == 'ok'


def test_hung_mount_is_unknown_and_does_not_block(monkeypatch, tmp_path):
    release = threading.Event()
    real = os.statvfs

    def statvfs(path):
        if path == '/hung':
            release.wait(30)
        return real(path)
    monkeypatch.setattr(os, 'statvfs', statvfs)
    try:
        jobs = hc.disk_jobs(['/hung', str(tmp_path)], hc.normalize({})['thresholds'], 0.2)
        pending = hc._Pending(jobs)
        out = [c for item in pending.collect() for c in item]
    finally:
        release.set()
    by = dict((c['name'], c) for c in out)
    hung = by['disk:/hung']
    assert hung['status'] == 'unknown' and 'did not answer within 0.2s' in hung['message']
    assert 0.2 <= hung['duration_ms'] / 1000.0 < 5
    assert by['disk:%s' % tmp_path]['status'] in ('ok', 'warning', 'critical')
    assert by['inodes:%s' % tmp_path]['unit'] == '%'


def test_discovered_file_mounts_are_left_out(tmp_path):
    afile = tmp_path / 'hosts'
    afile.write_text('127.0.0.1 localhost\n')
    th = hc.normalize({})['thresholds']
    found = [c['name'] for item in hc._Pending(hc.disk_jobs([str(afile), str(tmp_path)], th, 2, dirs_only=True)).collect()
             for c in item]
    assert found == ['disk:%s' % tmp_path, 'inodes:%s' % tmp_path]
    listed = [c['name'] for item in hc._Pending(hc.disk_jobs([str(afile)], th, 2)).collect() for c in item]
    assert listed == ['disk:%s' % afile, 'inodes:%s' % afile]   # a path the user listed is checked as given


def test_real_mounts_skip_pseudo_filesystems(monkeypatch):
    class P(object):
        def __init__(self, mp, fs):
            self.mountpoint, self.fstype = mp, fs
    parts = [P('/', 'ext4'), P('/proc', 'proc'), P('/dev/shm', 'tmpfs'), P('/srv', 'xfs'), P('/srv', 'xfs'),
             P('/snap/core/1', 'squashfs'), P('/var/lib/containers/storage/overlay/x/merged', 'overlay'),
             P('/mnt/nfs', 'nfs4'), P('/sys/fs/cgroup', 'cgroup2')]
    monkeypatch.setattr(hc_host.psutil, 'disk_partitions', lambda all=True: parts)
    assert hc.real_mounts() == ['/', '/srv', '/mnt/nfs']


def _fake_systemctl(tmp_path, output, rc=0, stderr=''):
    log = tmp_path / 'calls.log'
    script = tmp_path / 'systemctl'
    script.write_text('#!/bin/sh\necho "$@" >> %s\ncat <<\'EOF\'\n%sEOF\necho "%s" >&2\nexit %d\n'
                      % (log, output, stderr, rc))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script), log


def test_services_batched_in_one_systemctl_call(tmp_path):
    output = ('Id=nginx.service\nLoadState=loaded\nActiveState=active\nSubState=running\n\n'
              'Id=gone.service\nLoadState=not-found\nActiveState=inactive\nSubState=dead\n\n'
              'Id=api.service\nLoadState=loaded\nActiveState=failed\nSubState=failed\n\n'
              'Id=slow.service\nLoadState=loaded\nActiveState=activating\nSubState=start\n')
    systemctl, log = _fake_systemctl(tmp_path, output)
    out = hc.check_services(['nginx', 'gone', 'api', 'slow'], 2, systemctl=systemctl)
    assert [(c['name'], c['status']) for c in out] == [
        ('service:nginx', 'ok'), ('service:gone', 'critical'), ('service:api', 'critical'),
        ('service:slow', 'warning')]
    assert 'not found' in out[1]['message'] and 'failed' in out[2]['message']
    calls = log.read_text().splitlines()
    assert calls == ['show --no-pager -p Id,ActiveState,SubState,LoadState -- nginx gone api slow']


def test_services_without_systemd_are_unknown_with_reason(tmp_path):
    systemctl = _fake_systemctl(tmp_path, '', rc=1, stderr='System has not been booted with systemd')[0]
    out = hc.check_services(['a', 'b'], 2, systemctl=systemctl)
    assert [c['status'] for c in out] == ['unknown', 'unknown']
    assert 'not been booted with systemd' in out[0]['message']
    out = hc.check_services(['a'], 2, systemctl=str(tmp_path / 'nope'))
    assert out[0]['status'] == 'unknown' and 'No such file' in out[0]['message']


def test_listening_ports_from_proc(tmp_path):
    (tmp_path / 'net').mkdir()
    header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'
    (tmp_path / 'net' / 'tcp').write_text(
        header
        + '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n'
        + '   1: 0100007F:0016 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 2 1\n')
    (tmp_path / 'net' / 'tcp6').write_text(
        header + '   0: 00000000000000000000000000000000:1538 00000000000000000000000000000000:0000 0A 0 0 0 0 0 3 1\n')
    assert hc.listening_ports(str(tmp_path)) == {8080, 5432}
    out = hc.check_ports([8080, 22, 5432], str(tmp_path))
    assert [c['status'] for c in out] == ['ok', 'critical', 'ok']   # 22 is only an established connection


def test_real_listening_and_closed_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        s.listen(1)
        port = s.getsockname()[1]
        assert hc.check_ports([port])[0]['status'] == 'ok'
    assert hc.check_ports([port])[0]['status'] == 'critical'


def test_cert_not_after_matches_cryptography(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, u'test')])
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    for days in (5, 40000):   # UTCTime before 2050, GeneralizedTime after
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=days)).sign(key, hashes.SHA256()))
        der = cert.public_bytes(serialization.Encoding.DER)
        assert hc.cert_not_after(der) == int(cert.not_valid_after_utc.timestamp())
    r = hc_net._cert_result('api', ssl.PEM_cert_to_DER_cert(cert.public_bytes(serialization.Encoding.PEM).decode()),
                            {'cert_warning_days': 14, 'cert_critical_days': 3}, now=time.time() + 40001 * 86400)
    assert r['status'] == 'critical' and 'expired' in r['message'] and r['value'] < 0


def test_split_host_port():
    assert hc.split_host_port('db:5432') == ('db', 5432)
    assert hc.split_host_port('[::1]:6379') == ('::1', 6379)
    for bad in ('db', ':80', 'db:0', 'db:70000', 'db:x', '[::1]'):
        with pytest.raises(ValueError):
            hc.split_host_port(bad)


def test_default_selection_and_skips():
    cfg = hc.normalize({'services': ['nginx'], 'ports': [80]})
    assert cfg['checks'] == ['cpu', 'load', 'memory', 'swap', 'disk', 'services', 'ports']
    res = hc.run_checks(hc.normalize({'checks': ['load', 'network', 'http', 'redis']}))
    assert [c['name'] for c in res['checks']] == ['load']
    assert [s['name'] for s in res['skipped']] == ['network', 'http', 'redis']
    assert res['health_status']['network_status'] == 'skipped'


def test_silent_servers_time_out_concurrently():
    """Ten targets that accept but never answer: every one critical with its own timeout reason."""
    srv = socket.socket()
    srv.bind(('127.0.0.1', 0))
    srv.listen(64)
    port = srv.getsockname()[1]
    held = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except socket.timeout:
                continue
    t = threading.Thread(target=accept)
    t.start()
    try:
        targets = [{'type': 'http', 'address': 'http://127.0.0.1:%d/t%d' % (port, i), 'timeout': 0.3} for i in range(10)]
        res = hc.run_checks(hc.normalize({'checks': ['network'], 'network_targets': targets}))
    finally:
        stop.set()
        t.join()
        for c in held:
            c.close()
        srv.close()
    assert len(res['checks']) == 10
    assert all(c['status'] == 'critical' for c in res['checks'])
    assert all('timed out' in c['message'] or 'no answer within 0.3s' in c['message'] for c in res['checks'])
    assert res['health_status']['network_status'] == 'disconnected'


def test_summary_and_textfile_format():
    checks = [
        hc.result('cpu', 'cpu', 'warning', 85.5, '%', 80.0, 95.0, 'cpu usage 85.5% > warning 80%'),
        hc.result('disk:/', 'disk', 'ok', 40.0, '%', 90.0, 95.0, '/ used 40%'),
        hc.result('service:x"y', 'service', 'unknown', None, '', None, None, 'no systemd'),
    ]
    res = hc.summarize(checks)
    assert res['status'] == 'unknown'
    assert res['summary'].startswith('HEALTH UNKNOWN - service:x"y unknown: no systemd; cpu warning: cpu usage')
    assert res['summary'].endswith("| cpu=85.5%;80;95 'disk:/'=40%;90;95")
    assert res['health_status'] == {'cpu_usage': 85.5, 'memory_usage': None, 'disk_usage': 40.0,
                                    'network_status': 'skipped'}
    text = hc.render_textfile(res['status'], checks, timestamp=1700000000)
    lines = [line for line in text.splitlines() if not line.startswith('#')]
    assert lines == [
        'redfire_health_check_status{check="cpu",kind="cpu"} 1',
        'redfire_health_check_status{check="disk:/",kind="disk"} 0',
        'redfire_health_check_status{check="service:x\\"y",kind="service"} 3',
        'redfire_health_check_value{check="cpu",kind="cpu",unit="%"} 85.5',
        'redfire_health_check_value{check="disk:/",kind="disk",unit="%"} 40.0',
        'redfire_health_check_overall_status 3',
        'redfire_health_check_last_run_timestamp_seconds 1700000000',
    ]


def test_time_sync_reads_kernel_state():
    r = hc.check_time_sync()
    assert r['status'] in ('ok', 'warning') and r['value'] in (0, 1)
    assert ('not synchronised' in r['message']) == (r['value'] == 0)


def test_db_errors_never_show_the_password():
    spec = hc.normalize({'redis': [{'host': '127.0.0.1', 'port': 1, 'password': 's3cret-pw', 'timeout': 1}]})['redis'][0]
    r = hc_stores._redis(spec)
    assert r['status'] == 'critical' and 's3cret-pw' not in r['message']
    assert hc_stores._redact('auth s3cret-pw failed', spec) == 'auth ******** failed'


def test_process_exits_although_a_statvfs_never_returns():
    """The thread stuck in a hung mount is a daemon: the process prints its result and exits."""
    code = '''
import os, json, threading
from ansible_collections.redfire.ops.plugins.module_utils import health_checks as hc
real = os.statvfs
forever = threading.Event()
def statvfs(path):
    if path == "/":
        forever.wait()
    return real(path)
os.statvfs = statvfs
res = hc.run_checks(hc.normalize({"checks": ["disk"], "disk_mounts": ["/"], "disk_timeout": 0.2}))
print(json.dumps(res["checks"]))
'''
    collections_root = str(Path(hc.__file__).parents[5])   # the directory holding ansible_collections/
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60, check=False,
                          env=dict(os.environ, PYTHONPATH=collections_root))
    assert proc.returncode == 0, proc.stderr
    checks = json.loads(proc.stdout)
    assert [(c['name'], c['status']) for c in checks] == [('disk:/', 'unknown')]
    assert 'hung mount' in checks[0]['message']


# --------------------------------------------------------------------------- logs

def _line(when, text):
    return '%s %s\n' % (when.strftime('%Y-%m-%d %H:%M:%S'), text)


def _logs_cfg(paths, **spec):
    return hc.normalize({'checks': ['logs'], 'logs': dict(spec, paths=paths)})


def test_log_files_regular_visible_and_once(tmp_path):
    (tmp_path / 'app.log').write_text('x' * 10)
    (tmp_path / 'app.log.1').write_text('x' * 30)
    (tmp_path / '.hidden.log').write_text('x')
    (tmp_path / 'dir.log').mkdir()
    os.symlink(str(tmp_path / 'app.log'), str(tmp_path / 'link.log'))
    files = hc.log_files([str(tmp_path / '*.log'), str(tmp_path / '*.log*')])
    assert files == [(str(tmp_path / 'app.log'), 10), (str(tmp_path / 'app.log.1'), 30)]


def test_log_checks_count_the_window_in_rotated_files_like_log_analysis(tmp_path):
    from ansible_collections.redfire.ops.plugins.module_utils.log_scan import analyze
    now = datetime.datetime.now()
    (tmp_path / 'app.log.2').write_text(_line(now - datetime.timedelta(days=3), 'ERROR DatabaseError: old'))
    (tmp_path / 'app.log.1').write_text(_line(now - datetime.timedelta(hours=2), 'ERROR OrderError: rejected') +
                                        _line(now - datetime.timedelta(hours=2), 'ERROR unrelated failure'))
    (tmp_path / 'app.log').write_text(_line(now, 'ERROR DatabaseError: refused') * 3 + _line(now, 'INFO ok'))
    res = hc.run_checks(_logs_cfg([str(tmp_path / '*.log')], errors_warning=2, errors_critical=10))
    by_name = dict((c['name'], c) for c in res['checks'])
    errors = by_name['log_errors']
    assert (errors['status'], errors['value']) == ('warning', 4), errors
    assert errors['message'] == ('4 error lines in the last 24 h: database_error=3, trading_error=1 '
                                 '(4 > warning 2)')
    # the same count as redfire.ops.log_analysis's core over the same files
    assert analyze([str(tmp_path / 'app.log')], hours=24)['total_errors'] == 4
    size = by_name['log_size']
    assert size['status'] == 'ok' and size['value'] == 0.0 and size['unit'] == 'MB'
    assert size['message'].startswith('largest log %s: 0 MB; 1 files match' % (tmp_path / 'app.log'))
    assert res['status'] == 'warning' and 'log_errors=4;2;10' in res['summary']


def test_log_size_thresholds_and_no_match(tmp_path):
    (tmp_path / 'big.log').write_bytes(b'x' * (3 * 1048576))
    (tmp_path / 'small.log').write_bytes(b'x' * 100)
    res = hc.run_checks(_logs_cfg([str(tmp_path / '*.log')], size_warning_mb=1, size_critical_mb=2))
    size = res['checks'][0]
    assert (size['name'], size['status'], size['value']) == ('log_size', 'critical', 3.0)
    assert '%s: 3 MB > critical 2 MB; 2 files match' % (tmp_path / 'big.log') in size['message']

    res = hc.run_checks(_logs_cfg([str(tmp_path / 'nothing' / '*.log')]))
    found = [(c['name'], c['status'], c['value']) for c in res['checks']]
    assert found == [('log_size', 'ok', 0.0), ('log_errors', 'ok', 0)]
    assert res['checks'][1]['message'] == 'no log files match %s' % (tmp_path / 'nothing' / '*.log')


def test_log_file_gone_before_the_scan_is_unknown(tmp_path, monkeypatch):
    """A file listed but not readable any more (rotated away, permissions): errors may be missing from the count."""
    (tmp_path / 'app.log').write_text(_line(datetime.datetime.now(), 'INFO ok'))
    gone = str(tmp_path / 'gone.log')
    real = hc_logs.log_files
    monkeypatch.setattr(hc_logs, 'log_files', lambda patterns: real(patterns) + [(gone, 10)])
    res = hc.run_checks(_logs_cfg([str(tmp_path / '*.log')]))
    errors = res['checks'][1]
    assert errors['status'] == 'unknown' and errors['value'] == 0
    assert 'incomplete: no such file or no glob match: %s' % gone in errors['message']


def test_log_checks_time_out_as_unknown(tmp_path, monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(hc_logs, 'check_logs', lambda spec: release.wait(30))
    started = time.monotonic()
    try:
        res = hc.run_checks(_logs_cfg([str(tmp_path / '*.log')], timeout=0.2))
    finally:
        release.set()
    assert time.monotonic() - started < 5
    assert [(c['name'], c['status']) for c in res['checks']] == [('log_size', 'unknown'), ('log_errors', 'unknown')]
    assert 'did not finish within 0.2s' in res['checks'][0]['message']


def test_logs_option_selected_only_when_given():
    assert 'logs' not in hc.normalize({})['checks']
    cfg = hc.normalize({'logs': {'paths': ['/var/log/redfire/*.log']}})
    assert cfg['checks'][-1] == 'logs' and cfg['logs']['hours'] == 24.0
    assert (cfg['logs']['errors_warning'], cfg['logs']['errors_critical']) == (0.0, 50.0)
    res = hc.run_checks(hc.normalize({'checks': ['logs']}))
    assert res['skipped'] == [{'name': 'logs', 'reason': 'no logs given'}]
    # a lone critical below the default warning pulls the warning down (as the latency thresholds)
    cfg = hc.normalize({'logs': {'paths': ['/x/*.log'], 'size_critical_mb': 100}})
    assert (cfg['logs']['size_warning_mb'], cfg['logs']['size_critical_mb']) == (100.0, 100.0)


def test_log_errors_unknown_when_no_line_has_the_timestamp_format(tmp_path):
    """A syslog-style log read with the default format: no line has a timestamp, nothing can count. That is
    unknown, not a silent ok with 0 errors; with its timestamp_format the errors count."""
    now = datetime.datetime.now()
    line = '%s host app[1]: ERROR DatabaseError: refused\n' % now.strftime('%b %d %H:%M:%S')
    (tmp_path / 'app.log').write_text(line * 2)
    errors = hc.run_checks(_logs_cfg([str(tmp_path / '*.log')]))['checks'][1]
    assert (errors['status'], errors['value']) == ('unknown', 0), errors
    assert 'no line with a timestamp in %s' % (tmp_path / 'app.log') in errors['message']
    assert 'timestamp_format' in errors['message']
    errors = hc.run_checks(_logs_cfg([str(tmp_path / '*.log')], timestamp_format='%b %d %H:%M:%S'))['checks'][1]
    assert (errors['status'], errors['value']) == ('warning', 2), errors


@pytest.mark.parametrize('spec,option', [
    ({'timestamp_regex': '(unclosed'}, 'logs.timestamp_regex'),
    ({'timestamp_regex': '.*'}, 'logs.timestamp_regex'),
    ({'timestamp_format': '%Y-%m-%d %Q'}, 'logs.timestamp_format'),
])
def test_logs_timestamp_options_are_validated(spec, option):
    with pytest.raises(hc.ConfigError) as err:
        hc.normalize({'logs': dict(spec, paths=['/var/log/redfire/*.log'])})
    assert str(err.value).startswith(option), str(err.value)


# A journalctl on PATH for the logs.journal tests: two error entries and a heartbeat of the last minute for any unit
# but `redfire-broken`, for which it fails as journalctl does when it cannot open the journal.
FAKE_JOURNALCTL = r'''#!%s
import json, sys, time
if 'redfire-broken' in sys.argv:
    sys.stderr.write('Failed to open journal: Input/output error\n')
    sys.exit(1)
now = int(time.time() * 1000000) - 30000000
for i, (prio, msg) in enumerate([(3, 'DatabaseError: refused'), (6, 'heartbeat'),
                                 (2, 'OrderError: rejected\nRuntimeError: venue down')]):
    print(json.dumps({'__REALTIME_TIMESTAMP': str(now + i), 'PRIORITY': str(prio), 'MESSAGE': msg}))
'''


@pytest.fixture
def fake_journalctl(tmp_path, monkeypatch):
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    (bindir / 'journalctl').write_text(FAKE_JOURNALCTL % sys.executable)
    (bindir / 'journalctl').chmod(0o755)
    monkeypatch.setenv('PATH', '%s:%s' % (bindir, os.environ['PATH']))


def test_logs_journal_option_is_validated_naming_it():
    cfg = hc.normalize({'logs': {'journal': ['redfire-backend', {'matches': {'SYSLOG_IDENTIFIER': 'gw'}}]}})
    assert cfg['logs']['paths'] == [] and cfg['logs']['journal'][0] == 'redfire-backend'
    assert hc.normalize({'logs': {'paths': ['/x/*.log']}})['logs']['journal'] == []
    for logs, words in (({'journal': [{}]}, 'logs.journal[0]: give unit and/or matches'),
                        ({'journal': 'redfire-backend'}, 'logs.journal must be a list'),
                        ({'journal': [{'unit': '-x'}]}, 'logs.journal[0]: unit must be'),
                        ({'journal': []}, 'logs.paths must list at least one'),
                        ({'paths': []}, 'logs.paths must list at least one')):
        with pytest.raises(hc.ConfigError) as err:
            hc.normalize({'logs': logs})
        assert str(err.value).startswith(words), str(err.value)


def test_log_errors_count_the_units_journal_with_the_files(tmp_path, fake_journalctl):
    now = datetime.datetime.now()
    (tmp_path / 'app.log').write_text(_line(now, 'ERROR DatabaseError: refused') + _line(now, 'INFO ok'))
    res = hc.run_checks(_logs_cfg([str(tmp_path / '*.log')], journal=['redfire-backend'], errors_critical=10))
    size, errors = res['checks']
    assert (size['name'], size['status']) == ('log_size', 'ok')
    # the file's error line, and the journal's two error entries (the multi-line one in two categories)
    assert (errors['status'], errors['value']) == ('warning', 4), errors
    assert errors['message'].startswith('4 error lines in the last 24 h: database_error=2, trading_error=1, '
                                        'system_error=1 (3 of them in the journal of journal:unit=redfire-backend)')
    # the journal alone
    res = hc.run_checks(hc.normalize({'checks': ['logs'], 'logs': {'journal': ['redfire-backend']}}))
    size, errors = res['checks']
    assert (size['status'], size['value'], errors['value']) == ('ok', 0.0, 3)
    assert size['message'] == 'no log files match no paths given (journal only)'


def test_a_journal_that_cannot_be_read_makes_log_errors_unknown(tmp_path, fake_journalctl):
    res = hc.run_checks(hc.normalize({'checks': ['logs'], 'logs': {'journal': ['redfire-backend', 'redfire-broken']}}))
    errors = res['checks'][1]
    assert (errors['status'], errors['value']) == ('unknown', 3), errors
    assert 'incomplete: journalctl failed for journal:unit=redfire-broken' in errors['message']
