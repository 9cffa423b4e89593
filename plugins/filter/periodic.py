# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The periodic checklist's decisions: the host checks from what the host's tasks collected (log analysis, package
upgrades, listening ports, SSH settings, backups), the performance checks from Prometheus (this window against the
previous one), and the alerting test. The role's tasks only collect; every status and message is built here."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
import time

from ansible_collections.redfire.ops.plugins.module_utils import check_result
from ansible_collections.redfire.ops.plugins.module_utils import health_checks as core
from ansible_collections.redfire.ops.plugins.module_utils.filter_input import guarded, is_number

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # pragma: no cover - only without Ansible
    AnsibleFilterError = ValueError

_SS_PORT = re.compile(r'(?m)^\S+\s+\d+\s+\d+\s+\S*:(\d+)\s')
_SSHD_KEY = r'(?im)^\s*%s\s+(\S+)'
MB = 1048576.0


def _truncate(text, length=300):
    text = str(text or '')
    return text if len(text) <= length else text[:length - 3] + '...'


def _fmt(value):
    if isinstance(value, float):
        value = round(value, 4)
    return core._fmt(value)  # pylint: disable=protected-access


def _number(option, value, filter_name):
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not is_number(number):
        raise AnsibleFilterError('%s: %s must be a number, got %r' % (filter_name, option, value))
    return number


def _check(name, kind, status, value=None, unit='', warning=None, critical=None, message='', reason=None, **details):
    """A check of the collection's one result model (module_utils/check_result); extras go to details."""
    details = dict((k, v) for k, v in details.items() if v is not None)
    return check_result.result(name, kind, status, value, unit, warning, critical, message, reason=reason,
                               details=details or None)


def _command_failed(registered):
    return not isinstance(registered, dict) or registered.get('rc', 1) != 0


# --- the host checks -------------------------------------------------------------------------------------------

def log_errors_check(analysis, window_hours, warning=0, critical=100):
    """The error lines of the window (redfire.ops.log_analysis's result). Errors above critical are critical; below
    that, files that were not read whole or had no timestamp of the format make the count unreliable: unknown."""
    analysis = analysis or {}
    errors = int(analysis.get('total_errors') or 0)
    problems = list(analysis.get('problems') or [])
    status = check_result.status_of(errors, warning, critical)
    if status != 'critical' and problems:
        status = 'unknown'
    by_category = ', '.join('%s=%s' % (name, count) for name, count in (analysis.get('error_counts') or {}).items()
                            if count)
    message = '%d error lines in %s h: %s' % (errors, _fmt(window_hours), by_category or 'none')
    if problems:
        message += '; incomplete: ' + '; '.join(str(p) for p in problems[:3])
    return _check('log_errors', 'log_errors', status, errors, '', warning, critical, message,
                  reason='incomplete' if problems else None)


def security_updates_check(apt, warning=0, critical=20):
    """Pending upgrades from ``apt-get -s upgrade``; those from a security source counted."""
    if _command_failed(apt):
        return _check('security_updates', 'security', 'unknown', None, '', warning, critical,
                      'apt-get -s upgrade failed: ' + _truncate((apt or {}).get('stderr') or (apt or {}).get('msg'), 200),
                      reason='command_failed')
    upgrades = [line[len('Inst '):] for line in (apt.get('stdout_lines') or []) if line.startswith('Inst ')]
    security = [line for line in upgrades if re.search('(?i)security', line)]
    message = '%d security updates pending of %d upgrades' % (len(security), len(upgrades))
    if security:
        message += ': ' + ', '.join(line.split()[0] for line in security)
    return _check('security_updates', 'security', check_result.status_of(len(security), warning, critical), len(security),
                  '', warning, critical, message)


