"""Levels and the histogram of the log scan, the journal sources' option checks, and the report's table."""
import gzip
import json
import sys
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.redfire.ops.plugins.module_utils import log_journal, log_scan
from ansible_collections.redfire.ops.plugins.module_utils.log_report import render_report

CATS = {'db': r'DatabaseError', 'api': r'HTTPError', 'rt': r'RuntimeError'}
MESSAGES = [b'DatabaseError x', b'HTTPError 502', b'RuntimeError boom', b'DatabaseError and HTTPError', b'ok nothing']
LEVEL_WORDS = [b'ERROR', b'[warn]', b'FATAL', b'info', b'', b'<Notice>', b'x']


def _write(path, data):
    path.write_bytes(data)
    return str(path)


def test_levels_at_their_conventional_place_and_a_configured_regex(tmp_path):
    log = _write(tmp_path / 'app.log', b''.join([
        b'2024-05-01 08:00:00,123 ERROR DatabaseError one\n',
        b'2024-05-01 08:00:01 [WARN] HTTPError two\n',
        b'2024-05-01 08:00:02+08:00 fatal RuntimeError three\n',
        b'2024-05-01 08:00:03 worker ERROR RuntimeError four (the word is not at its place)\n',
        b'2024-05-01 08:00:04 <crit> DatabaseError five\n  RuntimeError in its trace\n',
        b'2024-05-01 08:00:05 INFO all fine\n',
    ]))
    res = log_scan.analyze([log], since='2024-05-01', until='2024-05-02', categories=CATS)
    assert res['level_counts'] == {'critical': 2, 'error': 1, 'warning': 1, 'unknown': 1}
    assert list(res['level_counts']) == ['critical', 'error', 'warning', 'unknown']  # most severe first
    assert sum(res['level_counts'].values()) == res['error_events'] == 5
    res = log_scan.analyze([log], since='2024-05-01', until='2024-05-02', categories=CATS,
                           level_regex=r'worker (\w+)')
    assert res['level_counts'] == {'error': 1, 'unknown': 4}
    with pytest.raises(log_scan.LogScanError) as err:
        log_scan.analyze([log], level_regex='(')
    assert err.value.option == 'level_regex'


def test_histogram_buckets_window_and_report(tmp_path):
    log = _write(tmp_path / 'app.log', b''.join([
        b'2024-05-01 08:10:00 ERROR DatabaseError a\n', b'2024-05-01 08:50:00 ERROR HTTPError b\n',
        b'2024-05-01 10:05:00 ERROR RuntimeError c\n', b'2024-05-01 12:00:00 ERROR RuntimeError outside\n',
    ]))
    res = log_scan.analyze([log], since='2024-05-01 07:30:00', until='2024-05-01 11:00:00', categories=CATS)
    hist = res['histogram']
    assert hist['bucket_seconds'] == 3600
    assert [b['start'] for b in hist['buckets']] == ['2024-05-01 07:00:00', '2024-05-01 08:00:00',
                                                     '2024-05-01 09:00:00', '2024-05-01 10:00:00',
                                                     '2024-05-01 11:00:00']
    assert [b['total'] for b in hist['buckets']] == [0, 2, 0, 1, 0]
    assert hist['buckets'][1]['counts'] == {'db': 1, 'api': 1, 'rt': 0}
    report = render_report(res, 'en')
    assert 'Errors over time (per 1h):\n  from                 db  api  rt  total\n' \
           '  2024-05-01 08:00:00   1    1   0      2\n  2024-05-01 10:00:00   0    0   1      1\n' \
           '  (3 buckets without errors not shown)\n' in report
    assert u'时间分布（每1h）' in render_report(res, 'zh')
    small = log_scan.analyze([log], since='2024-05-01 08:00:00', until='2024-05-01 08:59:59', categories=CATS,
                             histogram_bucket='15m')
    assert [b['total'] for b in small['histogram']['buckets']] == [1, 0, 0, 1]
    wide = log_scan.analyze([log], hours=24 * 400, now=datetime(2024, 5, 2), categories=CATS)
    assert wide['histogram']['bucket_seconds'] == 86400  # the default hour, widened for a long window
    for bad in ('0', '30s', '8d', 'hourly', True):
        with pytest.raises(log_scan.LogScanError) as err:
            log_scan.analyze([log], histogram_bucket=bad)
        assert err.value.option == 'histogram_bucket'
    with pytest.raises(log_scan.LogScanError) as err:
        log_scan.analyze([log], hours=24 * 30, histogram_bucket='1m')
    assert 'more than 1000 rows' in str(err.value)


