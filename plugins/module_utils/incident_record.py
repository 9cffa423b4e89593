# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The record of one alert-driven incident (timeline, time to detect and to recover, impact, actions, escalation),
the impact from Prometheus's orders, and the user notice (用户通知发布) with everything internal scrubbed out.
Pure Python; the decisions before it are in incident.py."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import math
import re

from ansible_collections.redfire.ops.plugins.module_utils.incident import IncidentError, format_time, parse_time

RECORD_FIELDS = ('id', 'alertname', 'runbook', 'host', 'unit', 'instance', 'severity', 'summary', 'description')

IPV4 = re.compile(r'(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?(?![\d.])')
# an IPv6 address has "::" or at least three groups, so that a clock time (12:00:00) is none
IPV6 = re.compile(r'(?<![0-9A-Fa-f:])(?=[0-9A-Fa-f:]*::|(?:[0-9A-Fa-f]{1,4}:){3})(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}'
                  r'(?![0-9A-Fa-f:])')
# host:port with a letter in the host part (a clock time 12:00 is none; IPv4 with a port is IPV4's)
HOST_PORT = re.compile(r'\b(?=[A-Za-z0-9.-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9.-]*:\d{2,5}\b')
FQDN = re.compile(r'\b(?:[A-Za-z0-9-]+\.)+(?:local|lan|internal|corp|intra|example|com|net|org|cn|io)\b', re.I)
TRACE_LINE = re.compile(r'^\s*(Traceback \(most recent call last\)|File "|at [\w.$]+\(|\w+(\.\w+)*(Error|Exception)\b)')

NOTICE_TEXT = {
    'zh': {
        'incident_title': '【服务通知】{service}出现异常',
        'incident': ('尊敬的用户：自{since}起，{service}出现异常，部分功能可能暂时无法使用。'
                     '我们的运维团队已在处理（{doing}）。下次更新时间：{next_update}。给您带来不便，敬请谅解。'),
        'clear_title': '【服务恢复】{service}已恢复正常',
        'clear': '尊敬的用户：{service}自{since}起的异常已于{until}恢复，服务现已正常。感谢您的耐心与理解。',
        'doing_restart': '正在恢复服务', 'doing_escalated': '已升级至更高级别的技术团队处理',
        'doing_diagnose': '正在排查原因', 'default_service': '部分服务',
    },
    'en': {
        'incident_title': '[Service notice] {service} disrupted',
        'incident': ('Since {since}, {service} has been disrupted and some functions may be unavailable. '
                     'Our operations team is working on it ({doing}). Next update: {next_update}. '
                     'We apologise for the inconvenience.'),
        'clear_title': '[Service restored] {service} is back to normal',
        'clear': 'The disruption of {service} since {since} ended at {until}; the service works normally again. '
                 'Thank you for your patience.',
        'doing_restart': 'restoring the service', 'doing_escalated': 'escalated to a senior engineering team',
        'doing_diagnose': 'investigating the cause', 'default_service': 'some services',
    },
}


def _now(now):
    if now is None:
        return datetime.datetime.now(datetime.timezone.utc)
    parsed = parse_time(now, 'now')
    if parsed is None:
        raise IncidentError('now must be a time, got %r' % (now,))
    return parsed


def _check_record(record):
    if not isinstance(record, dict) or not isinstance(record.get('timeline'), list) or 'id' not in record:
        raise IncidentError('an incident record must be the dict incident_record made, got %r' % (type(record).__name__,))


def _seconds(start, end):
    if not start or not end:
        return None
    return int(round((parse_time(end) - parse_time(start)).total_seconds()))


def open_record(alert, received_at):
    """A new record for a firing alert (an Alert's dict): the timeline starts at the alert's startsAt."""
    if not isinstance(alert, dict) or 'incident_id' not in alert or 'starts_at' not in alert:
        raise IncidentError('alert must be one of incident_alerts\' results, got %r' % (alert,))
    labels = alert.get('labels') or {}
    annotations = alert.get('annotations') or {}
    received = format_time(_now(received_at))
    record = {
        'id': alert['incident_id'], 'fingerprint': alert.get('fingerprint', ''),
        'alertname': alert.get('alertname', ''), 'runbook': alert.get('runbook', ''),
        'host': alert.get('host') or '', 'unit': alert.get('unit', ''), 'instance': alert.get('instance', ''),
        'severity': labels.get('severity', ''), 'summary': annotations.get('summary', ''),
        'description': annotations.get('description', ''),
        'status': 'open', 'level': int(alert.get('level') or 1),
        'starts_at': alert['starts_at'], 'received_at': received, 'diagnosed_at': '', 'service_back_at': '',
        'resolved_at': '', 'time_to_detect_seconds': None, 'time_to_recover_seconds': None,
        'timeline': [], 'actions': [], 'notifications': [], 'user_notice': False,
        'impact': {'hosts': [alert['host']] if alert.get('host') else [],
                   'endpoints': [alert['instance']] if alert.get('instance') else [],
                   'orders_failed': None, 'orders_missing': None},
        'silences': [], 'root_cause': '', 'lessons': '',
    }
    add_event(record, alert['starts_at'], 'alert %s started (startsAt)' % record['alertname'], 'prometheus')
    add_event(record, received, 'alert received by the rulebook', 'controller')
    return _finish(record)