def listening_ports_check(ss, allowed):
    """Listening TCP ports (``ss -H -l -t -n``) against the allow-list: one not allowed is a warning."""
    if _command_failed(ss):
        return _check('listening_ports', 'security', 'unknown', None, '', None, None,
                      'ss failed: ' + _truncate((ss or {}).get('stderr') or (ss or {}).get('msg'), 200),
                      reason='command_failed')
    allowed = set(int(_number('allowed ports', port, 'periodic_host_checks')) for port in allowed or [])
    listening = sorted(set(int(port) for port in _SS_PORT.findall(ss.get('stdout') or '')))
    unexpected = [port for port in listening if port not in allowed]
    if unexpected:
        message = 'ports not in the allow-list: ' + ', '.join(str(p) for p in unexpected)
    else:
        message = 'listening: %s (all allowed)' % (', '.join(str(p) for p in listening) or 'none')
    return _check('listening_ports', 'security', 'warning' if unexpected else 'ok', len(unexpected), '', None, None,
                  message, unexpected=unexpected)


def ssh_settings_check(sshd_text, exists=True, require_keys=True):
    """PermitRootLogin and PasswordAuthentication of an sshd_config text (the first value counts, as for sshd)."""
    if not exists:
        return _check('ssh_settings', 'security', 'ok', 0, '', None, None, 'no SSH server configuration',
                      reason='no_sshd_config')
    text = sshd_text or ''

    def first(key, default):
        found = re.findall(_SSHD_KEY % key, text)
        return (found[0] if found else default).lower()
    root, password = first('PermitRootLogin', 'prohibit-password'), first('PasswordAuthentication', 'yes')
    problems = []
    if root not in ('no', 'prohibit-password', 'without-password'):
        problems.append('PermitRootLogin %s (want no or prohibit-password)' % root)
    if password != 'no' and require_keys:
        problems.append('PasswordAuthentication %s (want no)' % password)
    return _check('ssh_settings', 'security', 'warning' if problems else 'ok', len(problems), '', None, None,
                  '; '.join(problems) if problems else 'sshd settings ok')


def backup_check(files, dirs, now=None, age_warning_h=26, age_critical_h=50, min_size_mb=1):
    """The newest backup file (ansible.builtin.find's files) by age and size: none, or smaller than the minimum,
    is critical."""
    now = time.time() if now is None else float(now)
    files = [f for f in files or [] if isinstance(f, dict) and 'mtime' in f]
    if not files:
        return _check('backup', 'backup', 'critical', 0, 'h', age_warning_h, age_critical_h,
                      'no backup found in ' + ', '.join(str(d) for d in dirs or []), reason='no_backup')
    newest = max(files, key=lambda f: float(f['mtime']))
    age_h = round((now - float(newest['mtime'])) / 3600.0, 1)
    size_mb = float(newest.get('size') or 0) / MB
    small = size_mb < float(min_size_mb)
    status = 'critical' if small else check_result.status_of(age_h, age_warning_h, age_critical_h)
    message = 'newest backup %s, %s h old, %s MB' % (newest.get('path'), _fmt(age_h), _fmt(round(size_mb, 2)))
    if small:
        message += ' < minimum %s MB' % _fmt(min_size_mb)
    return _check('backup', 'backup', status, age_h, 'h', age_warning_h, age_critical_h, message,
                  reason='too_small' if small else None)


