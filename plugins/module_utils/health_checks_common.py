# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared pieces of the health checks: defaults, the result record, threshold messages, the task record."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import threading
import time

from ansible_collections.redfire.ops.plugins.module_utils import check_result

# The result record, the statuses, their severity and worst-of live in check_result (re-exported here
# for callers of this module).
STATUSES = check_result.STATUSES
STATUS_CODE = check_result.STATUS_CODE
SEVERITY = check_result.SEVERITY
worst = check_result.worst
status_of = check_result.status_of

FORK = 'fork'  # the finish of a job whose func runs in a forked child process (see health_checks._Pending)

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
    # imported here so callers can test HAS_PSUTIL
    import psutil  # noqa: F401  pylint: disable=unused-import
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