def add_event(record, time, event, host='controller'):
    """Append one timeline entry (kept sorted by time)."""
    _check_record(record)
    record['timeline'].append({'time': format_time(_now(time)), 'host': str(host), 'event': str(event)})
    record['timeline'].sort(key=lambda e: e['time'])
    return record


def _finish(record):
    record['time_to_detect_seconds'] = _seconds(record['starts_at'], record['received_at'])
    back = record.get('service_back_at') or record.get('resolved_at')
    record['time_to_recover_seconds'] = _seconds(record['starts_at'], back)
    return record


def update_record(record, events=None, actions=None, diagnosed_at=None, service_back_at=None, resolved_at=None,
                  level=None, impact=None, silences=None, user_notice=None, notifications=None, escalate=False):
    """The record with new timeline events ([{time, event, host}]), actions ([{time, host, unit, action, result}]),
    milestones and impact; durations recomputed. ``escalate`` (the breaker opened) or a failed action raises the
    level by one, once: the guide's escalation instead of trying again."""
    _check_record(record)
    record = dict(record, timeline=list(record['timeline']), actions=list(record.get('actions', [])),
                  notifications=list(record.get('notifications', [])))
    for event in events or []:
        if not isinstance(event, dict) or 'event' not in event:
            raise IncidentError('events must be dicts with time, event and host, got %r' % (event,))
        add_event(record, event.get('time'), event['event'], event.get('host', 'controller'))
    for action in actions or []:
        if not isinstance(action, dict) or 'action' not in action or 'result' not in action:
            raise IncidentError('actions must be dicts with time, host, unit, action and result, got %r' % (action,))
        entry = dict(action, time=format_time(_now(action.get('time'))))
        entry['text'] = '%s %s %s %s: %s' % (entry['time'], entry.get('host', ''), entry['action'], entry.get('unit', ''),
                                             entry['result'])
        escalate = escalate or entry['result'] == 'failed'
        record['actions'].append(entry)
        add_event(record, entry['time'], '%s %s: %s' % (entry['action'], entry.get('unit', ''), entry['result']),
                  entry.get('host', 'controller'))
    for name, value in (('diagnosed_at', diagnosed_at), ('service_back_at', service_back_at),
                        ('resolved_at', resolved_at)):
        if value:
            record[name] = format_time(_now(value))
    if diagnosed_at:
        add_event(record, record['diagnosed_at'], 'diagnosis done', record.get('host') or 'controller')
    if service_back_at:
        add_event(record, record['service_back_at'], 'service %s running again' % record.get('unit', ''),
                  record.get('host') or 'controller')
    if resolved_at:
        record['status'] = 'resolved'
        add_event(record, record['resolved_at'], 'alert resolved', 'prometheus')
    if escalate and level is None:
        level = min(record['level'] + 1, 4)
    if level is not None:
        if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 4:
            raise IncidentError('level must be 1 to 4, got %r' % (level,))
        if level != record['level']:
            add_event(record, None, 'escalated to level %d' % level)
        record['level'] = level
    if impact is not None:
        if not isinstance(impact, dict):
            raise IncidentError('impact must be a dict, got %r' % (impact,))
        record['impact'] = dict(record.get('impact', {}), **impact)
    if silences is not None:
        record['silences'] = [str(s) for s in silences]
    if user_notice is not None:
        record['user_notice'] = bool(user_notice)
    for note in notifications or []:
        record['notifications'].append(str(note))
    return _finish(record)


def _vector_sum(result, what):
    """The sum of a Prometheus instant-vector result (``data.result`` of /api/v1/query), or None when empty."""
    if not isinstance(result, list):
        raise IncidentError('%s must be the data.result list of a Prometheus query, got %r' % (what, result))
    if not result:
        return None
    total = 0.0
    for sample in result:
        try:
            value = float(sample['value'][1])
        except (KeyError, IndexError, TypeError, ValueError):
            raise IncidentError('%s holds a sample that is not {metric, value: [time, "number"]}: %r' % (what, sample))
        if math.isfinite(value):
            total += value
    return total


