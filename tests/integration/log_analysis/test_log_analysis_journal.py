"""redfire.ops.log_analysis reading the real journal of a systemd container: a unit that logs categorised errors
(one multi-line message) before, inside and after the window, counted against a reference computed here from
`journalctl -o json`; a syslog identifier match; a unit that does not exist; a user who may not read the journal;
a window with nothing in it."""
import json
import re
from datetime import datetime, timezone

import pytest

from tests.conftest import run
from tests.lib.containers import SystemdContainer

UNIT = 'redfire-jlog.service'
CATEGORIES = {'database_error': r'DatabaseError|ConnectionError', 'api_error': r'APIError|HTTPError',
              'trading_error': r'TradingError|OrderError', 'system_error': r'SystemError|RuntimeError'}

# Writes entries through journald's native protocol (a multi-line MESSAGE stays one entry; PRIORITY as given).
WRITER = r'''
import socket, sys
def send(priority, message, ident="redfire-jlog"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.connect("/run/systemd/journal/socket")
    m = message.encode()
    s.send(b"PRIORITY=%d\nSYSLOG_IDENTIFIER=%s\nMESSAGE\n" % (priority, ident.encode()) + len(m).to_bytes(8, "little")
           + m + b"\n")
    s.close()
phase = sys.argv[1]
for i in range(int(sys.argv[2])):
    send(3, "%s DatabaseError: pool exhausted id=%d" % (phase, i))
    send(4, "%s HTTPError 502 from gateway" % phase)
    send(6, "%s INFO heartbeat ok seq=%d" % (phase, i))
    send(2, "%s OrderError: rejected order=%d\n  at venue.submit\nRuntimeError: venue down" % (phase, i))
send(3, "%s TradingError from the other identifier" % phase, ident="redfire-gw")
'''


def _module(box, args, check=True, user=None):
    inventory = box.inventory(str(box.tmp / 'inv.yml'), **({'ansible_user': user} if user else {}))
    cmd = ['ansible', 'all', '-i', inventory, '-m', 'redfire.ops.log_analysis', '-a', json.dumps(args)]
    proc = run(cmd, check=False, timeout=300)
    head, sep, body = proc.stdout.partition(' => ')
    assert sep, 'no result in output:\n%s\n%s' % (proc.stdout, proc.stderr)
    result = json.loads(body)
    if check:
        assert proc.returncode == 0 and 'SUCCESS' in head, proc.stdout + proc.stderr
    return proc, result


def _utc(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).strftime('%Y-%m-%d %H:%M:%S')


def _reference(box, args, since, until):
    """Counts computed simply: every entry of `journalctl -o json`, its MESSAGE against each category."""
    out = box.exec('journalctl -o json --no-pager %s' % args).stdout
    counts = dict((n, 0) for n in CATEGORIES)
    levels, events = {}, 0
    names = ['emergency', 'alert', 'critical', 'error', 'warning', 'notice', 'info', 'debug']
    for line in out.splitlines():
        entry = json.loads(line)
        second = int(entry['__REALTIME_TIMESTAMP']) // 1000000
        if not since <= second <= until:
            continue
        hit = [n for n, rx in CATEGORIES.items() if re.search(rx, entry.get('MESSAGE', ''), re.I | re.M)]
        for name in hit:
            counts[name] += 1
        if hit:
            events += 1
            level = names[int(entry['PRIORITY'])]
            levels[level] = levels.get(level, 0) + 1
    return counts, levels, events


def _entries(box, args, since, until, word=None):
    """Entries of `journalctl -o json ARGS` in the window, those whose MESSAGE holds ``word`` (any case) if given."""
    out = box.exec('journalctl -o json --no-pager %s' % args).stdout
    entries = [json.loads(line) for line in out.splitlines()]
    return sum(1 for e in entries if since <= int(e['__REALTIME_TIMESTAMP']) // 1000000 <= until
               and (word is None or word in str(e.get('MESSAGE', '')).lower()))


