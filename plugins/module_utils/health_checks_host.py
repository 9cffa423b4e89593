# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host checks of health_check: CPU, load, memory, swap, disks, time sync, services, processes, listening ports."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import stat
import subprocess
import time


from ansible_collections.redfire.ops.plugins.module_utils.health_checks_common import (
    PSEUDO_FSTYPES, _error_text, _fmt, _threshold_message, psutil, result, status_of,
)


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
