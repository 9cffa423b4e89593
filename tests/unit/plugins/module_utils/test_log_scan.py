"""Unit tests of the log_scan core on real files: semantics, bad input, gzip, seek, formats, the report."""
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta

import pytest

from ansible_collections.redfire.ops.plugins.module_utils import log_analyzer, log_probe, log_scan
from ansible_collections.redfire.ops.plugins.module_utils.log_report import render_report

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))

GUIDE_LOG = (
    b"Traceback orphan line with RuntimeError before any timestamp\n"
    b"2024-05-01 07:59:59 ERROR DatabaseError: too early\n"
    b"2024-05-01 08:00:00 ERROR DatabaseError: connection refused to db-17 (first second, inclusive)\n"
    b"2024-05-01 08:00:05 INFO order placed id=12\n"
    b"2024-05-01 08:01:00 ERROR APIError and HTTPError in one line, also an OrderError\n"
    b"2024-05-01 08:02:00 ERROR unhandled exception in worker 7\n"
    b"Traceback (most recent call last):\n"
    b"  File \"/app/engine.py\", line 88, in run\n"
    b"RuntimeError: queue full\n"
    b"  also mentions runtimeerror again\n"
    b"2024-05-01T08:03:00 error: databaseerror lower case, T separator\n"
    b"2024-05-01 08:04:00 ERROR DatabaseError: connection refused to db-23\n"
    b"2024-05-01 09:00:00 ERROR TradingError: last second, inclusive\n"
    b"2024-05-01 09:00:01 ERROR TradingError: too late\n"
)


def _write(path, data):
    with open(str(path), 'wb') as f:
        f.write(data)
    return str(path)


def _gz(path, data):
    with gzip.open(str(path), 'wb') as f:
        f.write(data)
    return str(path)


def _analyze(paths, **kw):
    kw.setdefault('since', '2024-05-01 08:00:00')
    kw.setdefault('until', '2024-05-01 09:00:00')
    return log_scan.analyze(paths, **kw)


def test_guide_semantics_window_continuations_details_and_groups(tmp_path):
    log = _write(tmp_path / 'app.log', GUIDE_LOG)
    res = _analyze([log])
    # inclusive ends; multi-category line counts in each; the trace counts once for its event (system_error)
    assert res['error_counts'] == {'database_error': 3, 'api_error': 1, 'trading_error': 2, 'system_error': 1}
    assert res['total_errors'] == 7
    assert res['error_events'] == 6
    details = res['error_details']
    assert [d['time'] for d in details] == [
        '2024-05-01 08:00:00', '2024-05-01 08:01:00', '2024-05-01 08:02:00',
        '2024-05-01 08:03:00', '2024-05-01 08:04:00', '2024-05-01 09:00:00']
    assert details[1]['types'] == ['api_error', 'trading_error'] and details[1]['type'] == 'api_error'
    trace = details[2]
    assert trace['type'] == 'system_error' and trace['line'] == 6 and trace['file'] == log
    assert trace['message'] == '2024-05-01 08:02:00 ERROR unhandled exception in worker 7'
    assert trace['continuation'] == ['Traceback (most recent call last):', '  File "/app/engine.py", line 88, in run',
                                     'RuntimeError: queue full', '  also mentions runtimeerror again']
    groups = dict((t['message'], t) for t in res['top_messages'])
    db = groups['ERROR DatabaseError: connection refused to db-<n>']
    assert (db['count'], db['first_seen'], db['last_seen']) == (1, '2024-05-01 08:04:00', '2024-05-01 08:04:00')
    fs = res['files'][0]
    assert fs['status'] == 'scanned' and fs['lines_scanned'] == GUIDE_LOG.count(b'\n')
    assert fs['errors'] == 7 and fs['first_time'] == '2024-05-01 07:59:59'
    # max_details caps, max_context_lines caps, top_messages=0 disables grouping, case-sensitive option
    res = _analyze([log], max_details=2, max_context_lines=1, top_messages=0, ignore_case=False)
    assert len(res['error_details']) == 2 and res['top_messages'] == []
    assert res['error_counts'] == {'database_error': 2, 'api_error': 1, 'trading_error': 2, 'system_error': 1}
    res = _analyze([log], max_context_lines=1)
    assert res['error_details'][2]['continuation'] == ['Traceback (most recent call last):']