def _events(draw_list, start):
    lines, expected = [], []
    for offset, msg, level, trace in draw_list:
        t = start + timedelta(seconds=offset)
        lines.append(t.strftime('%Y-%m-%d %H:%M:%S').encode() + b' ' + level + b' ' + msg)
        if trace:
            lines.append(b'  RuntimeError in the trace')
        expected.append((t, msg, trace))
    return b'\n'.join(lines) + b'\n', expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(st.tuples(st.integers(0, 5 * 86400), st.sampled_from(MESSAGES), st.sampled_from(LEVEL_WORDS),
                                  st.booleans()), max_size=60),
       bucket=st.sampled_from(['1m', '7m', '1h', '90m', '1d']), since_h=st.integers(0, 60), hours=st.integers(1, 80),
       gz=st.booleans(), workers=st.sampled_from([1, 3]))
def test_histogram_buckets_add_up_to_the_counts(tmp_path, entries, bucket, since_h, hours, gz, workers):
    """Whatever the events, window and bucket: each category's buckets add up to its count, every bucket of the
    window is listed once, in order, aligned to the bucket size, and the levels add up to the events."""
    start = datetime(2024, 5, 1)
    data, _expected = _events(sorted(entries), start)
    path = tmp_path / ('app.log.gz' if gz else 'app.log')
    path.write_bytes(gzip.compress(data) if gz else data)
    since = start + timedelta(hours=since_h)
    until = since + timedelta(hours=hours)
    try:
        res = log_scan.analyze([str(path)], since=since.strftime('%Y-%m-%d %H:%M:%S'),
                               until=until.strftime('%Y-%m-%d %H:%M:%S'), categories=CATS, histogram_bucket=bucket,
                               workers=workers, parallel_min_bytes=0, block_size=1024, include_rotated=False)
    except log_scan.LogScanError as exc:  # too many buckets for the window: only for the smallest ones
        assert exc.option == 'histogram_bucket' and bucket in ('1m', '7m')
        return
    hist = res['histogram']
    size = hist['bucket_seconds']
    for name, count in res['error_counts'].items():
        assert sum(b['counts'][name] for b in hist['buckets']) == count, name
    assert sum(b['total'] for b in hist['buckets']) == res['total_errors']
    starts = [datetime.strptime(b['start'], '%Y-%m-%d %H:%M:%S') for b in hist['buckets']]
    assert starts == sorted(set(starts))
    assert all(b - a == timedelta(seconds=size) for a, b in zip(starts, starts[1:]))
    assert starts[0] <= since < starts[0] + timedelta(seconds=size)
    assert starts[-1] <= until < starts[-1] + timedelta(seconds=size)
    assert all(int((s - datetime(1970, 1, 1)).total_seconds()) % size == 0 for s in starts)
    assert sum(res['level_counts'].values()) == res['error_events']


