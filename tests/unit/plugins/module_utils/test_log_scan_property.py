"""Property test: log_scan.analyze against a deliberately simple reference implementation.

The reference reads each file whole, splits it into lines, and applies the documented rules directly: a line
with a timestamp starts an event, lines without one continue it (and are dropped before the first timestamp),
an event in the inclusive window counts once in every category whose pattern matches any of its lines."""
import gzip
import re
from datetime import datetime

from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.redfire.ops.plugins.module_utils import log_scan

TS = re.compile(rb'(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})')
CATEGORIES = dict(log_scan.DEFAULT_CATEGORIES)


HEX = re.compile(rb'\b(?:0[xX][0-9a-fA-F]+|[0-9a-fA-F]{8,}(?:-[0-9a-fA-F]{4,})*)\b')


def normalise(header):
    """The documented grouping of one event: its header line without the timestamp, ids and numbers replaced."""
    m = TS.search(header)
    text = (header[:m.start()] + header[m.end():]).strip()
    return re.sub(rb'[0-9]+', b'<n>', HEX.sub(b'<id>', text))[:512].decode('utf-8', 'replace')


def reference(files, since, until, categories=None, ignore_case=True, groups=None):
    categories = categories or CATEGORIES
    rxs = [(n, re.compile(p.encode(), re.I if ignore_case else 0)) for n, p in categories.items()]
    counts = dict((n, 0) for n in categories)
    events_with_errors = 0
    ordered = True
    for data in files:
        events = []
        for line in data.split(b'\n'):
            m = TS.search(line)
            if m:
                events.append([m.group(1).replace(b'T', b' ').decode(), [line]])
            elif events:
                events[-1][1].append(line)
        keys = [k for k, _l in events]
        ordered = ordered and keys == sorted(keys)
        for key, lines in events:
            if since <= key <= until:
                hit = [n for n, rx in rxs if any(rx.search(x) for x in lines)]
                for n in hit:
                    counts[n] += 1
                events_with_errors += bool(hit)
                if hit and groups is not None:
                    groups[normalise(lines[0])] = groups.get(normalise(lines[0]), 0) + 1
    return counts, events_with_errors, ordered


WORDS = [b'DatabaseError', b'databaseerror', b'CONNECTIONERROR', b'APIError', b'HTTPError', b'TradingError',
         b'OrderError', b'SystemError', b'RuntimeError', b'runtimeerror', b'Error', b'ERROR', b'error:', b'INFO',
         b'order', b'Database', b'\x00\x00', b'\xff\xfe\xc3(', b'\xe9\x94\x99\xe8\xaf\xaf', b'\t', b'\r', b'x' * 40,
         b'id=0x1f3a', b'42', b'Traceback (most recent call last):', b'  File "a.py", line 3', b'c0ffee42d00d-12ab',
         b'deadbeef', b'7a', b'x9']


def _ts(i):
    return datetime.fromtimestamp(1714521600 + i * 60).strftime('%Y-%m-%d %H:%M:%S').encode()


line_st = st.tuples(
    st.one_of(st.none(), st.integers(0, 40)),          # timestamp (minute index) or continuation line
    st.booleans(),                                    # 'T' separator
    st.lists(st.sampled_from(WORDS), max_size=6),     # body
)


def _render(lines, ordered):
    out = []
    minute = 0
    for ts, tsep, body in lines:
        text = b' '.join(body)
        if ts is None:
            out.append(text)
            continue
        if ordered:
            minute += ts % 3
            ts = minute
        stamp = _ts(ts)
        if tsep:
            stamp = stamp[:10] + b'T' + stamp[11:]
        out.append(stamp + b' ' + text)
    return b'\n'.join(out) + b'\n'


def _window(a, b):
    lo, hi = sorted((a, b))
    return _ts(lo).decode(), _ts(hi).decode()


SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(lines=st.lists(line_st, max_size=120), a=st.integers(0, 45), b=st.integers(0, 45),
       block=st.sampled_from([7, 64, 1 << 20]))