@pytest.fixture(scope='module')
def box(tmp_path_factory):
    with SystemdContainer('logjournal') as c:
        c.tmp = tmp_path_factory.mktemp('journal')
        c.exec("cat > /tmp/writer.py <<'EOF'\n%sEOF" % WRITER)
        c.exec('useradd -m -s /bin/sh redfire-reader')
        # before the window, in it, after it: a gap of over a second on both sides (the window is whole seconds)
        c.exec('systemd-run --wait --unit=%s -p Type=oneshot /usr/bin/python3 /tmp/writer.py before 3' % UNIT)
        window = c.exec('sleep 1.2; date +%%s; systemd-run --wait --unit=%s -p Type=oneshot /usr/bin/python3 '
                        '/tmp/writer.py inside 5 >/dev/null 2>&1; date +%%s; sleep 1.2' % UNIT).stdout.split()
        c.exec('systemd-run --wait --unit=%s -p Type=oneshot /usr/bin/python3 /tmp/writer.py after 4' % UNIT)
        c.since, c.until = int(window[0]), int(window[1])
        yield c


def test_unit_and_identifier_in_the_window_equal_the_reference(box):
    args = {'journal': [{'unit': UNIT}, {'matches': {'SYSLOG_IDENTIFIER': 'redfire-gw'}, 'name': 'gateway'},
                        'redfire-nosuch.service'],
            'since': _utc(box.since), 'until': _utc(box.until), 'timezone': 'UTC', 'language': 'en',
            'histogram_bucket': '1m', 'max_details': 50}
    _proc, r = _module(box, args)
    # the sources are counted one after the other: the gateway's entry, logged by the unit, is in both
    counts, levels, events = _reference(box, '-u %s' % UNIT, box.since, box.until)
    gw_counts, gw_levels, gw_events = _reference(box, 'SYSLOG_IDENTIFIER=redfire-gw', box.since, box.until)
    for name, count in gw_counts.items():
        counts[name] += count
    for name, count in gw_levels.items():
        levels[name] = levels.get(name, 0) + count
    events += gw_events
    assert r['error_counts'] == counts and r['level_counts'] == levels and r['error_events'] == events
    # 5 rounds inside the window: the multi-line OrderError/RuntimeError message is one event in two categories
    assert counts == {'database_error': 5, 'api_error': 5, 'trading_error': 7, 'system_error': 5}
    assert levels == {'critical': 5, 'error': 7, 'warning': 5}
    multi = [d for d in r['error_details'] if 'OrderError' in d['message']]
    assert len(multi) == 5 and multi[0]['types'] == ['trading_error', 'system_error']
    assert multi[0]['continuation'] == ['  at venue.submit', 'RuntimeError: venue down']
    assert all(d['message'].startswith('inside ') for d in r['error_details'])
    files = dict((f['path'], f) for f in r['files'])
    unit = files['journal:unit=%s' % UNIT]
    assert unit['status'] == 'scanned' and unit['source'] == 'journal'
    # journalctl --grep passed only the entries with the categories' literal: 3 of the 4 per round, not the heartbeat
    assert unit['grep'] == 'error' and unit['entries_read'] == _entries(box, '-u %s' % UNIT, box.since, box.until, 'error')
    assert 3 * 5 <= unit['entries_read'] < _entries(box, '-u %s' % UNIT, box.since, box.until)
    assert files['gateway']['status'] == 'scanned' and files['gateway']['errors'] == 1
    missing = files['journal:unit=redfire-nosuch.service']
    assert missing['status'] == 'missing' and 'redfire-nosuch.service' in missing['error']
    assert r['problems'] == [missing['error']] and r['incomplete'] is True
    hist = r['histogram']
    assert hist['bucket_seconds'] == 60
    for name, count in counts.items():
        assert sum(b['counts'][name] for b in hist['buckets']) == count
    assert 'Errors by level:\n- critical: 5\n- error: 7\n- warning: 5\n' in r['report']
    assert 'Errors over time (per 1m):' in r['report']
    top = dict((t['message'], t['count']) for t in r['top_messages'])
    assert top['inside DatabaseError: pool exhausted id=<n>'] == 5


