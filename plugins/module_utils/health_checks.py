# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure-Python host health checks (core of redfire.ops.health_check).

No Ansible imports: unit tests and benchmarks call :func:`run_checks` directly.
Every check returns a dict ``{name, kind, status, value, unit, warning, critical,
message, duration_ms}``; statuses follow Nagios (ok, warning, critical, unknown).

Blocking work that can hang (network I/O, DNS, statvfs of a stale NFS mount, client
libraries) runs in daemon threads with a deadline, so the wall time of a run is bounded
by the largest timeout, not by the sum of them, and a hung call never keeps the
process alive.
"""


from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import pickle
import select
import signal
import time

from ansible_collections.redfire.ops.plugins.module_utils.child_process import start_child

from ansible_collections.redfire.ops.plugins.module_utils.health_checks_common import (
    FORK, _Task, _error_text, _fmt, result,
)
from ansible_collections.redfire.ops.plugins.module_utils.health_checks_host import (
    check_cpu, check_load, check_memory, check_ports, check_processes, check_services, check_swap, check_time_sync,
    disk_jobs, real_mounts,
)
from ansible_collections.redfire.ops.plugins.module_utils.health_checks_net import (
    http_jobs, network_jobs,
)
from ansible_collections.redfire.ops.plugins.module_utils.health_checks_stores import (
    db_jobs,
)
from ansible_collections.redfire.ops.plugins.module_utils.health_checks_logs import (
    logs_jobs,
)
from ansible_collections.redfire.ops.plugins.module_utils.health_checks_report import (
    summarize,
)


# The split modules' public names, so that callers import health_checks alone (the runner, its inputs and outputs).
# pylint: disable=unused-import
from ansible_collections.redfire.ops.plugins.module_utils.health_checks_common import (  # noqa: F401
    ALL_CHECKS, DEFAULT_CERT_CRITICAL_DAYS, DEFAULT_CERT_WARNING_DAYS, DEFAULT_CPU_SAMPLE, DEFAULT_DISK_TIMEOUT,
    DEFAULT_LOG_HOURS, DEFAULT_LOG_TIMEOUT, DEFAULT_THRESHOLDS, DEFAULT_TIMEOUT, HAS_PSUTIL, SEVERITY, STATUS_CODE,
    STATUSES, ConfigError, status_of, worst,
)
from ansible_collections.redfire.ops.plugins.module_utils.health_checks_host import listening_ports, service_reason  # noqa: F401
from ansible_collections.redfire.ops.plugins.module_utils.health_checks_net import cert_not_after, split_host_port  # noqa: F401
from ansible_collections.redfire.ops.plugins.module_utils.health_checks_logs import log_files  # noqa: F401
from ansible_collections.redfire.ops.plugins.module_utils.health_checks_config import missing_libraries, normalize  # noqa: F401
from ansible_collections.redfire.ops.plugins.module_utils.health_checks_report import (  # noqa: F401
    guide_health_status, nagios_summary, render_textfile, validate_textfile,
)
# pylint: enable=unused-import


def run_checks(cfg):
    """Run the selected checks of a normalized config; returns the module's result fields.

    Network-bound work and disk statvfs start first, in threads; local checks (cpu sample,
    memory, load, ...) run meanwhile in this thread; then each thread is awaited until its own
    deadline.
    """
    selected = cfg['checks']
    thresholds = cfg['thresholds']
    skipped = []
    jobs = []
    order = []  # (label, n_jobs, flatten)

    def add(label, new_jobs, flatten=False):
        jobs.extend(new_jobs)
        order.append((label, len(new_jobs), flatten))

    if 'disk' in selected:
        if cfg['disk_mounts']:
            add('disk', disk_jobs(cfg['disk_mounts'], thresholds, cfg['disk_timeout']), flatten=True)
        else:
            add('disk', disk_jobs(real_mounts(), thresholds, cfg['disk_timeout'], dirs_only=True), flatten=True)
    if 'network' in selected:
        if cfg['network_targets']:
            add('network', network_jobs(cfg['network_targets']))
        else:
            skipped.append({'name': 'network', 'reason': 'no network_targets given'})
    if 'http' in selected:
        if cfg['http']:
            add('http', http_jobs(cfg['http']), flatten=True)
        else:
            skipped.append({'name': 'http', 'reason': 'no http endpoints given'})
    for kind in ('postgresql', 'redis'):
        if kind in selected:
            if cfg[kind]:
                add(kind, db_jobs(kind, cfg[kind]))
            else:
                skipped.append({'name': kind, 'reason': 'no %s servers given' % kind})
    if 'logs' in selected:
        if cfg['logs']:
            add('logs', logs_jobs(cfg['logs']), flatten=True)
        else:
            skipped.append({'name': 'logs', 'reason': 'no logs given'})
    if 'services' in selected:
        if cfg['services']:
            units = cfg['services']
            timeout = cfg['timeout']

            def svc_timeout(elapsed, error, units=units):
                why = ('systemctl failed: %s' % _error_text(error)) if error is not None else \
                    'systemctl show did not answer within %ss' % _fmt(timeout)
                return [result('service:%s' % u, 'service', 'unknown', None, '', None, None, why, elapsed or 0.0)
                        for u in units]
            add('services', [(timeout + 0.5, check_services, (units, timeout), svc_timeout)], flatten=True)
        else:
            skipped.append({'name': 'services', 'reason': 'no services given'})

    # Threads start now (inside run_timed) while the local checks below run in this thread.
    pending = _Pending(jobs)
    local = []
    if 'cpu' in selected:
        local.append(check_cpu(cfg['cpu_sample'], thresholds))
    if 'load' in selected:
        local.append(check_load(thresholds))
    if 'memory' in selected:
        local.append(check_memory(thresholds))
    if 'swap' in selected:
        local.append(check_swap(thresholds))
    if 'processes' in selected:
        if cfg['processes']:
            local.extend(check_processes(cfg['processes']))
        else:
            skipped.append({'name': 'processes', 'reason': 'no processes given'})
    if 'ports' in selected:
        if cfg['ports']:
            local.extend(check_ports(cfg['ports']))
        else:
            skipped.append({'name': 'ports', 'reason': 'no ports given'})
    if 'time_sync' in selected:
        local.append(check_time_sync())

    threaded = pending.collect()
    checks = list(local)
    pos = 0
    for _label, n, flatten in order:
        for item in threaded[pos:pos + n]:
            if flatten:
                checks.extend(item)
            else:
                checks.append(item)
        pos += n
    return summarize(checks, skipped)


class _Forked(object):
    """func(*args) in a forked child process that sends back its result pickled through a pipe; killed when it
    outlives its deadline. Forked before the run starts any thread (forking a process that runs threads is unsafe).

    For the log scan: its user patterns can hold the GIL for as long as they backtrack (no thread could time them
    out) and its reads can hang on a dead mount (no signal stops them); a child process is stopped either way."""

    def __init__(self, func, *args):
        self.value = None
        self.error = None
        self.started = time.monotonic()
        self.finished = None
        self._pid, self._rfd = start_child(func, args, _error_text)

    def wait(self, deadline):
        chunks = []
        while True:
            left = deadline - time.monotonic()
            ready = select.select([self._rfd], [], [], max(left, 0.0))[0] if left > 0 else []
            if not ready:
                os.close(self._rfd)
                try:
                    os.kill(self._pid, signal.SIGKILL)
                    os.waitpid(self._pid, os.WNOHANG)  # a child stuck on a dead mount dies when the call returns
                except OSError:
                    pass
                return False
            data = os.read(self._rfd, 1 << 20)
            if not data:
                break
            chunks.append(data)
        os.close(self._rfd)
        os.waitpid(self._pid, 0)
        self.finished = time.monotonic()
        try:
            ok, value = pickle.loads(b''.join(chunks))
        except Exception:  # pylint: disable=broad-except  # the child died before it sent its result
            ok, value = False, 'the check process ended without a result'
        if ok:
            self.value = value
        else:
            self.error = RuntimeError(value)
        return True


class _Pending(object):
    """Jobs ``(timeout, func, args, on_timeout[, finish])``: ``func`` runs in a daemon thread, then ``finish(value,
    seconds left of the timeout)`` in the caller's thread (user patterns such as body_regex run there, where a
    Deadline can stop them); with finish FORK ``func`` runs in a forked child process instead (see _Forked)."""

    def __init__(self, jobs):
        tasks = {}
        for i, job in enumerate(jobs):  # the children first: no thread may run when they are forked
            if len(job) > 4 and job[4] == FORK:
                try:
                    tasks[i] = _Forked(job[1], *job[2])
                except OSError:  # no process to spare: a thread, as for the other jobs
                    pass
        self._tasks = []
        for i, job in enumerate(jobs):
            timeout, func, args, on_timeout = job[:4]
            finish = job[4] if len(job) > 4 and job[4] != FORK else None
            self._tasks.append((tasks.get(i) or _Task(func, *args), timeout, on_timeout, finish))

    def collect(self):
        grace = 0.25
        out = [None] * len(self._tasks)
        waited = []
        for i, (task, timeout, on_timeout, finish) in enumerate(self._tasks):
            if not task.wait(task.started + timeout + grace):
                out[i] = on_timeout(time.monotonic() - task.started, None)
            elif task.error is not None:
                out[i] = on_timeout(None, task.error)
            elif finish is not None:
                waited.append((i, finish, task.value, max(timeout - (task.finished - task.started), 0.001)))
            else:
                out[i] = task.value
        # Only now, with every thread done or given up: a pattern holding the GIL here would otherwise delay the
        # threads and spoil the times they measure.
        for i, finish, value, left in waited:
            out[i] = finish(value, left)
        return out