def test_any_order_full_scan_matches_reference(tmp_path_factory, lines, a, b, block):
    d = tmp_path_factory.mktemp('prop')
    data = _render(lines, ordered=False)
    (d / 'app.log').write_bytes(data)
    with gzip.open(str(d / 'copy.gz'), 'wb') as f:
        f.write(data)
    since, until = _window(a, b)
    groups = {}
    want, events, ordered = reference([data], since, until, groups=groups)
    got = log_scan.analyze([str(d / 'app.log')], since=since, until=until, seek=False, include_rotated=False,
                           block_size=block, top_messages=1000)
    assert dict((t['message'], t['count']) for t in got['top_messages']) == groups
    sequential = None
    for path, seek, workers in ((d / 'app.log', False, 1), (d / 'app.log', False, 3), (d / 'app.log', True, 1),
                                (d / 'app.log', True, 3), (d / 'copy.gz', False, 1)):
        got = log_scan.analyze([str(path)], since=since, until=until, seek=seek, order_tolerance=0,
                               include_rotated=False, block_size=block, probe_size=32, workers=workers,
                               parallel_min_bytes=0)
        if seek and path.name == 'app.log' and not ordered and not got['files'][0]['order_broken']:
            continue  # documented: with seek, disorder hidden between the probes is not seen
        assert got['error_counts'] == want, (path, seek, workers)
        assert got['total_errors'] == sum(want.values())
        assert got['error_events'] == events
        fs = got['files'][0]
        if not (fs['skipped_outside_window'] or fs['seek_used'] or fs['stopped_early']):
            assert fs['lines_scanned'] == data.count(b'\n')
        if path.name == 'app.log' and not seek:
            # workers split the file at event starts: their merged result is the sequential one, field for field
            same = dict((k, got[k]) for k in ('error_details', 'top_messages', 'error_events'))
            # first_time and last_time are read from block ends: in a file out of time order they are samples,
            # and tiny test ranges are shorter than a block
            same['files'] = dict((k, v) for k, v in fs.items()
                                 if k not in ('workers',) + (() if ordered else ('first_time', 'last_time')))
            if sequential is None:
                sequential = same
            else:
                assert same == sequential, (path, workers)
    # categories that are not plain literals take the per-line path instead of the classifier: same counts
    spelled = dict((name, pattern.replace('Error', '[E]rror')) for name, pattern in CATEGORIES.items())
    got = log_scan.analyze([str(d / 'app.log')], since=since, until=until, seek=False, include_rotated=False,
                           block_size=block, categories=spelled)
    assert got['error_counts'] == dict(reference([data], since, until, spelled)[0])
    assert got['error_counts'] == dict((k, want[k]) for k in want)


@SETTINGS
@given(lines=st.lists(line_st, max_size=200), a=st.integers(0, 90), b=st.integers(0, 90),
       block=st.sampled_from([16, 100, 1 << 20]), cut1=st.integers(0, 200), cut2=st.integers(0, 200))
def test_ordered_rotated_family_with_seek_matches_reference(tmp_path_factory, lines, a, b, block, cut1, cut2):
    d = tmp_path_factory.mktemp('rot')
    rendered = _render(lines, ordered=True).split(b'\n')[:-1]
    c1, c2 = sorted((min(cut1, len(rendered)), min(cut2, len(rendered))))
    parts = [rendered[:c1], rendered[c1:c2], rendered[c2:]]
    datas = [b''.join(x + b'\n' for x in p) for p in parts]
    with gzip.open(str(d / 'app.log.2.gz'), 'wb') as f:
        f.write(datas[0])
    (d / 'app.log.1').write_bytes(datas[1])
    (d / 'app.log').write_bytes(datas[2])
    since, until = _window(a, b)
    want, events, ordered = reference(datas, since, until)
    assert ordered
    for workers in (1, 2):
        got = log_scan.analyze([str(d / 'app.log')], since=since, until=until, seek=True, order_tolerance=0,
                               block_size=block, probe_size=24, workers=workers, parallel_min_bytes=0)
        assert [f['path'].rsplit('/', 1)[1] for f in got['files']] == ['app.log.2.gz', 'app.log.1', 'app.log']
        assert got['error_counts'] == want
        assert got['error_events'] == events
        assert not any(f['order_broken'] for f in got['files'])
