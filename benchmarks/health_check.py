#!/usr/bin/env python
"""Benchmark of redfire.ops.health_check; one command, ratios against baselines measured in the same run.

    . scripts/env.sh && python benchmarks/health_check.py [--rounds N]

1. The core's median time for the default local check set (cpu, load, memory, swap, disk) without the CPU
   sample window (cpu_sample=0), against the guide's checks done the same way (psutil cpu_percent(0),
   virtual_memory, disk_usage('/')). Goal: <= 50 ms.
2. `ansible localhost -m redfire.ops.health_check` against `ansible localhost -m ansible.builtin.ping`, median
   wall time, as a ratio. Goal: <= 1.3.
3. The module with ten unreachable TCP targets (a loopback listener whose accept queue is full, so SYNs are
   dropped and connects hang) at a 2 s timeout: wall time of the module process against the serial sum of the
   timeouts (20 s); the whole `ansible localhost` command is printed beside ping. Goal: module under 3 s.
Traffic goes only to 127.0.0.1.
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / '.build' / 'collections'))

from ansible_collections.redfire.ops.plugins.module_utils import health_checks as hc  # noqa: E402

import psutil  # noqa: E402


def env():
    e = dict(os.environ)
    e.update({
        'PATH': '%s:%s' % (ROOT / '.venv' / 'bin', e.get('PATH', '')),
        'ANSIBLE_COLLECTIONS_PATH': '%s:%s' % (ROOT / '.build' / 'collections', ROOT / '.build' / 'deps'),
        'ANSIBLE_COLLECTIONS_SCAN_SYS_PATH': 'false',
        'ANSIBLE_LOCAL_TEMP': str(ROOT / '.build' / 'ansible-tmp'),
        'ANSIBLE_PYTHON_INTERPRETER': str(ROOT / '.venv' / 'bin' / 'python'),
        'ANSIBLE_LOCALHOST_WARNING': 'False',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'False',
    })
    return e


def median_ms(func, rounds):
    times = []
    for dummy in range(rounds):
        t = time.perf_counter()
        func()
        times.append((time.perf_counter() - t) * 1000.0)
    return statistics.median(times)


def adhoc(module, args=None):
    cmd = ['ansible', 'localhost', '-m', module, '-o']
    if args is not None:
        cmd += ['-a', json.dumps(args)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=120, check=False)
    elapsed = time.perf_counter() - t
    if 'SUCCESS' not in proc.stdout:
        raise SystemExit('%s failed:\n%s\n%s' % (module, proc.stdout[-2000:], proc.stderr[-2000:]))
    return elapsed, proc.stdout


def blackhole():
    """A loopback port where connects hang: listener with a full accept queue (never accepts)."""
    lsock = socket.socket()
    lsock.bind(('127.0.0.1', 0))
    lsock.listen(0)
    port = lsock.getsockname()[1]
    held = []
    for dummy in range(8):
        c = socket.socket()
        c.settimeout(0.2)
        try:
            c.connect(('127.0.0.1', port))
            held.append(c)
        except OSError:
            c.close()
            break
    return lsock, held, port


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rounds', type=int, default=30, help='core rounds (ansible runs use rounds // 6, min 3)')
    rounds = ap.parse_args().rounds
    runs = max(3, rounds // 6)

    # 1. core
    cfg = hc.normalize({'cpu_sample': 0})
    hc.run_checks(cfg)   # warm up (imports, first cpu_percent call)
    core = median_ms(lambda: hc.run_checks(cfg), rounds)

    def guide():
        psutil.cpu_percent(interval=0)
        psutil.virtual_memory()
        psutil.disk_usage('/')
    base = median_ms(guide, rounds)
    n_checks = len(hc.run_checks(cfg)['checks'])
    print('1. core, default local checks (%d results, cpu sample excluded): median %.2f ms (goal <= 50 ms: %s)'
          % (n_checks, core, 'PASS' if core <= 50 else 'FAIL'))
    print('   baseline, the guide\'s 3 psutil calls without its 1 s block: median %.2f ms; ratio %.1fx'
          % (base, core / base if base else float('inf')))

    # 2. module vs ping (alternating, medians)
    ping, health = [], []
    adhoc('ansible.builtin.ping')
    for dummy in range(runs):
        ping.append(adhoc('ansible.builtin.ping')[0])
        health.append(adhoc('redfire.ops.health_check')[0])
    p, h = statistics.median(ping), statistics.median(health)
    print('2. ansible localhost: ping median %.3f s, health_check (default, cpu_sample 0.1 s) median %.3f s; '
          'ratio %.2f (goal <= 1.3: %s)' % (p, h, h / p, 'PASS' if h / p <= 1.3 else 'FAIL'))

    # 3. ten unreachable targets at 2 s: the module process itself, and the whole ansible command
    lsock, held, port = blackhole()
    try:
        targets = [{'type': 'tcp', 'address': '127.0.0.1:%d' % port, 'name': 'unreachable-%d' % i, 'timeout': 2}
                   for i in range(10)]
        args = {'checks': ['network'], 'network_targets': targets}
        module_s, result = run_module_process(args)
        elapsed, _out = adhoc('redfire.ops.health_check', args)
    finally:
        for c in held:
            c.close()
        lsock.close()
    crit = sum(1 for c in result['checks'] if c['status'] == 'critical')
    print('3. ten unreachable tcp targets, 2 s timeout each: module process %.3f s (%d/10 critical; goal < 3 s: %s),'
          ' ratio %.2f against the 20 s serial sum; whole `ansible localhost` command %.3f s (ping %.3f s)'
          % (module_s, crit, 'PASS' if module_s < 3 and crit == 10 else 'FAIL', module_s / 20.0, elapsed, p))


def run_module_process(args):
    """The module as Ansible runs it on the target (a Python process reading its arguments), timed."""
    import tempfile
    with tempfile.NamedTemporaryFile('w', suffix='.json') as f:
        json.dump({'ANSIBLE_MODULE_ARGS': args}, f)
        f.flush()
        e = env()
        e['PYTHONPATH'] = str(ROOT / '.build' / 'collections')
        t = time.perf_counter()
        proc = subprocess.run([str(ROOT / '.venv' / 'bin' / 'python'),
                               str(ROOT / 'plugins' / 'modules' / 'health_check.py'), f.name],
                              env=e, capture_output=True, text=True, timeout=60, check=False)
        elapsed = time.perf_counter() - t
    try:
        return elapsed, json.loads(proc.stdout)
    except ValueError:
        raise SystemExit('module failed:\n%s\n%s' % (proc.stdout[-2000:], proc.stderr[-2000:]))


if __name__ == '__main__':
    main()
