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

import functools
import glob
import math
import os
import pickle
import re
import select
import signal
import socket
import stat
import subprocess
import threading
import time

from ansible_collections.redfire.ops.plugins.module_utils import check_result
from ansible_collections.redfire.ops.plugins.module_utils.child_process import start_child
from ansible_collections.redfire.ops.plugins.module_utils.deadline import DeadlineExceeded, bounded_search
from ansible_collections.redfire.ops.plugins.module_utils.url_secrets import mask_secrets, mask_url

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported by this collection
    from urlparse import urlsplit  # type: ignore

# The result record, the statuses, their severity and worst-of live in check_result (re-exported here
# for callers of this module).
STATUSES = check_result.STATUSES
STATUS_CODE = check_result.STATUS_CODE
SEVERITY = check_result.SEVERITY
worst = check_result.worst
status_of = check_result.status_of

SYSTEM_CHECKS = ('cpu', 'load', 'memory', 'swap', 'disk')
CONFIGURED_CHECKS = ('network', 'services', 'processes', 'ports', 'http', 'postgresql', 'redis', 'logs')
ALL_CHECKS = SYSTEM_CHECKS + CONFIGURED_CHECKS + ('time_sync',)
# Checks that need psutil on the managed host.
PSUTIL_CHECKS = ('cpu', 'memory', 'swap', 'disk', 'processes')

# Defaults: the guide's thresholds where it has one (cpu > 80, memory > 85, disk > 90,
# API response time > 2 s), conservative values elsewhere.
DEFAULT_THRESHOLDS = {
    'cpu': {'warning': 80.0, 'critical': 95.0},
    'load': {'warning': 1.5, 'critical': 3.0},
    'memory': {'warning': 85.0, 'critical': 95.0},
    'swap': {'warning': 50.0, 'critical': 80.0},
    'disk': {'warning': 90.0, 'critical': 95.0},
    'inodes': {'warning': 90.0, 'critical': 95.0},
}
PERCENT_THRESHOLDS = ('cpu', 'memory', 'swap', 'disk', 'inodes')
DEFAULT_CPU_SAMPLE = 0.1
DEFAULT_DISK_TIMEOUT = 5.0
DEFAULT_TIMEOUT = 5.0
DEFAULT_HTTP_WARNING = 1.0
DEFAULT_HTTP_CRITICAL = 2.0
DEFAULT_CERT_WARNING_DAYS = 14.0
DEFAULT_CERT_CRITICAL_DAYS = 3.0
DEFAULT_DB_WARNING = 0.5
DEFAULT_DB_CRITICAL = 1.0
MAX_BODY = 1024 * 1024
# Log checks: the daily checklist's log file sizes and error lines of the last day.
DEFAULT_LOG_HOURS = 24.0
DEFAULT_LOG_SIZE_WARNING_MB = 500.0
DEFAULT_LOG_SIZE_CRITICAL_MB = 2048.0
DEFAULT_LOG_ERRORS_WARNING = 0.0
DEFAULT_LOG_ERRORS_CRITICAL = 50.0
DEFAULT_LOG_TIMEOUT = 60.0
MAX_LOG_HOURS = 24 * 366 * 100  # a century: beyond it the window leaves the dates Python can hold

# File systems that never hold data worth a disk check.
PSEUDO_FSTYPES = frozenset((
    'autofs', 'binfmt_misc', 'bpf', 'cgroup', 'cgroup2', 'configfs', 'debugfs', 'devpts',
    'devtmpfs', 'efivarfs', 'fusectl', 'hugetlbfs', 'mqueue', 'nsfs', 'proc', 'pstore',
    'ramfs', 'rpc_pipefs', 'securityfs', 'selinuxfs', 'squashfs', 'sysfs', 'tmpfs',
    'tracefs', 'fuse.lxcfs', 'fuse.gvfsd-fuse', 'fuse.portal', 'nfsd', 'iso9660',
))

try:
    import psutil  # noqa: F401  (imported here so callers can test HAS_PSUTIL)
    HAS_PSUTIL = True
except ImportError:
    psutil = None
    HAS_PSUTIL = False


class ConfigError(Exception):
    """Bad input; ``str(exc)`` names the option and says what to change."""


def result(name, kind, status, value=None, unit='', warning=None, critical=None, message='', duration=0.0, reason=None):
    """A check result (check_result's record) with its duration."""
    return check_result.result(name, kind, status, value, unit, warning, critical, message,
                               reason=reason, duration=duration or 0.0)


def _fmt(value):
    if isinstance(value, float):
        return ('%.3f' % value).rstrip('0').rstrip('.') if value != int(value) else '%d' % value
    return str(value)


def _threshold_message(value, unit, warning, critical, lower_is_worse=False, status='ok'):
    op = '<' if lower_is_worse else '>'
    if status == 'critical':
        return '%s%s %s critical %s%s' % (_fmt(value), unit, op, _fmt(critical), unit)
    if status == 'warning':
        return '%s%s %s warning %s%s' % (_fmt(value), unit, op, _fmt(warning), unit)
    return '%s%s' % (_fmt(value), unit)


# --------------------------------------------------------------------------- threads


class _Task(object):
    """A call in a daemon thread; never joined, so a hung syscall cannot block exit."""

    def __init__(self, func, *args):
        self.value = None
        self.error = None
        self.started = time.monotonic()
        self.finished = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(func,) + args)
        self._thread.daemon = True
        self._thread.start()

    def _run(self, func, *args):
        try:
            self.value = func(*args)
        except BaseException as exc:  # pylint: disable=broad-except
            self.error = exc
        self.finished = time.monotonic()
        self._done.set()

    def wait(self, deadline):
        return self._done.wait(max(0.0, deadline - time.monotonic()))


def _error_text(exc):
    text = str(exc).strip() or exc.__class__.__name__
    return text.splitlines()[0][:300]


# --------------------------------------------------------------------------- system checks


def check_cpu(sample, thresholds):
    t = thresholds['cpu']
    start = time.monotonic()
    value = psutil.cpu_percent(interval=sample)
    st = status_of(value, t['warning'], t['critical'])
    return result('cpu', 'cpu', st, round(value, 1), '%', t['warning'], t['critical'],
                  'cpu usage %s over %ss' % (_threshold_message(round(value, 1), '%', t['warning'], t['critical'], status=st),
                                             _fmt(sample)),
                  time.monotonic() - start)


def check_load(thresholds, cpu_count=None, loadavg=None):
    t = thresholds['load']
    start = time.monotonic()
    try:
        load = loadavg if loadavg is not None else os.getloadavg()
    except OSError as exc:
        return result('load', 'load', 'unknown', None, '', t['warning'], t['critical'],
                      'load average not available: %s' % _error_text(exc), time.monotonic() - start)
    cores = cpu_count or os.cpu_count() or 1
    per_core = [round(x / cores, 2) for x in load]
    # The 5-minute average per core decides: the 1-minute one is too jumpy for a health state.
    value = per_core[1]
    st = status_of(value, t['warning'], t['critical'])
    msg = 'load per core %s (1/5/15 min: %s/%s/%s, %d cores)' % (
        _threshold_message(value, '', t['warning'], t['critical'], status=st),
        _fmt(load[0]), _fmt(load[1]), _fmt(load[2]), cores)
    return result('load', 'load', st, value, '', t['warning'], t['critical'], msg, time.monotonic() - start)