def test_journal_sources_are_checked_naming_the_option():
    good = log_journal.parse_sources(['redfire-backend', {'unit': 'a.service', 'matches': {'PRIORITY': [3, 4]}},
                                      {'matches': {'SYSLOG_IDENTIFIER': 'gw'}, 'name': 'gateway'}])
    assert good[0] == log_journal.JournalSource('journal:unit=redfire-backend', ('redfire-backend',), ())
    assert good[1].matches == ('PRIORITY=3', 'PRIORITY=4') and good[2].name == 'gateway'
    cmd = log_journal.journal_command(good[1], b'2024-05-01 08:00:00', b'2024-05-01 09:00:00',
                                      log_scan.tz_from_name('UTC'))
    assert cmd[-4:] == ['-u', 'a.service', 'PRIORITY=3', 'PRIORITY=4']
    assert cmd[cmd.index('--since') + 1] == '@1714550400' and cmd[cmd.index('--until') + 1] == '@1714554001'
    for bad, words in (({}, 'give unit and/or matches'), ({'unit': '-x'}, 'unit must be'),
                       ({'matches': {'lower': 'x'}}, 'not a journal field'), ({'matches': 'X=1'}, 'must be a dict'),
                       ({'unit': 'a', 'since': 1}, 'unknown key'), (3, 'must be a dict'),
                       ({'matches': {'A': {'b': 1}}}, 'text or a number')):
        with pytest.raises(log_scan.LogScanError) as err:
            log_scan.analyze([], journal=[bad])
        assert err.value.option == 'journal' and words in str(err.value), (bad, str(err.value))
    with pytest.raises(log_scan.LogScanError) as err:
        log_scan.analyze([], journal=[])
    assert err.value.option == 'paths'


def test_no_journalctl_is_a_status_of_the_source(tmp_path):
    log = _write(tmp_path / 'app.log', b'2024-05-01 08:00:00 ERROR DatabaseError a\n')
    res = log_scan.analyze([log], since='2024-05-01', until='2024-05-02', journal=['redfire-backend'],
                           journalctl=str(tmp_path / 'no-journalctl'))
    fs = res['files'][1]
    assert fs['status'] == 'error' and 'cannot run' in fs['error'] and fs['source'] == 'journal'
    assert res['total_errors'] == 1 and res['incomplete'] is True
    assert log_scan.file_problems(res['files']) == [(fs['path'], fs['error'])]


# A journalctl for the --grep tests: prints the JSON lines of $FAKE_JOURNAL, filtered by --grep (case-insensitive
# as asked) like the real one, or, with FAKE_NO_PCRE set, prints the first line and fails as a journalctl without
# PCRE2 does; records each command line in $FAKE_JOURNAL.calls.
FAKE_JOURNALCTL = r'''#!%s
import json, os, re, sys
args = sys.argv[1:]
with open(os.environ['FAKE_JOURNAL'] + '.calls', 'a') as calls:
    calls.write(json.dumps(args) + '\n')
lines = open(os.environ['FAKE_JOURNAL']).read().splitlines()
if '--grep' in args:
    if os.environ.get('FAKE_NO_PCRE'):
        print(lines[0], flush=True)
        sys.stderr.write('Compiled without pattern matching support\n')
        sys.exit(1)
    flags = re.I if '--case-sensitive=false' in args else 0
    rx = re.compile(args[args.index('--grep') + 1], flags)
    lines = [x for x in lines if rx.search(json.loads(x)['MESSAGE'])]
for line in lines:
    print(line)
'''


def _fake_journal(tmp_path, entries):
    data = tmp_path / 'journal.json'
    data.write_text(''.join(json.dumps({'__REALTIME_TIMESTAMP': str(1714550400000000 + i * 1000000),
                                        'PRIORITY': str(prio), 'MESSAGE': msg}) + '\n'
                            for i, (prio, msg) in enumerate(entries)))
    prog = tmp_path / 'journalctl'
    prog.write_text(FAKE_JOURNALCTL % sys.executable)
    prog.chmod(0o755)
    return str(prog), str(data)


def _journal_calls(data):
    with open(data + '.calls') as f:
        return [json.loads(x) for x in f]


JOURNAL_ENTRIES = [(6, 'all fine'), (3, 'DatabaseError: pool exhausted'), (4, 'httperror 502'),
                   (6, 'no error here'), (2, 'OrderError\n  at venue\nRuntimeError: down'), (6, 'errand done')]


def _journal_scan(journalctl, **kwargs):
    return log_scan.analyze([], since='2024-05-01 08:00:00', until='2024-05-01 09:00:00', timezone='UTC',
                            journal=[{'matches': {'SYSLOG_IDENTIFIER': 'x'}}], journalctl=journalctl, **kwargs)