def test_message_grouping_normalises_numbers_and_ids(tmp_path):
    lines = b''.join(b'2024-05-01 08:%02d:00 ERROR OrderError order=%d ref=0x%x uuid=%s\n'
                     % (i, 1000 + i, 0xbeef + i, ('%08x-1234-4abc-8def-%012x' % (i, i)).encode())
                     for i in range(12))
    res = _analyze([_write(tmp_path / 'a.log', lines)])
    assert len(res['top_messages']) == 1
    top = res['top_messages'][0]
    assert top['message'] == 'ERROR OrderError order=<n> ref=<id> uuid=<id>'
    assert (top['count'], top['first_seen'], top['last_seen']) == (12, '2024-05-01 08:00:00', '2024-05-01 08:11:00')


def test_bad_files_are_reported_not_raised(tmp_path):
    good = _write(tmp_path / 'good.log', b'2024-05-01 08:00:00 DatabaseError\n')
    empty = _write(tmp_path / 'empty.log', b'')
    binary = _write(tmp_path / 'bin.log', b'\x00\x01\x02' * 1000 + b'\n2024-05-01 08:30:00 \x00\xff\xfe APIError \x00\n'
                    + os.urandom(4096).replace(b'\n', b' ') + b'\n')
    badutf = _write(tmp_path / 'utf.log', '2024-05-01 08:30:00 订单 TradingError '.encode('utf-8') + b'\xc3\x28\xa0\n')
    directory = tmp_path / 'adir'
    directory.mkdir()
    res = _analyze([good, empty, binary, badutf, str(directory), str(tmp_path / 'missing.log'),
                    str(tmp_path / 'nomatch-*.log')], include_rotated=False)
    by = dict((os.path.basename(f['path']), f) for f in res['files'])
    assert by['missing.log']['status'] == 'missing' and 'missing.log' in by['missing.log']['error']
    assert by['nomatch-*.log']['status'] == 'missing'
    assert by['adir']['status'] == 'error' and 'is a directory' in by['adir']['error']
    assert by['empty.log']['status'] == 'scanned' and by['empty.log']['lines_scanned'] == 0
    assert by['bin.log']['errors'] == 1 and by['utf.log']['errors'] == 1
    assert res['error_counts'] == {'database_error': 1, 'api_error': 1, 'trading_error': 1, 'system_error': 0}
    msgs = dict((d['file'], d['message']) for d in res['error_details'])
    assert msgs[badutf] == u'2024-05-01 08:30:00 订单 TradingError \ufffd(\ufffd'
    assert u'\ufffd\ufffd APIError' in msgs[binary]
    assert res['stats']['files_failed'] == 3 and res['stats']['files_scanned'] == 4


def test_permission_denied_when_not_root(tmp_path):
    """A file the (unprivileged) reader cannot open is reported; the others are still analysed."""
    work = tempfile.mkdtemp(prefix='redfire-logperm-')
    try:
        os.chmod(work, 0o755)
        ok = _write(os.path.join(work, 'ok.log'), b'2024-05-01 08:00:00 HTTPError\n')
        secret = _write(os.path.join(work, 'secret.log'), b'2024-05-01 08:00:00 HTTPError\n')
        os.chmod(ok, 0o644)
        os.chmod(secret, 0o600)
        code = ("import json,sys; from ansible_collections.redfire.ops.plugins.module_utils import log_scan as s;"
                "r=s.analyze(sys.argv[1:], since='2024-05-01', until='2024-05-02');"
                "print(json.dumps([r['error_counts']['api_error'], r['files']]))")
        env = {'PYTHONPATH': os.path.join(ROOT, '.build', 'collections'), 'LANG': 'C'}
        kwargs = {'user': 65534} if os.geteuid() == 0 else {}
        proc = subprocess.run(['/usr/bin/python3', '-c', code, ok, secret], env=env, capture_output=True,
                              text=True, timeout=60, check=False, **kwargs)
        assert proc.returncode == 0, proc.stderr
        import json
        count, files = json.loads(proc.stdout)
        assert count == 1
        by = dict((os.path.basename(f['path']), f) for f in files)
        assert by['ok.log']['status'] == 'scanned'
        assert by['secret.log']['status'] == 'error' and 'Permission denied' in by['secret.log']['error']
    finally:
        shutil.rmtree(work)


