"""Benchmark of redfire.ops log_analysis's journal source (plugins/module_utils/log_journal.py).

One command starts a systemd container (the image scripts/setup builds), writes --entries journal entries (default
one million; 5% errors of the guide's categories, some of them multi-line) through journald's native protocol in a
bounded loop, then measures in the same run, inside the container, each best of --repeat:

  1. baseline: `journalctl --since S --until U -o cat SYSLOG_IDENTIFIER=... | grep -ciE '<combined pattern>'`
  2. the module core: log_scan.analyze(journal=[{matches: {SYSLOG_IDENTIFIER: ...}}], since=S, until=U)
                                       -> ratio of the pipeline's time to the core's   (goal >= 0.8x)
  3. peak RSS of the core's Python process (journalctl's own, as a child, beside it)  (goal < 100 MB)

Usage: python benchmarks/journal_scan.py [--entries 1000000] [--repeat 2] [--keep]
(source scripts/env.sh first: podman needs the project's containers.conf)
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
IMAGE = os.environ.get('REDFIRE_IMAGE', 'localhost/redfire-debian12-systemd:bare')
PATTERN = 'DatabaseError|ConnectionError|APIError|HTTPError|TradingError|OrderError|SystemError|RuntimeError'
IDENT = 'redfire-bench'

# Runs in the container: one datagram per entry to journald's socket (bounded by the count).
WRITER = r'''
import random, socket, sys
count = int(sys.argv[1])
rng = random.Random(20240501)
normal = ["INFO [orders] order placed symbol=AAPL qty=%d", "DEBUG [md] tick seq=%d bid=1.25",
          "INFO [api] GET /api/v1/positions 200 %dms", "WARN [risk] exposure near limit account=%d"]
errors = ["ERROR [db] DatabaseError: connection pool exhausted after %d ms", "ERROR [api] HTTPError 502 for /o/%d",
          "ERROR [trade] OrderError: insufficient margin account=%d", "ERROR [engine] SystemError: worker %d crashed",
          "ERROR [engine] unhandled exception %d\nTraceback (most recent call last):\n  File \"e.py\", line 7\n"
          "RuntimeError: strategy state corrupted"]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect("/run/systemd/journal/socket")
head = b"SYSLOG_IDENTIFIER=@IDENT@\n"
for i in range(count):
    if rng.random() < 0.05:
        msg, prio = (rng.choice(errors) % i).encode(), b"3"
    else:
        msg, prio = (rng.choice(normal) % i).encode(), b"6"
    s.send(head + b"PRIORITY=" + prio + b"\nMESSAGE\n" + len(msg).to_bytes(8, "little") + msg + b"\n")
'''.replace('@IDENT@', IDENT)

CORE = r'''
import json, resource, sys, time
from datetime import datetime, timezone
from ansible_collections.redfire.ops.plugins.module_utils import log_scan
since, until = int(sys.argv[1]), int(sys.argv[2])
utc = lambda t: datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
t = time.perf_counter()
r = log_scan.analyze([], journal=[{"matches": {"SYSLOG_IDENTIFIER": sys.argv[3]}}], since=utc(since),
                     until=utc(until), timezone="UTC", workers=1)
secs = time.perf_counter() - t
print(json.dumps({"seconds": secs, "events": r["error_events"], "total": r["total_errors"],
                  "entries": r["files"][0]["entries_read"], "status": r["files"][0]["status"],
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                  "child_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0}))
'''


def podman(*args, check=True, timeout=3600, **kwargs):
    return subprocess.run(['podman'] + list(args), capture_output=True, text=True, check=check, timeout=timeout,
                          **kwargs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--entries', type=int, default=1000000, help='journal entries to write (default 1000000)')
    ap.add_argument('--repeat', type=int, default=2, help='runs per measurement, the best one counts')
    ap.add_argument('--keep', action='store_true', help='leave the container running (its name is printed)')
    opts = ap.parse_args()
    if opts.entries < 1 or opts.entries > 5000000:
        ap.error('--entries must be from 1 to 5000000')
    name = 'redfire-bench-journal-%s' % uuid.uuid4().hex[:8]
    podman('run', '-d', '--name', name, '--systemd=always', '--stop-timeout', '1', IMAGE, '/sbin/init')
    try:
        return run(name, opts)
    finally:
        if not opts.keep:
            podman('rm', '-f', '-t', '1', name, check=False)
        else:
            print('container left running: %s' % name)


def sh(name, command, timeout=3600):
    proc = podman('exec', name, 'sh', '-c', command, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise SystemExit('in the container, %s exited %d: %s' % (command, proc.returncode, proc.stderr.strip()[-2000:]))
    return proc.stdout


def run(name, opts):
    for _i in range(120):
        if podman('exec', name, 'systemctl', 'is-system-running', check=False).stdout.strip() in ('running', 'degraded'):
            break
        time.sleep(0.5)
    # no rate limit (one million entries in seconds would be dropped), room for them on disk
    sh(name, 'mkdir -p /etc/systemd/journald.conf.d /var/log/journal && printf "[Journal]\\nStorage=persistent\\n'
             'RateLimitBurst=0\\nSystemMaxUse=4G\\nSystemMaxFileSize=1G\\n" > /etc/systemd/journald.conf.d/bench.conf'
             ' && systemctl restart systemd-journald && mkdir -p /opt/bench')
    with tempfile.TemporaryDirectory() as tmp:
        code = os.path.join(tmp, 'ansible_collections', 'redfire', 'ops')
        os.makedirs(code)
        archive = subprocess.run(['git', '-C', ROOT, 'ls-files', 'plugins/module_utils'], capture_output=True,
                                 text=True, check=True).stdout.split()
        subprocess.run(['tar', '-C', ROOT, '-cf', os.path.join(tmp, 'code.tar')] + archive, check=True)
        subprocess.run(['tar', '-C', code, '-xf', os.path.join(tmp, 'code.tar')], check=True)
        for sub in ('', 'plugins'):
            open(os.path.join(code, sub, '__init__.py'), 'a').close()
        podman('cp', os.path.join(tmp, 'ansible_collections'), '%s:/opt/bench/' % name)
        with open(os.path.join(tmp, 'writer.py'), 'w') as f:
            f.write(WRITER)
        with open(os.path.join(tmp, 'core.py'), 'w') as f:
            f.write(CORE)
        podman('cp', os.path.join(tmp, 'writer.py'), '%s:/opt/bench/writer.py' % name)
        podman('cp', os.path.join(tmp, 'core.py'), '%s:/opt/bench/core.py' % name)
    print('writing %d journal entries in %s ...' % (opts.entries, name), flush=True)
    t = time.time()
    since = int(sh(name, 'sleep 1.1; date +%s'))
    sh(name, 'python3 /opt/bench/writer.py %d' % opts.entries)
    # journald takes the datagrams in turn: wait until the last one is in the journal (bounded)
    got = -1
    for _i in range(600):
        now = int(sh(name, 'journalctl -q --no-pager -o cat SYSLOG_IDENTIFIER=%s | wc -l' % IDENT) or 0)
        if now >= opts.entries or now == got:
            break
        got = now
        time.sleep(1)
    until = int(sh(name, 'date +%s'))
    size = sh(name, 'journalctl --disk-usage').strip()
    print('  %.1f s; %s' % (time.time() - t, size), flush=True)
    pipeline = ("journalctl --no-pager --since @%d --until @%d -o cat SYSLOG_IDENTIFIER=%s | LC_ALL=C grep -ciE '%s'"
                % (since, until + 1, IDENT, PATTERN))
    best_pipe, best_core, core = None, None, None
    for _i in range(max(1, opts.repeat)):
        t = time.perf_counter()
        lines = int(podman('exec', name, 'sh', '-c', pipeline, check=False).stdout.strip() or 0)
        secs = time.perf_counter() - t
        best_pipe = secs if best_pipe is None else min(best_pipe, secs)
        out = sh(name, 'cd /opt/bench && PYTHONPATH=/opt/bench python3 core.py %d %d %s' % (since, until, IDENT))
        res = json.loads(out)
        if best_core is None or res['seconds'] < best_core:
            best_core, core = res['seconds'], res
    ratio = best_pipe / best_core
    print()
    print('%-34s %-10s %s' % ('measurement', 'time', 'detail'))
    print('%-34s %-10s %s' % ('journalctl -o cat | grep -ciE', '%.2f s' % best_pipe,
                              '%d matching lines (baseline)' % lines))
    print('%-34s %-10s %s' % ('log_analysis core (journal)', '%.2f s' % best_core,
                              '%d entries read, %d error events, %d category counts, status %s'
                              % (core['entries'], core['events'], core['total'], core['status'])))
    print('%-34s %-10s %s' % ('speed vs the pipeline', '%.2fx' % ratio,
                              'goal >= 0.8x: %s' % ('met' if ratio >= 0.8 else 'NOT met')))
    print('%-34s %-10s %s' % ('peak RSS of the core', '%.0f MB' % core['rss_mb'],
                              'goal < 100 MB: %s (journalctl child: %.0f MB)'
                              % ('met' if core['rss_mb'] < 100 else 'NOT met', core['child_rss_mb'])))
    return 0


if __name__ == '__main__':
    sys.exit(main())