def order_impact(failed, during, baseline_rate, duration_seconds):
    """Orders failed and missing during the incident from three Prometheus query results: failed orders
    (increase of redfire_orders_total{status!="success"}), all orders during the incident, and the order rate
    per second before it. Missing = what the rate before would have made, less what was made; never below 0."""
    if not isinstance(duration_seconds, (int, float)) or isinstance(duration_seconds, bool) or duration_seconds < 0:
        raise IncidentError('duration_seconds must be a number >= 0, got %r' % (duration_seconds,))
    failed_n = _vector_sum(failed, 'failed')
    during_n = _vector_sum(during, 'during')
    rate = _vector_sum(baseline_rate, 'baseline_rate')
    missing = None
    if rate is not None:
        missing = int(max(0, round(rate * duration_seconds - (during_n or 0.0))))
    return {'orders_failed': int(round(failed_n)) if failed_n is not None else None, 'orders_missing': missing}


def scrub(text, forbidden=()):
    """``text`` without host names, addresses, host:port pairs and stack-trace lines: what a user notice must never
    show. ``forbidden`` are the inventory's host names and addresses (removed wherever they appear)."""
    lines = [line for line in str(text).splitlines() if not TRACE_LINE.match(line)]
    out = '\n'.join(lines)
    for word in sorted((str(w) for w in forbidden if str(w).strip()), key=len, reverse=True):
        out = re.sub(re.escape(word), '***', out, flags=re.I)
    for pattern in (IPV4, IPV6, HOST_PORT, FQDN):
        out = pattern.sub('***', out)
    return out


def leaks(text, forbidden=()):
    """What of the internal shows in ``text`` (empty when nothing): the check that a notice is fit for users."""
    found = []
    lowered = str(text).lower()
    for word in forbidden:
        if str(word).strip() and str(word).lower() in lowered:
            found.append(str(word))
    for pattern in (IPV4, IPV6, HOST_PORT, FQDN):
        found.extend(m.group(0) for m in pattern.finditer(str(text)))
    if any(TRACE_LINE.match(line) for line in str(text).splitlines()):
        found.append('a stack-trace line')
    return found


def user_notice(record, kind='incident', language='zh', services=None, next_update_minutes=30, forbidden=(),
                now=None, tz_offset_hours=8):
    """The notice for users (what is affected, since when, what is done, when the next update comes) or the
    all-clear (``kind='clear'``), from the Chinese or English template. The service is named by ``services``
    (unit -> public name); times are local (UTC+8, the exchange's, by default). Raises IncidentError when anything
    internal would still show."""
    _check_record(record)
    if language not in NOTICE_TEXT:
        raise IncidentError('language must be one of %s, got %r' % (', '.join(sorted(NOTICE_TEXT)), language))
    if kind not in ('incident', 'clear'):
        raise IncidentError('kind must be incident or clear, got %r' % (kind,))
    if services is not None and not isinstance(services, dict):
        raise IncidentError('services must map unit names to the names users know, got %r' % (services,))
    if not isinstance(next_update_minutes, int) or isinstance(next_update_minutes, bool) or next_update_minutes < 1:
        raise IncidentError('next_update_minutes must be a whole number >= 1, got %r' % (next_update_minutes,))
    t = NOTICE_TEXT[language]
    zone = datetime.timezone(datetime.timedelta(hours=tz_offset_hours))
    fmt = '%Y-%m-%d %H:%M' + (' (UTC%+d)' % tz_offset_hours if language == 'en' else '')

    def local(value):
        return parse_time(value).astimezone(zone).strftime(fmt) if value else ''

    forbidden = [w for w in list(forbidden) + [record.get('host', ''), record.get('instance', '')] if w]
    service = scrub((services or {}).get(record.get('unit', ''), t['default_service']), forbidden)
    if kind == 'incident':
        doing = t['doing_diagnose']
        if record.get('level', 1) >= 3 or any(a.get('result') == 'failed' for a in record.get('actions', [])):
            doing = t['doing_escalated']
        elif any(a.get('action') == 'restart' for a in record.get('actions', [])):
            doing = t['doing_restart']
        next_update = local(format_time(_now(now) + datetime.timedelta(minutes=next_update_minutes)))
        title = t['incident_title'].format(service=service)
        text = t['incident'].format(service=service, since=local(record['starts_at']), doing=doing,
                                    next_update=next_update)
    else:
        title = t['clear_title'].format(service=service)
        text = t['clear'].format(service=service, since=local(record['starts_at']),
                                 until=local(record.get('resolved_at') or format_time(_now(now))))
    title, text = scrub(title, forbidden), scrub(text, forbidden)
    found = leaks(title + '\n' + text, forbidden)
    if found:
        raise IncidentError('the user notice would show internal details (%s): refused' % ', '.join(found))
    return {'kind': kind, 'language': language, 'title': title, 'text': text, 'incident': record['id']}


def wants_user_notice(level, requested=False, threshold=3):
    """The guide: users are told at escalation level 3 and above, or when asked for."""
    return bool(requested) or int(level) >= int(threshold)