# A journalctl as one built without PCRE2 answers --grep; any other call runs the real one.
NO_PCRE2_JOURNALCTL = r'''#!/bin/sh
for arg in "$@"; do
    if [ "$arg" = --grep ]; then echo 'Compiled without pattern matching support' >&2; exit 1; fi
done
exec /usr/bin/journalctl "$@"
'''


def test_a_journalctl_without_pcre2_reads_every_entry_and_counts_the_same(box):
    """A journalctl built without PCRE2 refuses --grep. Debian's cannot be made so here (libselinux, which every
    program in the container loads, needs libpcre2), so /usr/local/bin/journalctl does as such a build does and
    otherwise runs the real one. The source is read again without --grep, with the same counts."""
    args = {'journal': [{'unit': UNIT}], 'since': _utc(box.since), 'until': _utc(box.until), 'timezone': 'UTC'}
    _proc, with_grep = _module(box, args)
    box.exec("cat > /usr/local/bin/journalctl <<'EOF'\n%sEOF\nchmod 755 /usr/local/bin/journalctl" % NO_PCRE2_JOURNALCTL)
    try:
        _proc, r = _module(box, args)
    finally:
        box.exec('rm -f /usr/local/bin/journalctl')
    fs = r['files'][0]
    assert fs['status'] == 'scanned' and fs['grep'] is None
    assert fs['entries_read'] == _entries(box, '-u %s' % UNIT, box.since, box.until) >= 4 * 5
    assert r['problems'] == [] and r['incomplete'] is False
    for key in ('error_counts', 'level_counts', 'error_events', 'histogram', 'top_messages'):
        assert r[key] == with_grep[key], key


def test_empty_window(box):
    args = {'journal': [UNIT], 'since': _utc(box.since - 3600), 'until': _utc(box.since - 1800), 'timezone': 'UTC'}
    _proc, r = _module(box, args)
    assert r['total_errors'] == 0 and r['error_events'] == 0 and r['level_counts'] == {}
    assert r['files'][0]['status'] == 'scanned' and r['files'][0]['entries_read'] == 0 and r['problems'] == []
    assert len(r['histogram']['buckets']) >= 1 and all(b['total'] == 0 for b in r['histogram']['buckets'])
    # strict: journal problems are in `problems` (see above), on which strict fails as for files (test_log_analysis.py)


def test_a_user_who_may_not_read_the_journal_gets_a_status_not_a_failure(box):
    args = {'journal': [UNIT], 'since': _utc(box.since), 'until': _utc(box.until), 'timezone': 'UTC'}
    _proc, r = _module(box, args, user='redfire-reader')
    fs = r['files'][0]
    assert fs['status'] == 'error' and 'no permission to read the journal' in fs['error'], fs
    assert r['total_errors'] == 0 and r['incomplete'] is True and r['problems'] == [fs['error']]


def test_health_check_counts_the_units_journal_errors_in_log_errors(box):
    """health_check's logs.journal (the daily check's): the unit's error entries of the last hour, with the files."""
    box.exec("mkdir -p /var/log/redfire && echo \"$(date '+%Y-%m-%d %H:%M:%S') ERROR HTTPError 503 in the file\" "
             "> /var/log/redfire/app.log")
    inventory = box.inventory(str(box.tmp / 'inv.yml'))
    args = {'checks': ['logs'], 'logs': {'paths': ['/var/log/redfire/*.log'], 'journal': [UNIT], 'hours': 1,
                                         'errors_warning': 0, 'errors_critical': 1000}}
    proc = run(['ansible', 'all', '-i', inventory, '-m', 'redfire.ops.health_check', '-a', json.dumps(args)],
               check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout.partition(' => ')[2])
    errors = dict((c['name'], c) for c in result['checks'])['log_errors']
    now = int(box.exec('date +%s').stdout)
    counts, _levels, _events = _reference(box, '-u %s' % UNIT, now - 3600, now)
    in_journal = sum(counts.values())
    assert in_journal >= 4 * 12  # before, inside and after the window of the other tests: 12 rounds, 4 counts each
    assert errors['status'] == 'warning' and errors['value'] == in_journal + 1, errors
    assert '(%d of them in the journal of journal:unit=%s)' % (in_journal, UNIT) in errors['message'], errors
