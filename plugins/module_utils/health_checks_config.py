# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""health_check's options checked and normalized before anything runs (ConfigError names the option)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import os
import re
from collections import namedtuple

from ansible_collections.redfire.ops.plugins.module_utils.platforms import LIBRARY_PACKAGES
from ansible_collections.redfire.ops.plugins.module_utils.url_secrets import mask_url

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported by this collection
    from urlparse import urlsplit  # type: ignore

from ansible_collections.redfire.ops.plugins.module_utils.health_checks_common import (
    ALL_CHECKS, ConfigError, DEFAULT_CERT_CRITICAL_DAYS, DEFAULT_CERT_WARNING_DAYS, DEFAULT_CPU_SAMPLE,
    DEFAULT_DB_CRITICAL, DEFAULT_DB_WARNING, DEFAULT_DISK_TIMEOUT, DEFAULT_HTTP_CRITICAL, DEFAULT_HTTP_WARNING,
    DEFAULT_LOG_ERRORS_CRITICAL, DEFAULT_LOG_ERRORS_WARNING, DEFAULT_LOG_HOURS, DEFAULT_LOG_SIZE_CRITICAL_MB,
    DEFAULT_LOG_SIZE_WARNING_MB, DEFAULT_LOG_TIMEOUT, DEFAULT_THRESHOLDS, DEFAULT_TIMEOUT, HAS_PSUTIL,
    MAX_LOG_HOURS, PERCENT_THRESHOLDS, PSUTIL_CHECKS, SYSTEM_CHECKS, _Task, _error_text, _fmt,
)
from ansible_collections.redfire.ops.plugins.module_utils.health_checks_net import (
    _target_name, split_host_port,
)
from ansible_collections.redfire.ops.plugins.module_utils.health_checks_stores import (
    _db_name, postgres_driver, redis_driver,
)


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
    """The ``logs`` option, validated (its categories and journal sources by the log scanner itself)."""
    if not isinstance(logs, dict):
        raise ConfigError('logs must be a dict with paths (a list of log files or globs) and/or journal (units)')
    known = ('paths', 'journal', 'hours', 'categories', 'timestamp_format', 'timestamp_regex', 'size_warning_mb',
             'size_critical_mb', 'errors_warning', 'errors_critical', 'timeout')
    extra = sorted(set(logs) - set(known))
    if extra:
        raise ConfigError('logs: unknown key(s) %s; use %s' % (', '.join(map(str, extra)), ', '.join(known)))
    paths = logs.get('paths')
    if isinstance(paths, str):
        paths = [paths]
    journal = logs.get('journal')
    if journal is None:
        journal = []
    if paths is None and journal:
        paths = []
    if not isinstance(paths, list) or not (paths or journal):
        raise ConfigError('logs.paths must list at least one log file or glob, such as /var/log/redfire/*.log '
                          '(or give logs.journal, units whose journal is counted)')
    spec = {'paths': [_nonempty(path, 'logs.paths[%d]' % i) for i, path in enumerate(paths)]}
    for i, path in enumerate(spec['paths']):
        if not path.startswith('/'):
            raise ConfigError('logs.paths[%d] must be an absolute path or glob, got %r' % (i, path))
    from ansible_collections.redfire.ops.plugins.module_utils.log_journal import (  # pylint: disable=import-outside-toplevel
        parse_sources)
    from ansible_collections.redfire.ops.plugins.module_utils.log_patterns import (  # pylint: disable=import-outside-toplevel
        LogScanError as JournalError)
    try:
        parse_sources(journal)
    except JournalError as exc:
        raise ConfigError('logs.%s' % str(exc))
    spec['journal'] = journal
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


MissingLibrary = namedtuple('MissingLibrary', ['check', 'library', 'package'])


def missing_libraries(cfg):
    """[MissingLibrary] needed by the selected checks but not importable here."""
    missing = []
    if not HAS_PSUTIL:
        for c in PSUTIL_CHECKS:
            if c in cfg['checks'] and (c != 'processes' or cfg['processes']):
                missing.append(MissingLibrary(c, 'psutil', LIBRARY_PACKAGES['psutil']))
    if 'postgresql' in cfg['checks'] and cfg['postgresql'] and postgres_driver() is None:
        missing.append(MissingLibrary('postgresql', 'psycopg2 (or psycopg)', LIBRARY_PACKAGES['postgresql']))
    if 'redis' in cfg['checks'] and cfg['redis'] and redis_driver() is None:
        missing.append(MissingLibrary('redis', 'redis', LIBRARY_PACKAGES['redis']))
    return missing


# --------------------------------------------------------------------------- run