def test_long_lines_are_analysed_and_capped(tmp_path):
    ten_mb = b'2024-05-01 08:00:00 start ' + b'x' * (10 << 20) + b' RuntimeError at the end\n'
    data = ten_mb + b'2024-05-01 08:00:01 APIError after the long line\n'
    log = _write(tmp_path / 'long.log', data)
    res = _analyze([log])
    assert res['error_counts'] == {'database_error': 0, 'api_error': 1, 'trading_error': 0, 'system_error': 1}
    assert res['files'][0]['long_lines_truncated'] == 0
    assert len(res['error_details'][0]['message']) <= log_scan.MAX_MESSAGE
    # with a 1 MiB cap the match after the cap is not seen, the next line still is, and the cut is reported
    res = _analyze([log], max_line_bytes=1 << 20)
    assert res['error_counts'] == {'database_error': 0, 'api_error': 1, 'trading_error': 0, 'system_error': 0}
    assert res['files'][0]['long_lines_truncated'] == 1
    assert res['files'][0]['bytes_scanned'] == len(data) and res['files'][0]['lines_scanned'] == 2


def test_gzip_plain_equivalence_truncation_and_multimember(tmp_path):
    plain = _write(tmp_path / 'app.log', GUIDE_LOG * 50)
    gz = _gz(tmp_path / 'copy.log.gz', GUIDE_LOG * 50)
    named = _gz(tmp_path / 'no-suffix', GUIDE_LOG * 50)  # recognised by content
    a, b, c = (_analyze([p], include_rotated=False, seek=False) for p in (plain, gz, named))
    assert a['error_counts'] == b['error_counts'] == c['error_counts']
    assert b['files'][0]['compressed'] and b['files'][0]['bytes_scanned'] == len(GUIDE_LOG) * 50
    # multi-member gzip (concatenated members, as `cat a.gz b.gz` gives)
    with open(gz, 'rb') as f:
        member = f.read()
    multi = _write(tmp_path / 'multi.gz', member + member)
    res = _analyze([multi], include_rotated=False)
    assert res['total_errors'] == 2 * a['total_errors'] and not res['files'][0]['warnings']
    # truncated gzip: counts up to the cut, a warning, no exception
    cut = _write(tmp_path / 'cut.gz', member[:len(member) // 2])
    res = _analyze([cut], include_rotated=False)
    fs = res['files'][0]
    assert fs['status'] == 'scanned' and 'truncated gzip' in fs['warnings'][0]
    assert 0 < res['total_errors'] < a['total_errors']
    corrupt = _write(tmp_path / 'bad.gz', member[:20] + b'\x00garbage' * 50)
    res = _analyze([corrupt], include_rotated=False)
    assert res['files'][0]['warnings'] and res['files'][0]['status'] == 'scanned'


def _minutes_log(start, minutes, every=7):
    out = []
    for i in range(minutes):
        ts = (start + timedelta(minutes=i)).strftime('%Y-%m-%d %H:%M:%S').encode()
        out.append(ts + b' INFO heartbeat seq=%d padding %s\n' % (i, b'p' * 60))
        if i % every == 0:
            out.append(ts + b' ERROR DatabaseError: lost connection %d\n' % i)
            out.append(b'Traceback (most recent call last):\nRuntimeError: boom\n')
    return b''.join(out)


def test_seek_and_rotation_skip_agree_with_full_scan(tmp_path):
    start = datetime(2024, 5, 1)
    data = _minutes_log(start, 3000)
    log = _write(tmp_path / 'app.log', data)
    old = _minutes_log(start - timedelta(days=3), 1000)
    _gz(tmp_path / 'app.log.2.gz', old)
    _write(tmp_path / 'app.log.1', _minutes_log(start - timedelta(days=1), 1000))
    window = dict(since='2024-05-02 10:00:00', until='2024-05-02 11:00:00')
    fast = log_scan.analyze([log], probe_size=4096, block_size=16384, **window)
    full = log_scan.analyze([log], seek=False, **window)
    assert fast['error_counts'] == full['error_counts'] and fast['total_errors'] > 0
    # minutes 2040..2100 of the file are in the window; errors every 7 minutes
    assert fast['error_counts']['database_error'] == len([i for i in range(2040, 2101) if i % 7 == 0])
    names = [os.path.basename(f['path']) for f in fast['files']]
    assert names == ['app.log.2.gz', 'app.log.1', 'app.log']
    gzf, one, cur = fast['files']
    assert gzf['status'] == 'skipped' and gzf['skipped_outside_window'] and gzf['bytes_scanned'] == 0
    assert one['status'] == 'skipped' and one['bytes_scanned'] == 0
    assert cur['seek_used'] and cur['stopped_early'] and cur['probes'] > 5
    assert cur['bytes_scanned'] < len(data) // 10
    assert full['files'][2]['bytes_scanned'] == len(data)
    assert [d['line'] for d in full['error_details']][:1] == [data[:full['error_details'][0]['offset']].count(b'\n') + 1]
    assert fast['error_details'][0]['line'] is None
    assert fast['error_details'][0]['offset'] == full['error_details'][0]['offset']
    # the window's end inside a trace: the event before the end keeps its trace lines counted
    exact = log_scan.analyze([log], since='2024-05-02 10:04:00', until='2024-05-02 10:04:00', probe_size=4096)
    assert exact['error_counts']['system_error'] == exact['error_counts']['database_error'] == 1


def test_out_of_order_file_falls_back_to_full_scan(tmp_path):
    start = datetime(2024, 5, 1)
    data = _minutes_log(start, 3000)
    # five in-window errors written early in the file (before the seek point) ...
    early = b''.join(b'2024-05-02 10:30:%02d ERROR TradingError written early\n' % i for i in range(5))
    # ... and one old line inside the window's region, which the seek-mode scan meets
    old = b'2024-05-01 00:00:30 ERROR DatabaseError flushed late\n'
    at10 = data.index(b'\n', len(data) // 10) + 1
    atwin = data.index(b'2024-05-02 10:20:00')
    log = _write(tmp_path / 'app.log', data[:at10] + early + data[at10:atwin] + old + data[atwin:])
    window = dict(since='2024-05-02 10:00:00', until='2024-05-02 11:00:00', include_rotated=False)
    fast = log_scan.analyze([log], probe_size=4096, block_size=16384, **window)
    full = log_scan.analyze([log], seek=False, **window)
    assert fast['files'][0]['order_broken'] is True and fast['files'][0]['seek_used'] is False
    assert fast['files'][0]['bytes_scanned'] == full['files'][0]['bytes_scanned']
    assert fast['error_counts'] == full['error_counts']
    assert full['error_counts']['trading_error'] == 5


def test_file_truncated_or_rotated_while_being_read(tmp_path, monkeypatch):
    data = _minutes_log(datetime(2024, 5, 1), 2000, every=1)
    expected = log_scan.analyze([_write(tmp_path / 'ref.log', data)], since='2024-05-01', until='2024-05-03',
                                block_size=4096)
    real = log_analyzer.range_blocks

    def tamper(action):
        def blocks(fd, start, stop, size):
            for i, block in enumerate(real(fd, start, stop, size)):
                yield block
                if i == 1:
                    action()
        return blocks

    rot = _write(tmp_path / 'rot.log', data)
    monkeypatch.setattr(log_analyzer, 'range_blocks', tamper(lambda: (os.rename(rot, rot + '.1'), _write(rot, b''))))
    res = log_scan.analyze([rot], since='2024-05-01', until='2024-05-03', block_size=4096, include_rotated=False)
    assert res['error_counts'] == expected['error_counts']  # the open file keeps being read after the rename

    trunc = _write(tmp_path / 'trunc.log', data)
    monkeypatch.setattr(log_analyzer, 'range_blocks', tamper(lambda: os.truncate(trunc, 100)))
    res = log_scan.analyze([trunc], since='2024-05-01', until='2024-05-03', block_size=4096, include_rotated=False)
    assert res['files'][0]['status'] == 'scanned'
    assert 0 < res['total_errors'] < expected['total_errors']
    assert res['files'][0]['bytes_scanned'] <= 3 * 4096


@pytest.mark.parametrize('kwargs, option, text', [
    (dict(categories={'db': 'DatabaseError', 'broken': 'Error(['}), 'categories', 'category broken'),
    (dict(categories={'all': 'x*'}), 'categories', 'matches the empty string'),
    (dict(categories={}), 'categories', 'non-empty'),
    (dict(timezone='Mars/Olympus'), 'timezone', 'Mars/Olympus'),
    (dict(since='yesterday-ish'), 'since', 'is not a time'),
    (dict(since='2024-05-02', until='2024-05-01'), 'since', 'after until'),
    (dict(hours=0, since=None, until=None), 'hours', 'positive'),
    (dict(hours=2, since='-1h'), 'hours', 'not both'),
    (dict(max_details=-1), 'max_details', 'positive'),
    (dict(workers=-2), 'workers', 'positive'),
    (dict(timestamp_regex='(', timestamp_format=None), 'timestamp_regex', 'not a valid'),
    (dict(json_time_field='ts', timestamp_format='%Y'), 'json_time_field', 'cannot be combined'),
    (dict(timestamp_format='%Y-%m-%d %Q'), 'timestamp_format', '%Q'),
    (dict(paths=[]), 'paths', 'at least one'),
])
def test_bad_options_name_the_option(tmp_path, kwargs, option, text):
    log = _write(tmp_path / 'a.log', GUIDE_LOG)
    kwargs.setdefault('paths', [log])
    with pytest.raises(log_scan.LogScanError) as err:
        _analyze(**kwargs)
    assert err.value.option == option and text in str(err.value)


def test_timestamp_styles_and_time_zones(tmp_path):
    jsonl = _write(tmp_path / 'a.jsonl', b'\n'.join([
        b'{"ts": "2024-05-01T00:30:00Z", "msg": "DatabaseError in UTC"}',          # 08:30 at +08:00
        b'{"ts": "2024-05-01T08:40:00.123+08:00", "msg": "APIError"}',
        b'{"ts": 1714524600, "msg": "OrderError epoch"}',                          # 2024-05-01 00:50 UTC
        b'{"ts": 1714524600000, "msg": "SystemError epoch ms"}',
        b'{"ts": "2024-05-01T07:00:00Z", "msg": "DatabaseError outside"}',
        b'{"msg": "RuntimeError continuation of the previous event"}',
    ]) + b'\n')
    res = _analyze([jsonl], json_time_field='ts', timezone='+08:00')
    assert res['error_counts'] == {'database_error': 1, 'api_error': 1, 'trading_error': 1, 'system_error': 1}
    assert [d['time'] for d in res['error_details']] == [
        '2024-05-01 08:30:00', '2024-05-01 08:40:00', '2024-05-01 08:50:00', '2024-05-01 08:50:00']
    # the same window given as UTC with an offset in since/until, logs written in UTC
    res = _analyze([jsonl], json_time_field='ts', timezone='UTC', since='2024-05-01T08:00:00+08:00',
                   until='2024-05-01T01:00:00Z')
    assert res['total_errors'] == 4 and res['window']['since'] == '2024-05-01 00:00:00'
    apache = _write(tmp_path / 'access.log', b'127.0.0.1 - - [01/May/2024:08:15:00 +0000] "GET /x" 502 HTTPError\n'
                    b'127.0.0.1 - - [01/May/2024:09:15:00 +0000] "GET /y" 502 HTTPError\n')
    res = _analyze([apache], timestamp_regex=r'\[([^\]]+)\]', timestamp_format='%d/%b/%Y:%H:%M:%S %z',
                   timezone='UTC')
    assert res['error_counts']['api_error'] == 1 and res['stats']['prefilter'] == 'literal'
    syslog = _write(tmp_path / 'syslog', b'May  1 08:20:00 host app: RuntimeError x\nMay  1 10:20:00 host app: '
                    b'RuntimeError y\n')
    now = datetime(2024, 5, 1, 9, 0, 0)
    res = log_scan.analyze([syslog], hours=1, timestamp_format='%b %d %H:%M:%S', now=now)
    assert res['error_counts']['system_error'] == 1 and res['window']['relative'] is True
    res = log_scan.analyze([_write(tmp_path / 'b.log', GUIDE_LOG)], until='2024-05-01 09:00:00', hours=0.5)
    assert res['window'] == {'since': '2024-05-01 08:30:00', 'until': '2024-05-01 09:00:00', 'hours': 0.5,
                             'relative': True, 'timezone': 'local'}
    assert res['error_counts']['trading_error'] == 1
    res = log_scan.analyze([_write(tmp_path / 'c.log', GUIDE_LOG)], since='-30m', now=datetime(2024, 5, 1, 9, 0))
    assert res['window']['since'] == '2024-05-01 08:30:00' and res['window']['until'] == '2024-05-01 09:00:00'


def test_prefilter_modes_agree_with_plain_regexes(tmp_path):
    log = _write(tmp_path / 'a.log', GUIDE_LOG + b'2024-05-01 08:30:00 latency 1500ms timeout on GET /orders\n')
    assert log_scan.Matcher(log_scan.DEFAULT_CATEGORIES).mode == 'literal'
    cats = {'db': 'DatabaseError', 'slow': r'timeout|latency \d+ms', 'orders': 'Order(Error)?'}
    m = log_scan.Matcher(cats)
    assert m.mode == 'literals' and set(m.needles) == {b'databaseerror', b'timeout', b'latency ', b'order'}
    res = _analyze([log], categories=cats)
    assert res['error_counts'] == {'db': 3, 'slow': 1, 'orders': 3}  # 'order placed' too: case-insensitive
    cats = {'slow': r'\d{4}ms', 'any_error': r'[a-z]+Error'}
    assert log_scan.Matcher(cats).mode == 'regex'
    res = _analyze([log], categories=cats, ignore_case=False)
    assert res['error_counts'] == {'slow': 1, 'any_error': 5}
    # an inline (?i) in a case-sensitive analysis must not be defeated by the prefilter
    res = _analyze([log], categories={'db': '(?i)DATABASEERROR'}, ignore_case=False)
    assert res['error_counts'] == {'db': 3}


def test_report_in_chinese_and_english(tmp_path):
    res = log_scan.analyze([_write(tmp_path / 'a.log', GUIDE_LOG)], hours=24, now=datetime(2024, 5, 1, 9, 30))
    zh = render_report(res)
    assert zh.startswith(u'RedFire系统错误分析报告\n生成时间: ')
    assert u'\n分析范围: 最近24小时\n总错误数: 9\n\n错误类型统计:\n- database_error: 4次\n- api_error: 1次\n' in zh
    assert u'\n详细错误信息:\n- 2024-05-01 07:59:59 [database_error]: 2024-05-01 07:59:59 ERROR DatabaseError' in zh
    assert u'\n    RuntimeError: queue full\n' in zh and u'高频错误消息' in zh
    en = render_report(res, 'en')
    assert u'Analysis range: last 24 hours\nTotal errors: 9\n\nErrors by type:\n- database_error: 4\n' in en
    res = _analyze([_write(tmp_path / 'b.log', GUIDE_LOG), str(tmp_path / 'gone.log')])
    en = render_report(res, 'en')
    assert u'Analysis range: 2024-05-01 08:00:00 to 2024-05-01 09:00:00' in en
    assert u'File problems:\n- %s: no such file' % (tmp_path / 'gone.log') in en
    with pytest.raises(ValueError):
        render_report(res, 'fr')


def test_core_has_no_ansible_imports():
    for name in ('log_scan', 'log_time', 'log_report', 'log_patterns', 'log_readers', 'log_probe', 'log_analyzer',
                 'log_workers'):
        path = os.path.join(ROOT, 'plugins', 'module_utils', name + '.py')
        with open(path) as f:
            text = f.read()
        assert 'from ansible.' not in text and 'import ansible.' not in text, name
    assert sys.version_info >= (3, 8)


def test_rotated_siblings_oldest_first(tmp_path):
    for name in ('app.log', 'app.log.1', 'app.log.2.gz', 'app.log.10.gz', 'app.log.bak', 'other.log',
                 'other.log-20240502', 'other.log-20240501.gz', 'other.log-20240430'):
        (tmp_path / name).write_bytes(b'')
    families, missing = log_scan.expand_paths([str(tmp_path / 'app.log'), str(tmp_path / 'other.*'),
                                               str(tmp_path / 'none.log')])
    names = [[os.path.basename(p) for p in fam] for fam in families]
    assert names == [['app.log.10.gz', 'app.log.2.gz', 'app.log.1', 'app.log'],
                     ['other.log-20240430', 'other.log-20240501.gz', 'other.log-20240502', 'other.log']]
    assert missing == [str(tmp_path / 'none.log')]
    families, _missing = log_scan.expand_paths([str(tmp_path / 'app.log')], include_rotated=False)
    assert families == [[str(tmp_path / 'app.log')]]


def test_live_log_growing_during_the_scan_keeps_the_seek(tmp_path, monkeypatch):
    """Lines appended after the probes are newer than the probed last timestamp: not a disorder."""
    start = datetime(2024, 5, 1)
    data = _minutes_log(start, 3000)
    log = _write(tmp_path / 'app.log', data)
    real = log_analyzer.range_blocks

    def blocks(fd, start, stop, size):
        for i, block in enumerate(real(fd, start, stop, size)):
            if i == 0:
                with open(log, 'ab') as out:  # a writer appends, hours later, while we read
                    out.write(b'2024-05-03 06:00:00 ERROR RuntimeError: appended while scanning\n')
            yield block
    monkeypatch.setattr(log_analyzer, 'range_blocks', blocks)
    res = log_scan.analyze([log], since='2024-05-03 01:00:00', until='2024-05-03 07:00:00', probe_size=4096,
                           block_size=16384, include_rotated=False)
    fs = res['files'][0]
    assert fs['seek_used'] and not fs['order_broken']
    assert res['error_counts']['system_error'] == len([i for i in range(2940, 3000) if i % 7 == 0]) + 1


def test_classifier_only_where_one_literal_per_needle_position(tmp_path):
    """The default categories are told apart by look-arounds at the shared needle; overlapping literals of
    different categories (or a needle whose occurrences overlap) go line by line, with the same counts."""
    assert log_scan.Matcher(log_scan.DEFAULT_CATEGORIES).classifier is not None
    overlapping = {'db': 'DatabaseError', 'base': 'BaseError|DataBase'}
    m = log_scan.Matcher(overlapping)
    assert m.mode == 'literal' and m.classifier is None
    log = _write(tmp_path / 'a.log', b'2024-05-01 08:10:00 DatabaseError\n2024-05-01 08:11:00 BaseError\n')
    assert _analyze([log], categories=overlapping)['error_counts'] == {'db': 1, 'base': 2}
    assert log_scan.Matcher({'a': 'xabab', 'b': 'ababy'}).classifier is None  # 'abab' overlaps itself
    separate = {'a': 'fooError', 'b': 'barError'}
    assert log_scan.Matcher(separate).classifier is not None
    log = _write(tmp_path / 'b.log', b'2024-05-01 08:10:00 barerror FOOERROR\n2024-05-01 08:11:00 error\n')
    assert _analyze([log], categories=separate)['error_counts'] == {'a': 1, 'b': 1}


def test_parallel_scan_of_a_large_file_equals_the_sequential_one(tmp_path):
    """Several ranges, events whose traces cross the split points, details with line numbers, groups."""
    body = []
    for i in range(3000):
        stamp = b'2024-05-01 08:%02d:%02d' % (i // 60 % 60, i % 60)
        body.append(stamp + b' ERROR OrderError order=%d' % i if i % 7 == 0 else stamp + b' INFO ok %d' % i)
        if i % 11 == 0:
            body.append(b'Traceback (most recent call last):\n  RuntimeError: boom %d' % i)
    log = _write(tmp_path / 'big.log', b'\n'.join(body) + b'\n')
    one = _analyze([log], workers=1, parallel_min_bytes=0, max_details=50, block_size=4096)
    four = _analyze([log], workers=4, parallel_min_bytes=0, max_details=50, block_size=4096)
    assert four['files'][0]['workers'] == 4 and one['files'][0]['workers'] == 1
    for key in ('error_counts', 'error_events', 'error_details', 'top_messages', 'level_counts', 'histogram'):
        assert four[key] == one[key], key
    assert one['error_counts']['system_error'] > 0 and one['error_details'][-1]['line'] > 100
    assert _analyze([log], workers=4)['files'][0]['workers'] == 1  # small files stay in one process


FIRST_TIME_CASES = [
    # the line's first match is not a valid time: the line has no timestamp (its later match does not count)
    ({'timestamp_format': '%Y-%m-%d %H:%M:%S'},
     b'boot 2024-13-45 10:00:00 then 2024-05-01 09:00:00\n'),
    # a match that runs over a line end is no timestamp
    ({'timestamp_regex': r'(\d{4}-\d\d-\d\d\s+\d\d:\d\d:\d\d)'},
     b'wrapped 2024-05-01\n10:30:00 half on the next line\n'),
]


@pytest.mark.parametrize('gz', [False, True])
@pytest.mark.parametrize('style,head', FIRST_TIME_CASES, ids=['invalid-first-match', 'across-lines'])
def test_first_time_is_the_first_line_whose_timestamp_is_valid(tmp_path, gz, style, head):
    """A line's timestamp is the first match of the timestamp regex within it: in the scan's first_time and in the
    probes that bound rotated files alike."""
    text = head + b'2024-05-01 11:00:00 ERROR DatabaseError: refused\n2024-05-01 12:00:00 INFO ok\n'
    path = tmp_path / ('app.log.gz' if gz else 'app.log')
    path.write_bytes(gzip.compress(text) if gz else text)
    res = log_scan.analyze([str(path)], since='2024-05-01 00:00:00', until='2024-05-02 00:00:00', seek=False, **style)
    fs = res['files'][0]
    assert fs['first_time'] == '2024-05-01 11:00:00' and res['total_errors'] == 1, fs
    ts_regex, keyf = log_scan.make_key_function(style.get('timestamp_regex'), style.get('timestamp_format'))
    an = log_scan.Analyzer(log_scan.Matcher(log_scan.DEFAULT_CATEGORIES), keyf, ts_regex, None, None)
    assert log_probe.first_key_of(an, str(path)) == b'2024-05-01 11:00:00'


def test_a_file_without_any_timestamp_says_so(tmp_path):
    """Nothing in a file whose lines the timestamp format never matches can count: a warning, not a silent 0."""
    (tmp_path / 'syslog.log').write_text('May  1 10:00:00 host app: ERROR DatabaseError: refused\n')
    (tmp_path / 'empty.log').write_text('')
    (tmp_path / 'app.log').write_text('2024-05-01 10:00:00 ERROR DatabaseError: refused\n')
    res = log_scan.analyze([str(tmp_path / n) for n in ('syslog.log', 'empty.log', 'app.log')],
                           since='2024-05-01 00:00:00', until='2024-05-02 00:00:00', include_rotated=False)
    warnings = dict((f['path'].rsplit('/', 1)[1], f['warnings']) for f in res['files'])
    assert warnings['empty.log'] == [] and warnings['app.log'] == []
    assert len(warnings['syslog.log']) == 1 and 'no line with a timestamp' in warnings['syslog.log'][0]
    assert res['total_errors'] == 1