def periodic_host_checks(collected, settings=None):
    """The periodic checks of one host from what its tasks collected: ``collected`` has window_hours, logs (the
    find result), log_analysis, apt, ss, sshd_exists, sshd_text, backup_dirs, backups (the find result); ``settings``
    the thresholds (log_errors_warning/critical, security_updates_warning/critical, allowed_ports,
    ssh_require_keys, backup_age_warning_h/critical_h, backup_min_size_mb)."""
    if not isinstance(collected, dict):
        raise AnsibleFilterError('periodic_host_checks: input must be a dict of what the host tasks collected, got %s'
                                 % type(collected).__name__)
    s = dict(settings or {})
    name = 'periodic_host_checks'
    window = _number('window_hours', collected.get('window_hours', 168), name)
    checks = []
    audit = collected.get('audit')
    if isinstance(audit, dict) and audit.get('skipped') is True:
        audit = None  # the host_audit task did not run (checklist_periodic_host_audit false)
    if audit is not None and not isinstance(audit, dict):
        raise AnsibleFilterError('periodic_host_checks: audit must be the registered result of redfire.ops.host_audit')
    if (collected.get('logs') or {}).get('files'):
        checks.append(log_errors_check(collected.get('log_analysis'), window,
                                       _number('log_errors_warning', s.get('log_errors_warning', 0), name),
                                       _number('log_errors_critical', s.get('log_errors_critical', 100), name)))
    if audit is not None:  # redfire.ops.host_audit's security and backup checks replace the simple ones below
        return checks + list(audit.get('checks') or [])
    checks.append(security_updates_check(collected.get('apt'),
                                         _number('security_updates_warning', s.get('security_updates_warning', 0), name),
                                         _number('security_updates_critical', s.get('security_updates_critical', 20),
                                                 name)))
    checks.append(listening_ports_check(collected.get('ss'), s.get('allowed_ports', [22, 9100])))
    checks.append(ssh_settings_check(collected.get('sshd_text'), bool(collected.get('sshd_exists')),
                                     bool(s.get('ssh_require_keys', True))))
    if collected.get('backup_dirs'):
        checks.append(backup_check((collected.get('backups') or {}).get('files'), collected.get('backup_dirs'),
                                   collected.get('now'),
                                   _number('backup_age_warning_h', s.get('backup_age_warning_h', 26), name),
                                   _number('backup_age_critical_h', s.get('backup_age_critical_h', 50), name),
                                   _number('backup_min_size_mb', s.get('backup_min_size_mb', 1), name)))
    return checks


def periodic_backup_sources(dirs, patterns=None, age_warning_h=26, age_critical_h=50, min_size_mb=1):
    """redfire.ops.host_audit backup_sources of type files, one per backup directory, with the periodic check's
    age and size thresholds (the directories of checklist_periodic_backup_dirs), named by the path
    (/var/backups/redfire: var_backups_redfire)."""
    if not isinstance(dirs, (list, tuple)):
        raise AnsibleFilterError('periodic_backup_sources: the backup directories must be a list, got %s'
                                 % type(dirs).__name__)
    name = 'periodic_backup_sources'
    warning = _number('age_warning_h', age_warning_h, name)
    critical = _number('age_critical_h', age_critical_h, name)
    min_bytes = _number('min_size_mb', min_size_mb, name) * MB
    return [{'name': re.sub(r'[^A-Za-z0-9_.:-]+', '_', str(d).strip('/')) or 'root', 'type': 'files', 'path': str(d), 'patterns': list(patterns or ['*']),
             'warning_age_hours': warning, 'critical_age_hours': critical, 'min_size_bytes': min_bytes}
            for d in dirs]


# --- performance from Prometheus -------------------------------------------------------------------------------

def _queries(queries, filter_name):
    if not isinstance(queries, (list, tuple)):
        raise AnsibleFilterError('%s: queries must be a list of {name, query, ...}, got %s'
                                 % (filter_name, type(queries).__name__))
    for i, q in enumerate(queries):
        if not isinstance(q, dict) or not q.get('name') or not isinstance(q.get('query'), str):
            raise AnsibleFilterError('%s: queries[%d] needs a name and a query (PromQL with $window), got %r'
                                     % (filter_name, i, q))
    return queries


def previous_window_query(query, window_hours):
    """The same expression one window earlier: any PromQL, as a one-point subquery moved back by the window."""
    return 'last_over_time((%s)[1m:1m] offset %dh)' % (query, int(window_hours))


def prometheus_requests(queries, window_hours, compare=True):
    """The instant queries to run: each entry's query over this window, and (with compare, unless the entry says
    compare: false) the same over the previous window. Each request names its entry and its window."""
    hours = _number('window_hours', window_hours, 'prometheus_requests')
    if hours < 1:
        raise AnsibleFilterError('prometheus_requests: window_hours must be at least 1, got %r' % (window_hours,))
    out = []
    for q in _queries(queries, 'prometheus_requests'):
        current = q['query'].replace('$window', '%dh' % int(hours))
        out.append({'name': q['name'], 'window': 'current', 'query': current})
        if compare and q.get('compare', True):
            out.append({'name': q['name'], 'window': 'previous', 'query': previous_window_query(current, hours)})
    return out