def test_grep_pattern_is_the_prefilter_literals_escaped():
    assert log_journal.grep_pattern(log_scan.Matcher(log_scan.DEFAULT_CATEGORIES)) == 'error'
    matcher = log_scan.Matcher({'a': r'conn\.reset|Timeout \(5s\)', 'b': r'disk full'})
    assert matcher.mode == 'literals'
    assert log_journal.grep_pattern(matcher) == r'conn\.reset|disk full|timeout \(5s\)'
    assert log_journal.grep_pattern(log_scan.Matcher({'a': r'\d+ errors?'})) == ' error'
    assert log_journal.grep_pattern(log_scan.Matcher({'a': r'E\d{3}|W\d{3}'})) is None  # no literal of 3 bytes
    assert log_journal.grep_pattern(log_scan.Matcher({'a': 'Fehler: Datei ungültig'})) is None  # not ASCII
    cmd = log_journal.journal_command(log_journal.parse_sources(['a'])[0], None, None, None, grep='error',
                                      ignore_case=False)
    assert cmd[cmd.index('--grep') + 1:cmd.index('--grep') + 3] == ['error', '--case-sensitive=true']


def test_journalctl_greps_and_the_counts_are_those_of_every_entry(tmp_path, monkeypatch):
    journalctl, data = _fake_journal(tmp_path, JOURNAL_ENTRIES)
    monkeypatch.setenv('FAKE_JOURNAL', data)
    res = _journal_scan(journalctl)
    fs = res['files'][0]
    call = _journal_calls(data)[0]
    assert call[call.index('--grep'):call.index('--grep') + 3] == ['--grep', 'error', '--case-sensitive=false']
    assert fs['grep'] == 'error' and fs['status'] == 'scanned'
    # the entries journalctl passed: those with the literal ("no error here" is in no category, "errand" has none)
    assert fs['entries_read'] == 4
    assert res['error_counts'] == {'database_error': 1, 'api_error': 1, 'trading_error': 1, 'system_error': 1}
    assert res['level_counts'] == {'critical': 1, 'error': 1, 'warning': 1} and res['error_events'] == 3
    # the same counts when every entry is read (as for categories without literals)
    monkeypatch.setattr(log_journal, 'grep_pattern', lambda matcher: None)
    whole = _journal_scan(journalctl)
    assert whole['files'][0]['grep'] is None and whole['files'][0]['entries_read'] == len(JOURNAL_ENTRIES)
    for key in ('error_counts', 'level_counts', 'error_events', 'histogram', 'top_messages'):
        assert whole[key] == res[key], key


def test_a_journalctl_that_cannot_grep_is_read_again_without(tmp_path, monkeypatch):
    journalctl, data = _fake_journal(tmp_path, [(3, 'DatabaseError first')] + JOURNAL_ENTRIES)
    monkeypatch.setenv('FAKE_JOURNAL', data)
    monkeypatch.setenv('FAKE_NO_PCRE', '1')
    log = _write(tmp_path / 'app.log', b'2024-05-01 08:00:00 ERROR DatabaseError in the file\n')
    res = log_scan.analyze([log], since='2024-05-01 08:00:00', until='2024-05-01 09:00:00', timezone='UTC',
                           journal=['redfire-backend'], journalctl=journalctl, max_details=50)
    calls = _journal_calls(data)
    assert len(calls) == 2 and '--grep' in calls[0] and '--grep' not in calls[1]
    fs = res['files'][1]
    assert fs['status'] == 'scanned' and fs['error'] is None and fs['grep'] is None
    assert fs['entries_read'] == len(JOURNAL_ENTRIES) + 1 and res['incomplete'] is False
    # the line the failed run had read is counted once, beside the file's
    assert res['error_counts']['database_error'] == 3 and res['error_events'] == 5
    assert [d['file'] for d in res['error_details']].count(fs['path']) == 4