def check_memory(thresholds):
    t = thresholds['memory']
    start = time.monotonic()
    vm = psutil.virtual_memory()
    value = round(vm.percent, 1)
    st = status_of(value, t['warning'], t['critical'])
    return result('memory', 'memory', st, value, '%', t['warning'], t['critical'],
                  'memory used %s of %d MiB' % (_threshold_message(value, '%', t['warning'], t['critical'], status=st),
                                                 vm.total // 1048576),
                  time.monotonic() - start)


def check_swap(thresholds):
    t = thresholds['swap']
    start = time.monotonic()
    sw = psutil.swap_memory()
    if not sw.total:
        return result('swap', 'swap', 'ok', 0.0, '%', t['warning'], t['critical'],
                      'no swap configured', time.monotonic() - start)
    value = round(sw.percent, 1)
    st = status_of(value, t['warning'], t['critical'])
    return result('swap', 'swap', st, value, '%', t['warning'], t['critical'],
                  'swap used %s of %d MiB'
                  % (_threshold_message(value, '%', t['warning'], t['critical'], status=st), sw.total // 1048576),
                  time.monotonic() - start)


def real_mounts():
    """Mount points worth a disk check (no pseudo file systems, each mount point once)."""
    seen = set()
    mounts = []
    for part in psutil.disk_partitions(all=True):
        if part.fstype in PSEUDO_FSTYPES or part.mountpoint in seen:
            continue
        if part.mountpoint.startswith(('/proc', '/sys', '/dev', '/run/user')) and part.mountpoint != '/dev':
            continue
        if part.fstype == 'overlay' and part.mountpoint != '/':
            continue  # container layers of other containers
        seen.add(part.mountpoint)
        mounts.append(part.mountpoint)
    return mounts


def _statvfs_results(mount, thresholds, dirs_only=False):
    start = time.monotonic()
    if dirs_only and not stat.S_ISDIR(os.stat(mount).st_mode):
        return []   # a file bind-mounted by a container engine (/etc/hosts, /etc/resolv.conf, ...)
    st = os.statvfs(mount)
    duration = time.monotonic() - start
    out = []
    td, ti = thresholds['disk'], thresholds['inodes']
    # As df: used / (used + available to unprivileged users).
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    avail = st.f_bavail * st.f_frsize
    if used + avail > 0:
        pct = round(100.0 * used / (used + avail), 1)
        s = status_of(pct, td['warning'], td['critical'])
        out.append(result('disk:%s' % mount, 'disk', s, pct, '%', td['warning'], td['critical'],
                          '%s used %s, %d MiB free' % (mount, _threshold_message(pct, '%', td['warning'], td['critical'], status=s),
                                                       avail // 1048576), duration))
    else:
        out.append(result('disk:%s' % mount, 'disk', 'ok', 0.0, '%', td['warning'], td['critical'],
                          '%s has no blocks (pseudo file system)' % mount, duration))
    if st.f_files:
        iused = st.f_files - st.f_ffree
        ipct = round(100.0 * iused / (iused + st.f_favail), 1) if iused + st.f_favail else 0.0
        s = status_of(ipct, ti['warning'], ti['critical'])
        out.append(result('inodes:%s' % mount, 'inodes', s, ipct, '%', ti['warning'], ti['critical'],
                          '%s inodes used %s' % (mount, _threshold_message(ipct, '%', ti['warning'], ti['critical'], status=s)),
                          duration))
    return out


def disk_jobs(mounts, thresholds, timeout, dirs_only=False):
    """One timed job per mount; a mount whose statvfs hangs becomes ``unknown``.

    With ``dirs_only`` (discovered mounts), mount points that are files are left out.
    """
    td = thresholds['disk']

    def job(mount):
        def on_timeout(elapsed, error):
            if error is not None:
                return [result('disk:%s' % mount, 'disk', 'unknown', None, '%', td['warning'], td['critical'],
                               '%s: statvfs failed: %s' % (mount, _error_text(error)), 0.0)]
            return [result('disk:%s' % mount, 'disk', 'unknown', None, '%', td['warning'], td['critical'],
                           '%s: statvfs did not answer within %ss (hung mount?)' % (mount, _fmt(timeout)), elapsed)]
        return (timeout, _statvfs_results, (mount, thresholds, dirs_only), on_timeout)
    return [job(m) for m in mounts]


def check_time_sync():
    """Kernel clock synchronisation state via adjtimex(2) (what timedatectl reports as NTPSynchronized)."""
    import ctypes  # pylint: disable=import-outside-toplevel  # imported here: only this check needs it
    import ctypes.util  # pylint: disable=import-outside-toplevel

    start = time.monotonic()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True)
        buf = ctypes.create_string_buffer(512)  # struct timex is 208 bytes on 64-bit Linux; modes=0 reads only
        state = libc.adjtimex(buf)
    except (OSError, AttributeError) as exc:
        return result('time_sync', 'time_sync', 'unknown', None, '', None, None,
                      'adjtimex not available: %s' % _error_text(exc), time.monotonic() - start)
    if state < 0:
        return result('time_sync', 'time_sync', 'unknown', None, '', None, None,
                      'adjtimex failed: errno %d' % ctypes.get_errno(), time.monotonic() - start)
    synced = state != 5  # TIME_ERROR: clock not synchronised
    return result('time_sync', 'time_sync', 'ok' if synced else 'warning', 1 if synced else 0, '', None, None,
                  'clock synchronised' if synced else 'clock not synchronised (no NTP/chrony sync)',
                  time.monotonic() - start)


# --------------------------------------------------------------------------- services, processes, ports


def parse_systemctl_show(text, units):
    """Split ``systemctl show -p Id,ActiveState,SubState,LoadState u1 u2 ...`` output into one dict per unit."""
    blocks = []
    current = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, dummy, val = line.partition('=')
        current[key.strip()] = val.strip()
    if current:
        blocks.append(current)
    return dict(zip(units, blocks))


def service_status(unit, props):
    load = props.get('LoadState', '')
    active = props.get('ActiveState', '')
    sub = props.get('SubState', '')
    if load == 'not-found':
        return 'critical', 'unit %s not found' % unit
    if load in ('error', 'bad-setting', 'masked'):
        return 'critical', 'unit %s load state %s' % (unit, load)
    if active == 'active':
        return 'ok', 'unit %s active (%s)' % (unit, sub)
    if active in ('activating', 'reloading', 'deactivating'):
        return 'warning', 'unit %s %s (%s)' % (unit, active, sub)
    return 'critical', 'unit %s %s (%s)' % (unit, active or 'unknown', sub)


def service_reason(props):
    """Machine-readable reason of a unit's status (runbooks decide on it, never on the message)."""
    load = props.get('LoadState', '')
    active = props.get('ActiveState', '')
    if load == 'not-found':
        return 'unit_not_found'
    if load in ('error', 'bad-setting', 'masked'):
        return 'unit_%s' % load.replace('-', '_')
    if active == 'active':
        return 'active'
    if active in ('activating', 'reloading', 'deactivating'):
        return 'unit_%s' % active
    return 'unit_%s' % (active or 'unknown')


def check_services(units, timeout, systemctl='systemctl'):
    """All units in one ``systemctl show`` call."""
    start = time.monotonic()
    env = dict(os.environ, LANG='C', LC_ALL='C', SYSTEMD_PAGER='', SYSTEMD_COLORS='0')
    cmd = [systemctl, 'show', '--no-pager', '-p', 'Id,ActiveState,SubState,LoadState', '--'] + list(units)
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                              timeout=timeout, universal_newlines=True, check=False)
        err = None
    except (OSError, subprocess.TimeoutExpired) as exc:
        proc, err = None, exc
    duration = time.monotonic() - start
    if proc is None or proc.returncode != 0:
        if err is not None:
            reason = _error_text(err)
        else:
            reason = (proc.stderr.strip() or proc.stdout.strip() or 'exit %d' % proc.returncode).splitlines()[0]
        return [result('service:%s' % u, 'service', 'unknown', None, '', None, None,
                       'systemctl show failed: %s' % reason, duration, reason='systemctl_failed') for u in units]
    parsed = parse_systemctl_show(proc.stdout, units)
    out = []
    for unit in units:
        props = parsed.get(unit)
        if props is None:
            out.append(result('service:%s' % unit, 'service', 'unknown', None, '', None, None,
                              'no state for unit %s in systemctl output' % unit, duration, reason='no_state'))
            continue
        st, msg = service_status(unit, props)
        out.append(result('service:%s' % unit, 'service', st, 1 if st == 'ok' else 0, '', None, None, msg, duration,
                          reason=service_reason(props)))
    return out


def check_processes(names):
    start = time.monotonic()
    counts = dict((n, 0) for n in names)
    for proc in psutil.process_iter(['name']):
        name = proc.info.get('name')
        if name in counts:
            counts[name] += 1
    duration = time.monotonic() - start
    return [result('process:%s' % n, 'process', 'ok' if c else 'critical', c, '', None, None,
                   '%d process(es) named %s' % (c, n) if c else 'no process named %s' % n, duration)
            for n, c in ((n, counts[n]) for n in names)]


def listening_ports(proc_root='/proc'):
    """Set of TCP ports in LISTEN state on this host (any address), from /proc/net/tcp{,6}."""
    ports = set()
    found = False
    for name in ('tcp', 'tcp6'):
        try:
            with open(os.path.join(proc_root, 'net', name)) as f:
                found = True
                next(f, None)
                for line in f:
                    fields = line.split()
                    if len(fields) > 3 and fields[3] == '0A':
                        ports.add(int(fields[1].rsplit(':', 1)[1], 16))
        except (IOError, OSError):
            continue
    if not found:
        if psutil is None:
            return None
        for conn in psutil.net_connections(kind='tcp'):
            if conn.status == psutil.CONN_LISTEN:
                ports.add(conn.laddr[1])
    return ports


def check_ports(ports, proc_root='/proc'):
    start = time.monotonic()
    listening = listening_ports(proc_root)
    duration = time.monotonic() - start
    out = []
    for port in ports:
        if listening is None:
            out.append(result('port:%d' % port, 'port', 'unknown', None, '', None, None,
                              'cannot list listening sockets', duration))
        elif port in listening:
            out.append(result('port:%d' % port, 'port', 'ok', 1, '', None, None,
                              'tcp port %d listening' % port, duration))
        else:
            out.append(result('port:%d' % port, 'port', 'critical', 0, '', None, None,
                              'tcp port %d not listening' % port, duration))
    return out


# --------------------------------------------------------------------------- network targets


def split_host_port(address):
    """``host:port`` or ``[v6]:port`` -> (host, port); raises ValueError."""
    address = address.strip()
    if address.startswith('['):
        host, dummy, rest = address[1:].partition(']')
        if not rest.startswith(':'):
            raise ValueError('missing port')
        port = rest[1:]
    else:
        host, sep, port = address.rpartition(':')
        if not sep:
            raise ValueError('missing port')
    if not host:
        raise ValueError('missing host')
    port = int(port)
    if not 1 <= port <= 65535:
        raise ValueError('port %d out of range 1-65535' % port)
    return host, port


def _target_name(target):
    return target.get('name') or '%s:%s' % (target['type'], mask_url(target['address']))


def _net_tcp(target):
    name = _target_name(target)
    host, port = split_host_port(target['address'])
    start = time.monotonic()
    try:
        sock = socket.create_connection((host, port), timeout=target['timeout'])
        sock.close()
    except (OSError, socket.timeout) as exc:
        return result(name, 'network', 'critical', None, 's', target.get('warning'), target.get('critical'),
                      'tcp %s:%d unreachable: %s' % (host, port, _error_text(exc)), time.monotonic() - start)
    elapsed = time.monotonic() - start
    return _latency_result(name, 'network', elapsed, target, 'tcp %s:%d connected' % (host, port))


def _net_dns(target):
    name = _target_name(target)
    start = time.monotonic()
    try:
        infos = socket.getaddrinfo(target['address'], None, 0, socket.SOCK_STREAM)
    except (OSError, socket.gaierror, UnicodeError) as exc:
        return result(name, 'network', 'critical', None, 's', target.get('warning'), target.get('critical'),
                      'dns %s did not resolve: %s' % (target['address'], _error_text(exc)), time.monotonic() - start)
    elapsed = time.monotonic() - start
    addrs = sorted(set(i[4][0] for i in infos))
    return _latency_result(name, 'network', elapsed, target,
                           'dns %s -> %s' % (target['address'], ', '.join(addrs[:4])))


def _latency_result(name, kind, elapsed, spec, what):
    value = round(elapsed, 4)
    st = status_of(value, spec.get('warning'), spec.get('critical'))
    msg = '%s in %s' % (what, _threshold_message(value, 's', spec.get('warning'), spec.get('critical'), status=st))
    return result(name, kind, st, value, 's', spec.get('warning'), spec.get('critical'), msg, elapsed)


def _net_http(target):
    spec = dict(target)
    spec.setdefault('expected_status', [200, 201, 202, 203, 204, 301, 302, 303, 307, 308])
    spec.setdefault('validate_certs', True)
    spec['url'] = target['address']
    spec['shown'] = mask_url(target['address'])
    spec['name'] = _target_name(target)
    out = _http(spec)[0]
    out['kind'] = 'network'
    return out


def network_jobs(targets):
    funcs = {'tcp': _net_tcp, 'dns': _net_dns, 'http': _net_http}
    jobs = []
    for target in targets:
        jobs.append((target['timeout'], funcs[target['type']], (target,), functools.partial(_net_timeout, target)))
    return jobs


def _net_timeout(target, elapsed, error):
    name = _target_name(target)
    if error is not None:
        return result(name, 'network', 'unknown', None, 's', target.get('warning'), target.get('critical'),
                      'check failed: %s' % _error_text(error), 0.0)
    return result(name, 'network', 'critical', None, 's', target.get('warning'), target.get('critical'),
                  'no answer within %ss' % _fmt(target['timeout']), elapsed)


# --------------------------------------------------------------------------- http


def _der_read(data, pos):
    """One DER TLV at ``pos`` -> (tag, value_start, value_end)."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7f
        length = int.from_bytes(data[pos:pos + n], 'big')
        pos += n
    return tag, pos, pos + length


def cert_not_after(der):
    """``notAfter`` of a DER X.509 certificate as a POSIX timestamp (no third-party parser needed)."""
    start = _der_read(der, 0)[1]          # Certificate
    start = _der_read(der, start)[1]      # tbsCertificate
    tag, vs, ve = _der_read(der, start)
    pos = ve if tag == 0xa0 else start    # optional [0] version
    for dummy in range(3):                # serialNumber, signature, issuer
        pos = _der_read(der, pos)[2]
    vs = _der_read(der, pos)[1]           # validity
    pos = _der_read(der, vs)[2]           # skip notBefore
    tag, vs, ve = _der_read(der, pos)     # notAfter
    text = der[vs:ve].decode('ascii').rstrip('Z')
    if tag == 0x17:                       # UTCTime YYMMDDHHMMSS
        year = int(text[:2])
        text = ('19' if year >= 50 else '20') + text
    import calendar  # pylint: disable=import-outside-toplevel  # only HTTPS checks get here
    return calendar.timegm(time.strptime(text[:14], '%Y%m%d%H%M%S'))


def _http(spec):
    """GET ``spec['url']`` once and judge the answer (no body_regex: network targets of type http)."""
    return _http_judge(spec, _http_get(spec), spec['timeout'])


def _http_get(spec):
    """GET ``spec['url']`` once (in a thread): (code, body, elapsed, cert result) or [results] when it failed."""
    # imported here, not at the top: every health_check run would pay ~10 ms for them, most never need them
    import http.client  # pylint: disable=import-outside-toplevel
    import ssl  # pylint: disable=import-outside-toplevel

    name = spec['name']
    parts = urlsplit(spec['url'])
    warn, crit = spec.get('warning'), spec.get('critical')
    cert_result = None
    start = time.monotonic()
    try:
        if parts.scheme == 'https':
            if spec.get('validate_certs', True):
                ctx = ssl.create_default_context(cafile=spec.get('ca_path') or None)
            else:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            if spec.get('client_cert'):
                ctx.load_cert_chain(spec['client_cert'], spec.get('client_key') or None)
            conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=spec['timeout'], context=ctx)
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=spec['timeout'])
        path = parts.path or '/'
        if parts.query:
            path += '?' + parts.query
        headers = {'User-Agent': 'redfire.ops.health_check', 'Connection': 'close'}
        if spec.get('url_username') is not None:
            import base64  # pylint: disable=import-outside-toplevel
            credentials = '%s:%s' % (spec['url_username'], spec.get('url_password') or '')
            headers['Authorization'] = 'Basic ' + base64.b64encode(credentials.encode('utf-8')).decode('ascii')
        try:
            conn.request('GET', path, headers=headers)
            if parts.scheme == 'https' and conn.sock is not None:
                der = conn.sock.getpeercert(True)
                if der:
                    cert_result = _cert_result(name, der, spec)
            resp = conn.getresponse()
            body = resp.read(MAX_BODY) if spec.get('body_regex') else b''
            code = resp.status
        finally:
            conn.close()
    except (OSError, socket.timeout, ssl.SSLError, http.client.HTTPException, ValueError) as exc:
        out = [result(name, 'http', 'critical', None, 's', warn, crit,
                      'GET %s failed: %s' % (spec['shown'], mask_secrets(_error_text(exc), spec['url'])),
                      time.monotonic() - start)]
        return out + ([cert_result] if cert_result else [])
    return code, body, time.monotonic() - start, cert_result


def _http_judge(spec, got, seconds):
    """[http result(, certificate result)] of what _http_get got; the body_regex runs here, in the caller's thread
    (the main one, see _Pending), within ``seconds``: a pattern that backtracks without end cannot hang the run."""
    if isinstance(got, list):
        return got
    code, body, elapsed, cert_result = got
    name = spec['name']
    warn, crit = spec.get('warning'), spec.get('critical')
    value = round(elapsed, 4)
    problems = []
    if code not in spec['expected_status']:
        problems.append('status %d not in %s' % (code, spec['expected_status']))
    if spec.get('body_regex'):
        start = time.monotonic()
        try:
            found = bounded_search(re.compile(spec['body_regex']), body.decode('utf-8', 'replace'), seconds)
        except DeadlineExceeded:
            return [result(name, 'http', 'unknown', value, 's', warn, crit,
                           'GET %s -> %d, but body_regex %r did not finish within %ss on the %d-byte body (it '
                           'backtracks too much: simplify it, e.g. (a+)+ to a+)'
                           % (spec['shown'], code, spec['body_regex'], _fmt(round(seconds, 3)), len(body)),
                           elapsed + time.monotonic() - start)] + ([cert_result] if cert_result else [])
        if not found:
            problems.append('body does not match %r' % spec['body_regex'])
    if problems:
        out = result(name, 'http', 'critical', value, 's', warn, crit,
                     'GET %s: %s (%ss)' % (spec['shown'], '; '.join(problems), _fmt(value)), elapsed)
    else:
        st = status_of(value, warn, crit)
        out = result(name, 'http', st, value, 's', warn, crit,
                     'GET %s -> %d in %s' % (spec['shown'], code, _threshold_message(value, 's', warn, crit, status=st)),
                     elapsed)
    return [out] + ([cert_result] if cert_result else [])


def _cert_result(name, der, spec, now=None):
    warn = spec.get('cert_warning_days', DEFAULT_CERT_WARNING_DAYS)
    crit = spec.get('cert_critical_days', DEFAULT_CERT_CRITICAL_DAYS)
    start = time.monotonic()
    try:
        not_after = cert_not_after(der)
    except (IndexError, ValueError, UnicodeError) as exc:
        return result('cert:%s' % name, 'certificate', 'unknown', None, 'd', warn, crit,
                      'cannot read certificate expiry: %s' % _error_text(exc), time.monotonic() - start)
    days = round((not_after - (now if now is not None else time.time())) / 86400.0, 2)
    st = status_of(days, warn, crit, lower_is_worse=True)
    when = time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(not_after))
    if days < 0:
        msg = 'certificate expired %s days ago (%s)' % (_fmt(-days), when)
    else:
        msg = 'certificate expires in %s (%s)' % (_threshold_message(days, ' days', warn, crit, True, st), when)
    return result('cert:%s' % name, 'certificate', st, days, 'd', warn, crit, msg, time.monotonic() - start)


def _http_timeout(spec, elapsed, error):
    name = spec['name']
    if error is not None:
        return [result(name, 'http', 'unknown', None, 's', spec.get('warning'), spec.get('critical'),
                       'check failed: %s' % mask_secrets(_error_text(error), spec['url']), 0.0)]
    return [result(name, 'http', 'critical', None, 's', spec.get('warning'), spec.get('critical'),
                   'GET %s: no answer within %ss' % (spec['shown'], _fmt(spec['timeout'])), elapsed)]


def http_jobs(endpoints):
    jobs = []
    for ep in endpoints:
        spec = dict(ep, name=ep.get('name') or mask_url(ep['url']), shown=mask_url(ep['url']))
        jobs.append((spec['timeout'], _http_get, (spec,), functools.partial(_http_timeout, spec),
                     functools.partial(_http_judge, spec)))
    return jobs


# --------------------------------------------------------------------------- databases


def postgres_driver():
    """The first installed PostgreSQL client library: ('psycopg2', module), ('psycopg', module) or None."""
    for modname in ('psycopg2', 'psycopg'):
        try:
            return modname, __import__(modname)
        except ImportError:
            continue
    return None


def redis_driver():
    try:
        import redis
        return redis
    except ImportError:
        return None


def _db_name(kind, spec):
    return spec.get('name') or '%s:%s:%s' % (kind, mask_url(spec['host']), spec['port'])


def _pg(spec):
    name = _db_name('postgresql', spec)
    driver = postgres_driver()
    start = time.monotonic()
    kwargs = dict(host=spec['host'], port=spec['port'], user=spec.get('user'), dbname=spec.get('database'),
                  connect_timeout=max(1, int(round(spec['timeout']))))
    if spec.get('password') is not None:
        kwargs['password'] = spec['password']
    if spec.get('sslmode'):
        kwargs['sslmode'] = spec['sslmode']
    kwargs = dict((k, v) for k, v in kwargs.items() if v is not None)
    try:
        conn = driver[1].connect(**kwargs)
        try:
            cur = conn.cursor()
            cur.execute('SELECT 1')
            row = cur.fetchone()
            cur.close()
        finally:
            conn.close()
    except Exception as exc:  # the drivers raise their own error hierarchies; pylint: disable=broad-except
        return result(name, 'postgresql', 'critical', None, 's', spec['warning'], spec['critical'],
                      'postgresql %s:%s: %s' % (mask_url(spec['host']), spec['port'], _redact(_error_text(exc), spec)),
                      time.monotonic() - start)
    elapsed = time.monotonic() - start
    if not row or row[0] != 1:
        return result(name, 'postgresql', 'critical', None, 's', spec['warning'], spec['critical'],
                      'SELECT 1 returned %r' % (row,), elapsed)
    return _latency_result(name, 'postgresql', elapsed, spec,
                           'postgresql %s:%s SELECT 1 (%s)' % (mask_url(spec['host']), spec['port'], driver[0]))


def _redis(spec):
    name = _db_name('redis', spec)
    redis = redis_driver()
    start = time.monotonic()
    kwargs = dict(host=spec['host'], port=spec['port'], db=spec.get('db') or 0,
                  username=spec.get('user'), password=spec.get('password'),
                  ssl=bool(spec.get('tls')), socket_timeout=spec['timeout'],
                  socket_connect_timeout=spec['timeout'])
    try:
        # redis-py >= 6 retries a failed connection three times with backoff: one attempt tells the truth faster.
        from redis.backoff import NoBackoff
        from redis.retry import Retry
        kwargs['retry'] = Retry(NoBackoff(), 0)
    except ImportError:
        pass
    try:
        client = redis.Redis(**kwargs)
        try:
            pong = client.ping()
        finally:
            client.close()
    except Exception as exc:  # redis.exceptions.*; pylint: disable=broad-except
        return result(name, 'redis', 'critical', None, 's', spec['warning'], spec['critical'],
                      'redis %s:%s: %s' % (mask_url(spec['host']), spec['port'], _redact(_error_text(exc), spec)),
                      time.monotonic() - start)
    elapsed = time.monotonic() - start
    if not pong:
        return result(name, 'redis', 'critical', None, 's', spec['warning'], spec['critical'],
                      'PING got no PONG', elapsed)
    return _latency_result(name, 'redis', elapsed, spec, 'redis %s:%s PING' % (mask_url(spec['host']), spec['port']))


def _redact(text, spec):
    """The error text of a driver without the password or the secrets of a DSN given as host."""
    pw = spec.get('password')
    text = text.replace(pw, '********') if pw else text
    return mask_secrets(text, spec['host'])


def db_jobs(kind, specs):
    func = _pg if kind == 'postgresql' else _redis
    jobs = []
    for spec in specs:
        jobs.append((spec['timeout'], func, (spec,), functools.partial(_db_timeout, kind, spec)))
    return jobs


def _db_timeout(kind, spec, elapsed, error):
    name = _db_name(kind, spec)
    if error is not None:
        return result(name, kind, 'unknown', None, 's', spec['warning'], spec['critical'],
                      'check failed: %s' % _redact(_error_text(error), spec), 0.0)
    return result(name, kind, 'critical', None, 's', spec['warning'], spec['critical'],
                  '%s %s:%s: no answer within %ss' % (kind, mask_url(spec['host']), spec['port'], _fmt(spec['timeout'])), elapsed)


# --------------------------------------------------------------------------- logs


def log_files(patterns):
    """[(path, size)] of the regular files matching the globs (no symlinks, no hidden files), each once."""
    seen = set()
    files = []
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            if path in seen or os.path.basename(path).startswith('.'):
                continue
            seen.add(path)
            try:
                st = os.lstat(path)
            except OSError:
                continue  # rotated away meanwhile
            if stat.S_ISREG(st.st_mode):
                files.append((path, st.st_size))
    return files


def check_logs(spec, now=None):
    """[log_size, log_errors]: the largest log file matching ``spec['paths']`` against its thresholds in MB, and the
    error lines of the last ``spec['hours']`` in those files and their rotated siblings (redfire.ops.log_analysis's
    core in one process), within ``spec['timeout']``: a scan cut by it makes log_errors unknown and says where it
    stopped. Runs in a forked child process (see _Forked)."""
    # imported here: the log scanner is the heaviest module_utils and most health_check runs do not scan logs
    from ansible_collections.redfire.ops.plugins.module_utils.log_scan import (  # pylint: disable=import-outside-toplevel
        LogScanError, analyze, file_problems)

    start = time.monotonic()
    where = ', '.join(spec['paths'])
    files = log_files(spec['paths'])
    sw, sc = spec['size_warning_mb'], spec['size_critical_mb']
    ew, ec = spec['errors_warning'], spec['errors_critical']
    if not files:
        none = 'no log files match %s' % where
        elapsed = time.monotonic() - start
        return [result('log_size', 'log_size', 'ok', 0.0, 'MB', sw, sc, none, elapsed),
                result('log_errors', 'log_errors', 'ok', 0, '', ew, ec, none, elapsed)]
    path, size = max(files, key=lambda f: f[1])
    size_mb = round(size / 1048576.0, 2)
    st = status_of(size_mb, sw, sc)
    size_result = result('log_size', 'log_size', st, size_mb, 'MB', sw, sc,
                         'largest log %s: %s; %d files match %s'
                         % (path, _threshold_message(size_mb, ' MB', sw, sc, status=st), len(files), where),
                         time.monotonic() - start)
    scan_start = time.monotonic()
    try:
        scan = analyze([f[0] for f in files], hours=spec['hours'], categories=spec['categories'], include_rotated=True,
                       timestamp_format=spec['timestamp_format'], timestamp_regex=spec['timestamp_regex'],
                       workers=1, max_details=0, max_context_lines=0, top_messages=0, now=now,
                       timeout=max(spec['timeout'] - (scan_start - start), 0.001))
    except LogScanError as exc:  # normalize() validated the options; a file's contents cannot raise this
        return [size_result, result('log_errors', 'log_errors', 'unknown', None, '', ew, ec,
                                    'log scan failed: %s: %s' % (exc.option, exc), time.monotonic() - scan_start)]
    total = scan['total_errors']
    st = status_of(total, ew, ec)
    by_category = ', '.join('%s=%d' % kv for kv in scan['error_counts'].items() if kv[1]) or 'none'
    message = '%d error lines in the last %s h: %s' % (total, _fmt(spec['hours']), by_category)
    if st != 'ok':
        message += ' (%s)' % _threshold_message(total, '', ew, ec, status=st)
    problems = [message for _path, message in file_problems(scan['files'])]
    if problems:  # errors may be missing from the count
        st = worst([st, 'unknown'])
        message += '; incomplete: %s' % '; '.join(problems[:3]) + (
            ' and %d more' % (len(problems) - 3) if len(problems) > 3 else '')
    return [size_result, result('log_errors', 'log_errors', st, total, '', ew, ec, message,
                                time.monotonic() - scan_start)]


def logs_jobs(spec):
    def on_timeout(elapsed, error):
        why = ('log check failed: %s' % _error_text(error)) if error is not None else \
            'log scan did not finish within %ss (raise logs.timeout, or shorten logs.hours)' % _fmt(spec['timeout'])
        return [result(name, name, 'unknown', None, unit, w, c, why, elapsed or 0.0)
                for name, unit, w, c in (('log_size', 'MB', spec['size_warning_mb'], spec['size_critical_mb']),
                                         ('log_errors', '', spec['errors_warning'], spec['errors_critical']))]
    return [(spec['timeout'], check_logs, (spec,), on_timeout, FORK)]


# --------------------------------------------------------------------------- validation


def _num(value, option, low=None, high=None, low_open=False):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ConfigError('%s must be a number, got %r' % (option, value))
    if math.isnan(value) or math.isinf(value):
        raise ConfigError('%s must be a finite number, got %s' % (option, value))
    if low is not None and (value < low or (low_open and value == low)):
        raise ConfigError('%s must be %s %s, got %s' % (option, '>' if low_open else '>=', _fmt(low), _fmt(value)))
    if high is not None and value > high:
        raise ConfigError('%s must be <= %s, got %s' % (option, _fmt(high), _fmt(value)))
    return value


def _pair(spec, option, warning_key, critical_key, lower_is_worse=False, high=None):
    w, c = spec.get(warning_key), spec.get(critical_key)
    if w is not None:
        w = _num(w, '%s.%s' % (option, warning_key), 0, high)
    if c is not None:
        c = _num(c, '%s.%s' % (option, critical_key), 0, high)
    if w is not None and c is not None:
        if lower_is_worse and w < c:
            raise ConfigError('%s: %s (%s) must not be below %s (%s): fewer days left is worse'
                              % (option, warning_key, _fmt(w), critical_key, _fmt(c)))
        if not lower_is_worse and w > c:
            raise ConfigError('%s: %s (%s) must not be above %s (%s)' % (option, warning_key, _fmt(w), critical_key, _fmt(c)))
    return w, c


def _with_defaults(spec, warning, critical):
    """Fill unset latency thresholds; a lone critical below the default warning pulls warning down to it."""
    w, c = spec.get('warning'), spec.get('critical')
    if c is None:
        c = critical if w is None or _as_float(w) is None or _as_float(w) <= critical else w
    if w is None:
        cf = _as_float(c)
        w = warning if cf is None else min(warning, cf)
    return {'warning': w, 'critical': c}


def _as_float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _timeout(value, option):
    return _num(value, option, 0, 300, low_open=True)


def _nonempty(value, option):
    if value is None or not str(value).strip():
        raise ConfigError('%s must be a non-empty string' % option)
    return str(value).strip()


def _port(value, option):
    try:
        port = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError('%s must be a TCP port number 1-65535, got %r' % (option, value))
    if not 1 <= port <= 65535:
        raise ConfigError('%s must be a TCP port number 1-65535, got %d' % (option, port))
    return port


def _url(value, option):
    value = _nonempty(value, option)
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError as exc:  # 'Invalid IPv6 URL': a bracket not closed
        raise ConfigError('%s is not a valid URL (%s): %r; write an IPv6 host in brackets, such as '
                          'http://[::1]:8080/health' % (option, exc, mask_url(value)))
    if parts.scheme not in ('http', 'https') or not host:
        raise ConfigError('%s must be an http:// or https:// URL with a host, got %r' % (option, mask_url(value)))
    try:
        parts.port
    except ValueError as exc:
        raise ConfigError('%s has an invalid port: %s' % (option, exc))
    return value


def _path_readable(path, timeout):
    """None if ``path`` can be statted, else the reason; a stat that hangs counts as readable (the check says unknown)."""
    task = _Task(os.stat, path)
    if not task.wait(task.started + timeout):
        return None
    if task.error is not None:
        return _error_text(task.error)
    return None


def normalize(params):
    """Validate module-style parameters and return a plain config for :func:`run_checks`.

    Raises ConfigError naming the option. ``params`` keys are the module's options; missing
    keys take their defaults, so the core can be called with a small dict.
    """
    p = dict(params or {})
    cfg = {}
    checks = p.get('checks')
    if checks is not None:
        if isinstance(checks, str):
            checks = [checks]
        unknown = [c for c in checks if c not in ALL_CHECKS]
        if unknown:
            raise ConfigError('checks: unknown check(s) %s; choose from %s' % (', '.join(map(str, unknown)), ', '.join(ALL_CHECKS)))
        selected = list(dict.fromkeys(checks))
    else:
        selected = list(SYSTEM_CHECKS)
        for kind, option in (('network', 'network_targets'), ('services', 'services'), ('processes', 'processes'),
                             ('ports', 'ports'), ('http', 'http'), ('postgresql', 'postgresql'), ('redis', 'redis'),
                             ('logs', 'logs')):
            if p.get(option):
                selected.append(kind)
    cfg['checks'] = selected

    cfg['cpu_sample'] = _num(p['cpu_sample'] if p.get('cpu_sample') is not None else DEFAULT_CPU_SAMPLE,
                             'cpu_sample', 0, 5)
    cfg['disk_timeout'] = _timeout(p['disk_timeout'] if p.get('disk_timeout') is not None else DEFAULT_DISK_TIMEOUT,
                                   'disk_timeout')
    cfg['timeout'] = _timeout(p['timeout'] if p.get('timeout') is not None else DEFAULT_TIMEOUT, 'timeout')

    thresholds = dict((k, dict(v)) for k, v in DEFAULT_THRESHOLDS.items())
    given = p.get('thresholds') or {}
    if not isinstance(given, dict):
        raise ConfigError('thresholds must be a dict of {check: {warning: N, critical: N}}')
    for key, val in given.items():
        if key not in thresholds:
            raise ConfigError('thresholds: unknown key %r; choose from %s' % (key, ', '.join(sorted(thresholds))))
        if val is None:
            continue
        if not isinstance(val, dict):
            raise ConfigError('thresholds.%s must be a dict with warning and/or critical' % key)
        merged = dict(thresholds[key])
        merged.update(dict((k, v) for k, v in val.items() if v is not None))
        extra = set(merged) - set(('warning', 'critical'))
        if extra:
            raise ConfigError('thresholds.%s: unknown key(s) %s; use warning and critical' % (key, ', '.join(sorted(extra))))
        w, c = _pair(merged, 'thresholds.%s' % key, 'warning', 'critical',
                     high=100 if key in PERCENT_THRESHOLDS else None)
        thresholds[key] = {'warning': w, 'critical': c}
    cfg['thresholds'] = thresholds

    mounts = p.get('disk_mounts') or []
    cfg['disk_mounts'] = []
    for i, m in enumerate(mounts):
        opt = 'disk_mounts[%d]' % i
        m = _nonempty(m, opt)
        if not m.startswith('/'):
            raise ConfigError('%s must be an absolute path, got %r' % (opt, m))
        if 'disk' in selected:
            reason = _path_readable(m, min(cfg['disk_timeout'], 1.0))
            if reason:
                raise ConfigError('%s: cannot read %s: %s' % (opt, m, reason))
        cfg['disk_mounts'].append(m)

    cfg['network_targets'] = []
    for i, t in enumerate(p.get('network_targets') or []):
        opt = 'network_targets[%d]' % i
        if not isinstance(t, dict):
            raise ConfigError('%s must be a dict with type and address' % opt)
        ttype = t.get('type') or 'tcp'
        if ttype not in ('tcp', 'http', 'dns'):
            raise ConfigError('%s.type must be tcp, http or dns, got %r' % (opt, ttype))
        addr = _nonempty(t.get('address'), '%s.address' % opt)
        if ttype == 'tcp':
            try:
                split_host_port(addr)
            except ValueError as exc:
                raise ConfigError('%s.address must be host:port for type tcp (%s), got %r' % (opt, exc, addr))
        elif ttype == 'http':
            _url(addr, '%s.address' % opt)
        w, c = _pair(t, opt, 'warning', 'critical')
        cfg['network_targets'].append({
            'type': ttype, 'address': addr, 'name': t.get('name') or None,
            'timeout': _timeout(t['timeout'], '%s.timeout' % opt) if t.get('timeout') is not None else cfg['timeout'],
            'warning': w, 'critical': c})

    cfg['services'] = [_nonempty(s, 'services[%d]' % i) for i, s in enumerate(p.get('services') or [])]
    for i, s in enumerate(cfg['services']):
        if any(ch.isspace() for ch in s) or s.startswith('-'):
            raise ConfigError('services[%d] must be a systemd unit name without spaces or a leading dash, got %r' % (i, s))
    cfg['processes'] = [_nonempty(s, 'processes[%d]' % i) for i, s in enumerate(p.get('processes') or [])]
    cfg['ports'] = [_port(v, 'ports[%d]' % i) for i, v in enumerate(p.get('ports') or [])]

    cfg['http'] = []
    for i, ep in enumerate(p.get('http') or []):
        opt = 'http[%d]' % i
        if not isinstance(ep, dict):
            raise ConfigError('%s must be a dict with at least url' % opt)
        url = _url(ep.get('url'), '%s.url' % opt)
        statuses = ep.get('expected_status') or [200]
        if not isinstance(statuses, list):
            statuses = [statuses]
        codes = []
        for s in statuses:
            try:
                code = int(s)
            except (TypeError, ValueError, OverflowError):
                code = -1
            if not 100 <= code <= 599:
                raise ConfigError('%s.expected_status must hold HTTP status codes 100-599, got %r' % (opt, s))
            codes.append(code)
        w, c = _pair(_with_defaults(ep, DEFAULT_HTTP_WARNING, DEFAULT_HTTP_CRITICAL), opt, 'warning', 'critical')
        cw = ep.get('cert_warning_days')
        cc = ep.get('cert_critical_days')
        cw, cc = _pair({'cert_warning_days': DEFAULT_CERT_WARNING_DAYS if cw is None else cw,
                        'cert_critical_days': DEFAULT_CERT_CRITICAL_DAYS if cc is None else cc},
                       opt, 'cert_warning_days', 'cert_critical_days', lower_is_worse=True)
        regex = ep.get('body_regex')
        if regex is not None and not isinstance(regex, str):
            raise ConfigError('%s.body_regex must be a regular expression (a string), got %r' % (opt, regex))
        if regex:
            try:
                re.compile(regex)
            except re.error as exc:
                raise ConfigError('%s.body_regex is not a valid regular expression: %s' % (opt, exc))
        ca_path = ep.get('ca_path')
        if ca_path and not os.path.isfile(ca_path):
            raise ConfigError('%s.ca_path: no such file %r' % (opt, ca_path))
        for key in ('client_cert', 'client_key'):
            if ep.get(key) and not os.path.isfile(ep[key]):
                raise ConfigError('%s.%s: no such file %r' % (opt, key, ep[key]))
        if ep.get('client_key') and not ep.get('client_cert'):
            raise ConfigError('%s.client_key needs %s.client_cert' % (opt, opt))
        if (ep.get('url_password') is not None) and ep.get('url_username') is None:
            raise ConfigError('%s.url_password needs %s.url_username' % (opt, opt))
        cfg['http'].append({
            'url': url, 'name': ep.get('name') or None, 'expected_status': codes,
            'timeout': _timeout(ep['timeout'], '%s.timeout' % opt) if ep.get('timeout') is not None else cfg['timeout'],
            'warning': w, 'critical': c, 'cert_warning_days': cw, 'cert_critical_days': cc,
            'body_regex': regex or None,
            'validate_certs': True if ep.get('validate_certs') is None else bool(ep.get('validate_certs')),
            'ca_path': ca_path or None, 'client_cert': ep.get('client_cert') or None,
            'client_key': ep.get('client_key') or None, 'url_username': ep.get('url_username'),
            'url_password': ep.get('url_password')})

    for kind, default_port in (('postgresql', 5432), ('redis', 6379)):
        cfg[kind] = []
        for i, db in enumerate(p.get(kind) or []):
            opt = '%s[%d]' % (kind, i)
            if not isinstance(db, dict):
                raise ConfigError('%s must be a dict with at least host' % opt)
            spec = dict(db)
            spec['host'] = _nonempty(db.get('host'), '%s.host' % opt)
            spec['port'] = _port(db['port'], '%s.port' % opt) if db.get('port') is not None else default_port
            spec['timeout'] = (_timeout(db['timeout'], '%s.timeout' % opt) if db.get('timeout') is not None
                               else cfg['timeout'])
            spec['warning'], spec['critical'] = _pair(_with_defaults(db, DEFAULT_DB_WARNING, DEFAULT_DB_CRITICAL),
                                                      opt, 'warning', 'critical')
            if kind == 'redis' and spec.get('db') is not None:
                spec['db'] = int(_num(spec['db'], '%s.db' % opt, 0, 65535))
            cfg[kind].append(spec)
    cfg['logs'] = _logs(p.get('logs')) if p.get('logs') and 'logs' in selected else None
    _unique_names(cfg)
    return cfg


def _logs(logs):
    """The ``logs`` option, validated (its categories by the log scanner itself)."""
    if not isinstance(logs, dict):
        raise ConfigError('logs must be a dict with at least paths (a list of log files or globs)')
    known = ('paths', 'hours', 'categories', 'timestamp_format', 'timestamp_regex', 'size_warning_mb',
             'size_critical_mb', 'errors_warning', 'errors_critical', 'timeout')
    extra = sorted(set(logs) - set(known))
    if extra:
        raise ConfigError('logs: unknown key(s) %s; use %s' % (', '.join(map(str, extra)), ', '.join(known)))
    paths = logs.get('paths')
    if isinstance(paths, str):
        paths = [paths]
    if not paths or not isinstance(paths, list):
        raise ConfigError('logs.paths must list at least one log file or glob, such as /var/log/redfire/*.log')
    spec = {'paths': [_nonempty(path, 'logs.paths[%d]' % i) for i, path in enumerate(paths)]}
    for i, path in enumerate(spec['paths']):
        if not path.startswith('/'):
            raise ConfigError('logs.paths[%d] must be an absolute path or glob, got %r' % (i, path))
    hours = logs.get('hours')
    spec['hours'] = _num(DEFAULT_LOG_HOURS if hours is None else hours, 'logs.hours', 0, MAX_LOG_HOURS, low_open=True)
    for wkey, ckey, wdefault, cdefault in (
            ('size_warning_mb', 'size_critical_mb', DEFAULT_LOG_SIZE_WARNING_MB, DEFAULT_LOG_SIZE_CRITICAL_MB),
            ('errors_warning', 'errors_critical', DEFAULT_LOG_ERRORS_WARNING, DEFAULT_LOG_ERRORS_CRITICAL)):
        given = dict((k, _num(logs[k], 'logs.%s' % k, 0)) for k in (wkey, ckey) if logs.get(k) is not None)
        filled = _with_defaults({'warning': given.get(wkey), 'critical': given.get(ckey)}, wdefault, cdefault)
        spec[wkey], spec[ckey] = _pair({wkey: filled['warning'], ckey: filled['critical']}, 'logs', wkey, ckey)
    spec['timeout'] = _timeout(DEFAULT_LOG_TIMEOUT if logs.get('timeout') is None else logs['timeout'], 'logs.timeout')
    from ansible_collections.redfire.ops.plugins.module_utils.log_scan import (  # pylint: disable=import-outside-toplevel
        DEFAULT_CATEGORIES, LogScanError, Matcher)
    from ansible_collections.redfire.ops.plugins.module_utils.log_time import (  # pylint: disable=import-outside-toplevel
        make_key_function)
    spec['categories'] = dict(DEFAULT_CATEGORIES) if logs.get('categories') is None else logs['categories']
    spec['timestamp_format'] = logs.get('timestamp_format') or None
    spec['timestamp_regex'] = logs.get('timestamp_regex') or None
    for key in ('timestamp_format', 'timestamp_regex'):
        if spec[key] is not None and not isinstance(spec[key], str):
            raise ConfigError('logs.%s must be a string, got %r' % (key, spec[key]))
    try:
        Matcher(spec['categories'])
        make_key_function(spec['timestamp_regex'], spec['timestamp_format'])
    except LogScanError as exc:
        raise ConfigError('logs.%s: %s' % (exc.option, exc))
    return spec


def _unique_names(cfg):
    """Each result needs its own name: it is the ``check`` label of the textfile metrics."""
    seen = {}
    named = [('network_targets[%d].name' % i, _target_name(t)) for i, t in enumerate(cfg['network_targets'])]
    named += [('http[%d].name' % i, h['name'] or mask_url(h['url'])) for i, h in enumerate(cfg['http'])]
    for kind in ('postgresql', 'redis'):
        named += [('%s[%d].name' % (kind, i), _db_name(kind, d)) for i, d in enumerate(cfg[kind])]
    if cfg['logs']:
        named += [('logs', 'log_size'), ('logs', 'log_errors')]
    for option, name in named:
        if name in seen:
            raise ConfigError('%s: the check name %r is already used by %s; give each check its own name'
                              % (option, name, seen[name]))
        seen[name] = option


def missing_libraries(cfg):
    """[(check, library)] needed by the selected checks but not importable here."""
    missing = []
    if not HAS_PSUTIL:
        for c in PSUTIL_CHECKS:
            if c in cfg['checks'] and (c != 'processes' or cfg['processes']):
                missing.append((c, 'psutil'))
    if 'postgresql' in cfg['checks'] and cfg['postgresql'] and postgres_driver() is None:
        missing.append(('postgresql', 'psycopg2 (or psycopg)'))
    if 'redis' in cfg['checks'] and cfg['redis'] and redis_driver() is None:
        missing.append(('redis', 'redis'))
    return missing


# --------------------------------------------------------------------------- run


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


FORK = 'fork'  # the finish of a job whose func runs in a forked child process (see _Pending)


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


def summarize(checks, skipped=None):
    status = worst(c['status'] for c in checks)
    return {
        'status': status,
        'checks': checks,
        'skipped': skipped or [],
        'summary': nagios_summary(status, checks),
        'health_status': guide_health_status(checks, skipped or []),
    }


def guide_health_status(checks, skipped):
    """The guide's HealthChecker.health_status keys, for scripts built on the guide."""
    by_name = dict((c['name'], c) for c in checks)
    out = {
        'cpu_usage': by_name.get('cpu', {}).get('value'),
        'memory_usage': by_name.get('memory', {}).get('value'),
        'disk_usage': None,
        'network_status': 'skipped',
    }
    if 'disk:/' in by_name:
        out['disk_usage'] = by_name['disk:/']['value']
    else:
        disks = [c['value'] for c in checks if c['kind'] == 'disk' and c['value'] is not None]
        out['disk_usage'] = max(disks) if disks else None
    net = [c for c in checks if c['kind'] == 'network']
    if net:
        out['network_status'] = 'connected' if all(c['status'] in ('ok', 'warning') for c in net) else 'disconnected'
    return out


_PERF_UNITS = {'%': '%', 's': 's', 'B': 'B'}


def _perf_label(name):
    label = name.replace("'", '_').replace('=', '_')
    return "'%s'" % label if (' ' in label or ':' in label or '/' in label) else label


def nagios_summary(status, checks):
    """``HEALTH <STATUS> - <problems or counts> | perfdata`` (Nagios plugin output)."""
    problems = [c for c in checks if c['status'] != 'ok']
    problems.sort(key=lambda c: -SEVERITY.get(c['status'], 2))
    if problems:
        text = '; '.join('%s %s: %s' % (c['name'], c['status'], c['message']) for c in problems[:10])
        if len(problems) > 10:
            text += '; and %d more' % (len(problems) - 10)
    else:
        text = '%d checks ok' % len(checks)
    perf = []
    for c in checks:
        if c['value'] is None or isinstance(c['value'], bool):
            continue
        unit = _PERF_UNITS.get(c['unit'], '')
        perf.append('%s=%s%s;%s;%s' % (_perf_label(c['name']), _fmt(c['value']), unit,
                                       '' if c['warning'] is None else _fmt(c['warning']),
                                       '' if c['critical'] is None else _fmt(c['critical'])))
    line = 'HEALTH %s - %s' % (status.upper(), text)
    return line + (' | ' + ' '.join(perf) if perf else '')


def _esc(value):
    return str(value).replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')


def render_textfile(status, checks, timestamp=None):
    """Prometheus text exposition for node_exporter's textfile collector."""
    lines = [
        '# HELP redfire_health_check_status Health check status (0 ok, 1 warning, 2 critical, 3 unknown).',
        '# TYPE redfire_health_check_status gauge',
    ]
    for c in checks:
        lines.append('redfire_health_check_status{check="%s",kind="%s"} %d'
                     % (_esc(c['name']), _esc(c['kind']), STATUS_CODE.get(c['status'], 3)))
    lines += [
        '# HELP redfire_health_check_value Value measured by a health check, in its unit.',
        '# TYPE redfire_health_check_value gauge',
    ]
    for c in checks:
        if c['value'] is None or isinstance(c['value'], bool):
            continue
        try:
            value = float(c['value'])
        except (TypeError, ValueError):
            continue
        lines.append('redfire_health_check_value{check="%s",kind="%s",unit="%s"} %s'
                     % (_esc(c['name']), _esc(c['kind']), _esc(c['unit']), repr(value)))
    lines += [
        '# HELP redfire_health_check_overall_status Worst status of the last health check run (0..3).',
        '# TYPE redfire_health_check_overall_status gauge',
        'redfire_health_check_overall_status %d' % STATUS_CODE.get(status, 3),
        '# HELP redfire_health_check_last_run_timestamp_seconds When the last health check run finished.',
        '# TYPE redfire_health_check_last_run_timestamp_seconds gauge',
        'redfire_health_check_last_run_timestamp_seconds %s'
        % ('%.3f' % (time.time() if timestamp is None else float(timestamp))).rstrip('0').rstrip('.'),
    ]
    return '\n'.join(lines) + '\n'


def validate_textfile(path, shape_only=False):
    """Reason why ``path`` cannot take the textfile output, or None.

    ``shape_only`` checks the name but not the directory (check mode: an earlier task may create it).
    """
    if not path.startswith('/'):
        return 'must be an absolute path, got %r' % path
    if not path.endswith('.prom'):
        return "must end in .prom (node_exporter's textfile collector reads only *.prom), got %r" % path
    if shape_only:
        return None
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        return 'directory %s does not exist (create it or point textfile at node_exporter\'s textfile directory)' % directory
    if not os.access(directory, os.W_OK | os.X_OK):
        return 'directory %s is not writable' % directory
    return None