def _series(answer):
    """{label set key: value} of an instant query's answer (uri result), or the error text."""
    if not isinstance(answer, dict) or answer.get('status') != 200:
        answer = answer if isinstance(answer, dict) else {}
        error = (answer.get('json') or {}).get('error') if isinstance(answer.get('json'), dict) else None
        return None, 'query failed: HTTP %s %s' % (answer.get('status', 'no answer'), error or answer.get('msg') or '')
    data = (answer.get('json') or {}).get('data') or {}
    return data.get('result') or [], None


def _change(current, previous):
    if previous is None:
        return None
    if previous == 0:
        return 0.0 if current == 0 else None
    return (current - previous) / abs(previous) * 100.0


def prometheus_checks(answers, queries, window_hours):
    """One check per series of each query: status from the thresholds on this window's value, and from the
    change against the previous window (change_warning / change_critical, in percent, in the worse direction:
    up by default, down with lower_is_worse). ``answers`` are the uri results of prometheus_requests (item = the
    request)."""
    hours = _number('window_hours', window_hours, 'prometheus_checks')
    by_request = {}
    for answer in answers or []:
        request = answer.get('item') if isinstance(answer, dict) else None
        if not isinstance(request, dict) or 'name' not in request:
            raise AnsibleFilterError('prometheus_checks: each answer must be a uri result looped over '
                                     'prometheus_requests (item with name and window)')
        by_request[(request['name'], request.get('window', 'current'))] = answer
    checks = []
    for q in _queries(queries, 'prometheus_checks'):
        name, label, unit = q['name'], q.get('label', 'instance'), q.get('unit', '')
        warning, critical = q.get('warning'), q.get('critical')
        lower = bool(q.get('lower_is_worse', False))
        current, error = _series(by_request.get((name, 'current')))
        if error:
            checks.append(_check(name, 'prometheus', 'unknown', message=error, reason='query_failed'))
            continue
        if not current:
            checks.append(_check(name, 'prometheus', 'unknown', message='no data for ' + q['query'].replace(
                '$window', '%dh' % int(hours)), reason='no_data'))
            continue
        previous, previous_error = _series(by_request.get((name, 'previous'))) \
            if (name, 'previous') in by_request else ([], None)
        before = {}
        for s in previous or []:
            before[(s.get('metric') or {}).get(label, '')] = float(s['value'][1])
        for s in current:
            value = float(s['value'][1])
            series = (s.get('metric') or {}).get(label, '')
            status = check_result.status_of(value, warning, critical, lower_is_worse=lower)
            prior = before.get(series)
            change = _change(value, prior)
            message = '%s%s over %d h: %s%s' % (name, (' ' + series) if series else '', int(hours), _fmt(value), unit)
            if (name, 'previous') not in by_request:
                pass
            elif previous_error:
                message += '; previous window: ' + previous_error
            elif prior is None:
                message += '; no data for the previous %d h' % int(hours)
            else:
                message += ' against %s%s the previous %d h' % (_fmt(prior), unit, int(hours))
                if change is not None:
                    message += ' (%+.1f%%)' % change
                    worse = -change if lower else change
                    change_status = check_result.status_of(worse, q.get('change_warning'), q.get('change_critical'))
                    if check_result.severity(change_status) > check_result.severity(status):
                        status = change_status
            checks.append(_check(name + ((':' + series) if series else ''), 'prometheus', status, round(value, 4),
                                 unit, warning, critical, message, previous=None if prior is None else round(prior, 4),
                                 change_percent=None if change is None else round(change, 1)))
    return checks


# --- the alerting test -----------------------------------------------------------------------------------------

