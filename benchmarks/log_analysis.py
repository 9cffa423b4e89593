"""Benchmark of redfire.ops log_analysis's core (plugins/module_utils/log_scan.py).

One command generates (once, cached under benchmarks/data/, git-ignored) a synthetic 7-day RedFire log of
--size bytes (default 1G) with 5% error lines and multi-line stack traces, plus a gzipped copy, then measures in
the same run, each measurement in a fresh child process (peak RSS from os.wait4's rusage of that child):

  1. baseline: `LC_ALL=C grep -ciE '<the combined category pattern>' app.log`
  2. the Python floor: one process that only reads the file, counts lines, folds case and runs the category
     search (no timestamps, no events): what a pure-Python scan cannot beat per core
  3. full-window scan of app.log, workers=1 and workers=0 (auto: the usable CPUs, at most 4)
                                              -> throughput and ratio to grep      (goal >= 0.5x grep)
  4. the last 4 hours of app.log              -> seconds                          (goal <= 0.2 s)
  5. full-window scan of app.log.gz           -> uncompressed MB/s                (goal >= 200 MB/s)
     (baseline: `gzip -dc app.log.gz > /dev/null` in the same run)
  6. peak RSS of every analysis process (workers included: each is counted)      (goal <= 100 MB)
  7. finding the files of a glob with 1,000 and with 10,000 matches (each with a rotated .1 sibling)
                                              -> time per file, 10,000 against 1,000 (goal <= 2x: linear)

Usage: python benchmarks/log_analysis.py [--size 1G] [--regenerate] [--repeat 2]
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
COLLECTIONS = os.path.join(ROOT, '.build', 'collections')
DATA = os.path.join(HERE, 'data')
PATTERN = 'DatabaseError|ConnectionError|APIError|HTTPError|TradingError|OrderError|SystemError|RuntimeError'

NORMAL = [
    'INFO [orders] order placed symbol={sym} qty={n} price={p}',
    'INFO [auth] user login user_id={n} session={hex}',
    'DEBUG [md] tick symbol={sym} bid={p} ask={p} seq={n}',
    'INFO [api] GET /api/v1/positions 200 {n}ms',
    'WARN [risk] exposure near limit account={n} ratio=0.{n}',
    'INFO [engine] heartbeat ok queue={n} lag_ms={n}',
]
ERRORS = [
    'ERROR [db] DatabaseError: connection pool exhausted after {n} ms',
    'ERROR [db] ConnectionError: could not connect to 127.0.0.1:{n}',
    'ERROR [api] APIError: upstream returned {n}',
    'ERROR [api] HTTPError 502 Bad Gateway for /api/v1/orders/{n}',
    'ERROR [trade] TradingError: order {hex} rejected by venue',
    'ERROR [trade] OrderError: insufficient margin account={n}',
    'ERROR [engine] SystemError: worker {n} crashed',
    'ERROR [engine] unhandled exception in strategy {n}',
]
TRACE = ['Traceback (most recent call last):', '  File "/srv/redfire/engine.py", line {n}, in run',
         '    self.step()', 'RuntimeError: strategy state corrupted at seq {n}']
SYMS = ['AAPL', 'MSFT', 'TSLA', 'BTCUSD', 'ETHUSD', '600519.SH', '000001.SZ']


def parse_size(text):
    units = {'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30}
    text = text.strip().upper().rstrip('B')
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def _bodies(rng, templates, count):
    out = []
    for _i in range(count):
        t = rng.choice(templates)
        out.append(t.format(sym=rng.choice(SYMS), n=rng.randint(1, 99999), p='%d.%02d' % (rng.randint(1, 999),
                            rng.randint(0, 99)), hex='%08x' % rng.getrandbits(32)))
    return out


def generate(path, size, end):
    """Write about ``size`` bytes covering the 7 days before ``end``, in time order."""
    rng = random.Random(20240501)
    normal = _bodies(rng, NORMAL, 20000)
    errors = _bodies(rng, ERRORS, 4000)
    traces = ['\n'.join(x.format(n=rng.randint(1, 999)) for x in TRACE) for _i in range(500)]
    start = end - timedelta(days=7)
    seconds = 7 * 86400
    avg_normal = sum(len(x) for x in normal) / float(len(normal))
    avg_error = sum(len(x) for x in errors) / float(len(errors)) + 0.3 * sum(len(x) + 1 for x in traces) / len(traces)
    avg_line = 21 + 0.95 * avg_normal + 0.05 * avg_error
    lines_per_sec = max(1.0, size / avg_line / seconds)
    written = 0
    sec = 0
    acc = 0.0
    with open(path, 'w', buffering=1 << 22) as f:
        while sec < seconds:
            chunk = []
            for _s in range(60):
                ts = (start + timedelta(seconds=sec)).strftime('%Y-%m-%d %H:%M:%S')
                acc += lines_per_sec
                n = int(acc)
                acc -= n
                for _k in range(n):
                    if rng.random() < 0.05:
                        line = '%s %s' % (ts, rng.choice(errors))
                        if rng.random() < 0.3:
                            line += '\n' + rng.choice(traces)
                    else:
                        line = '%s %s' % (ts, rng.choice(normal))
                    chunk.append(line)
                sec += 1
            text = '\n'.join(chunk) + '\n' if chunk else ''
            f.write(text)
            written += len(text)
    return written


def _child(code, *args):
    """Run python code in a child process; returns (its JSON output, wall seconds, peak RSS MB)."""
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, '-c', code] + list(args), stdout=subprocess.PIPE, env=env)
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit('child failed: %s' % code)
    return json.loads(out.decode()), wall, usage.ru_maxrss / 1024.0


ANALYSE = '''
import json, sys, time
from datetime import datetime
from ansible_collections.redfire.ops.plugins.module_utils import log_scan
args = json.loads(sys.argv[1])
now = datetime.strptime(args.pop('now'), '%Y-%m-%d %H:%M:%S')
t0 = time.perf_counter()
r = log_scan.analyze(now=now, **args)
dt = time.perf_counter() - t0
print(json.dumps({'seconds': dt, 'total': r['total_errors'], 'events': r['error_events'],
                  'bytes': r['stats']['bytes_scanned'], 'files': r['files']}))
'''

IDLE = 'import json; from ansible_collections.redfire.ops.plugins.module_utils import log_scan; print("{}")'

FLOOR = '''
import json, sys, time
from ansible_collections.redfire.ops.plugins.module_utils import log_scan
m = log_scan.Matcher(log_scan.DEFAULT_CATEGORIES)
finder = m.classifier or m.line_finder
t0 = time.perf_counter()
hits = lines = size = 0
with open(sys.argv[1], 'rb', buffering=0) as f:
    while True:
        data = f.read(log_scan.BLOCK_SIZE)
        if not data:
            break
        size += len(data)
        lines += data.count(b'\\n')
        for _hit in finder.finditer(data.lower()):
            hits += 1
print(json.dumps({'seconds': time.perf_counter() - t0, 'bytes': size, 'hits': hits}))
'''


DISCOVER = '''
import json, os, sys, tempfile, time
from ansible_collections.redfire.ops.plugins.module_utils import log_scan
out = {}
for count in (1000, 10000):
    folder = tempfile.mkdtemp(prefix='redfire-bench-discover-')
    for i in range(count):
        for name in ('app-%05d.log' % i, 'app-%05d.log.1' % i):
            open(os.path.join(folder, name), 'w').close()
    t0 = time.perf_counter()
    families, _missing = log_scan.expand_paths([os.path.join(folder, '*.log')])
    out[count] = time.perf_counter() - t0
    assert len(families) == count and all(len(f) == 2 for f in families)
    for name in os.listdir(folder):
        os.unlink(os.path.join(folder, name))
    os.rmdir(folder)
print(json.dumps(out))
'''


def _timed(cmd, repeat):
    best = None
    out = None
    for _i in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, LC_ALL='C'),
                              check=False)
        dt = time.perf_counter() - t0
        if proc.returncode not in (0, 1):
            raise SystemExit('%s failed: %s' % (cmd, proc.stderr.decode()))
        best = dt if best is None else min(best, dt)
        out = proc.stdout
    return best, out


def _analyse(repeat, **args):
    best = None
    for _i in range(repeat):
        res, wall, rss = _child(ANALYSE, json.dumps(args))
        if best is None or res['seconds'] < best[0]['seconds']:
            best = (res, wall, rss)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    ap.add_argument('--size', default='1G', help='size of the synthetic log (e.g. 200M, 1G); default 1G')
    ap.add_argument('--regenerate', action='store_true', help='write the data again even if it exists')
    ap.add_argument('--repeat', type=int, default=2, help='runs per measurement, the best one counts')
    ap.add_argument('--data-dir', default=DATA)
    opts = ap.parse_args()
    size = parse_size(opts.size)
    for tool in ('grep', 'gzip'):
        if shutil.which(tool) is None:
            raise SystemExit('%s is needed for the baselines' % tool)
    os.makedirs(opts.data_dir, exist_ok=True)
    base = os.path.join(opts.data_dir, 'redfire-%d' % size)
    plain, gz, meta = base + '.log', base + '.log.gz', base + '.json'
    if opts.regenerate or not (os.path.exists(plain) and os.path.exists(gz) and os.path.exists(meta)):
        end = datetime(2024, 5, 8, 0, 0, 0)
        print('generating %s (%d bytes, 7 days ending %s) ...' % (plain, size, end), flush=True)
        t0 = time.perf_counter()
        written = generate(plain, size, end)
        print('  %.1f s; gzip copy ...' % (time.perf_counter() - t0), flush=True)
        with open(gz, 'wb') as out:
            subprocess.run(['gzip', '-1', '-c', plain], stdout=out, check=True)
        with open(meta, 'w') as f:
            json.dump({'end': end.strftime('%Y-%m-%d %H:%M:%S'), 'bytes': written}, f)
    with open(meta) as f:
        info = json.load(f)
    end = info['end']
    mb = os.path.getsize(plain) / 1e6
    print('data: %s (%.0f MB), %s (%.0f MB compressed)' % (plain, mb, gz, os.path.getsize(gz) / 1e6))
    subprocess.run(['cat', plain], stdout=subprocess.DEVNULL, check=True)  # warm the page cache for both sides

    grep_s, grep_out = _timed(['grep', '-ciE', PATTERN, plain], opts.repeat)
    gunzip_s, _out = _timed(['sh', '-c', 'gzip -dc "$1" > /dev/null', 'sh', gz], opts.repeat)
    _idle, _w, idle_rss = _child(IDLE)
    floor = min((_child(FLOOR, plain) for _i in range(opts.repeat)), key=lambda r: r[0]['seconds'])[0]
    common = dict(paths=[plain], include_rotated=False, now=end)
    one, _w, one_rss = _analyse(opts.repeat, since='2024-04-01 00:00:00', until=end, workers=1, **common)
    full, _w, full_rss = _analyse(opts.repeat, since='2024-04-01 00:00:00', until=end, **common)
    last4, _w, last4_rss = _analyse(opts.repeat, hours=4, **common)
    gzr, _w, gz_rss = _analyse(opts.repeat, paths=[gz], include_rotated=False, now=end, since='2024-04-01 00:00:00',
                               until=end)
    workers = full['files'][0]['workers']
    full_mbs = full['bytes'] / 1e6 / full['seconds']
    one_mbs = one['bytes'] / 1e6 / one['seconds']
    floor_mbs = floor['bytes'] / 1e6 / floor['seconds']
    grep_mbs = mb / grep_s
    gz_mbs = gzr['bytes'] / 1e6 / gzr['seconds']
    gunzip_mbs = gzr['bytes'] / 1e6 / gunzip_s
    peak = max(one_rss, full_rss, last4_rss, gz_rss)
    found = min((_child(DISCOVER)[0] for _i in range(opts.repeat)), key=lambda r: r['10000'])
    per_file = (found['10000'] / 10000) / (found['1000'] / 1000)
    rows = [
        ('grep -ciE (baseline)', '%.2f s' % grep_s, '%.0f MB/s' % grep_mbs, '%s matching lines' %
         grep_out.decode().strip(), ''),
        ('python floor, 1 process', '%.2f s' % floor['seconds'], '%.0f MB/s' % floor_mbs,
         '%.2fx grep' % (floor_mbs / grep_mbs), 'read+count+lower+search only'),
        ('full-window, workers=1', '%.2f s' % one['seconds'], '%.0f MB/s' % one_mbs,
         '%.2fx grep, %.2fx floor' % (one_mbs / grep_mbs, one_mbs / floor_mbs), ''),
        ('full-window, %d workers' % workers, '%.2f s' % full['seconds'], '%.0f MB/s' % full_mbs,
         '%.2fx grep, %.2fx workers=1' % (full_mbs / grep_mbs, full_mbs / one_mbs),
         'goal >= 0.5x: %s' % ('met' if full_mbs / grep_mbs >= 0.5 else 'NOT met')),
        ('last 4 hours', '%.3f s' % last4['seconds'], '%.0f MB read' % (last4['bytes'] / 1e6),
         '%.0fx faster than full' % (full['seconds'] / max(last4['seconds'], 1e-9)),
         'goal <= 0.2 s: %s' % ('met' if last4['seconds'] <= 0.2 else 'NOT met')),
        ('gzip -dc (baseline)', '%.2f s' % gunzip_s, '%.0f MB/s' % gunzip_mbs, '', ''),
        ('gzip full-window scan', '%.2f s' % gzr['seconds'], '%.0f MB/s' % gz_mbs,
         '%.2fx gzip -dc' % (gz_mbs / gunzip_mbs), 'goal >= 200 MB/s: %s' % ('met' if gz_mbs >= 200 else 'NOT met')),
        ('peak RSS per process', '%.0f MB' % peak, 'idle interpreter %.0f MB' % idle_rss,
         'w=1 %.0f / w=%d %.0f / 4h %.0f / gz %.0f MB' % (one_rss, workers, full_rss, last4_rss, gz_rss),
         'goal <= 100 MB: %s' % ('met' if peak <= 100 else 'NOT met')),
        ('glob of 1,000 / 10,000', '%.2f s' % found['10000'], '%.3f s for 1,000' % found['1000'],
         '%.2fx time per file at 10,000' % per_file, 'goal <= 2x: %s' % ('met' if per_file <= 2 else 'NOT met')),
    ]
    print('\n%-24s %-10s %-26s %-34s %s' % ('measurement', 'time', 'rate', 'ratio / detail', 'goal'))
    for row in rows:
        print('%-24s %-10s %-26s %-34s %s' % row)
    print('\nerror events in the full window: %d (category counts %d); last 4 h: %d; gzip: %d'
          % (full['events'], full['total'], last4['events'], gzr['events']))
    if not full['total'] == gzr['total'] == one['total']:
        raise SystemExit('counts differ: workers=1 %d, workers=%d %d, gzip %d'
                         % (one['total'], workers, full['total'], gzr['total']))


if __name__ == '__main__':
    main()