def _raise_error(series, posted):
    """Why the test alert could not be raised (the textfile of its series not written, or Alertmanager refused
    the alert), or None. Skipped steps (the other way of raising it) are no error."""
    series, posted = series or {}, posted or {}
    if not series.get('skipped') and series.get('failed'):
        return 'the series could not be written: ' + str(series.get('msg') or 'no answer')
    if posted and not posted.get('skipped') and posted.get('status') != 200:
        return 'Alertmanager did not take the test alert: HTTP %s' % (posted.get('status') or 'no answer')
    return None


def alerting_check(steps, alert_id, must_receive=True, timeout=60, via='prometheus'):
    """The alerting test's check from its steps: ``steps`` has series, posted, held (Alertmanager listed the
    alert: true/false), received (the receiver check saw the id: true/false/None).
    With via=prometheus the alert came from Prometheus's rule, so rules, the Prometheus-Alertmanager link and the
    receivers are proven; with via=alertmanager it was posted straight to Alertmanager (rules not proven). series
    and posted are the registered results of the two ways of raising it (one of them skipped)."""
    if not isinstance(steps, dict):
        raise AnsibleFilterError('alerting_check: input must be a dict of series, posted, held, received')
    if via not in ('prometheus', 'alertmanager'):
        raise AnsibleFilterError("alerting_check: via must be prometheus or alertmanager, got %r" % (via,))
    path = 'Prometheus rule RedfireChecklistTest' if via == 'prometheus' else 'Alertmanager API'
    received = bool(steps.get('received'))
    raise_error = _raise_error(steps.get('series'), steps.get('posted'))
    if raise_error:
        status, value, reason = 'critical', 0, 'not_raised'
        message = 'test alert %s could not be raised: %s' % (alert_id, _truncate(raise_error, 200))
    elif not steps.get('held'):
        status, value, reason = 'critical', 0, 'not_held'
        message = 'Alertmanager did not list test alert %s (through %s) within %s s' % (alert_id, path, _fmt(timeout))
    elif received:
        status, value, reason = 'ok', 1, None
        message = 'test alert %s delivered to the webhook receiver (through %s)' % (alert_id, path)
    elif must_receive:
        status, value, reason = 'critical', 0, 'not_received'
        message = 'test alert %s not seen by the webhook receiver within %s s' % (alert_id, _fmt(timeout))
    else:
        status, value, reason = 'ok', 1, None
        message = 'test alert %s held by Alertmanager (through %s; no receiver check configured)' % (alert_id, path)
    return _check('alerting_test', 'alerting', status, value, '', None, None, message, reason=reason, via=via,
                  alert_id=alert_id)


def alert_held(alerts, alert_id):
    """Whether Alertmanager's /api/v2/alerts answer lists the test alert of this id (firing)."""
    return any(isinstance(a, dict) and (a.get('labels') or {}).get('redfire_test_id') == alert_id
               for a in alerts or [])


def alert_test_textfile(alert_id, metric='redfire_checklist_test_alert'):
    """node_exporter textfile text of the series the test alert rule fires on."""
    if not re.match(r'^[A-Za-z0-9_.:-]+$', str(alert_id)):
        raise AnsibleFilterError('alert_test_textfile: the alert id must be letters, digits, _ . : -, got %r'
                                 % (alert_id,))
    return ('# HELP %s Set by the periodic checklist to fire its test alert.\n# TYPE %s gauge\n'
            '%s{redfire_test_id="%s"} 1\n' % (metric, metric, metric, alert_id))


class FilterModule(object):
    def filters(self):
        return dict((name, guarded(name, func, AnsibleFilterError)) for name, func in (
            ('periodic_host_checks', periodic_host_checks), ('periodic_backup_sources', periodic_backup_sources),
            ('prometheus_requests', prometheus_requests),
            ('prometheus_checks', prometheus_checks), ('alerting_check', alerting_check),
            ('alert_held', alert_held), ('alert_test_textfile', alert_test_textfile)))
