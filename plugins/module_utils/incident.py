# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of the alert-driven incident response (the rulebook's playbook incident_auto): which alerts of an
Alertmanager webhook name a runbook and on which inventory host, whether an Alertmanager silence matches, the
circuit breaker of automatic actions, the recovery plan and the escalation by the guide's four levels.
Pure Python (no Ansible import) so that unit tests reach every decision; records and notices are in
incident_record.py."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import re
from collections import namedtuple


class IncidentError(ValueError):
    """Input that is not the shape the incident response takes; the message names what is wrong."""


RUNBOOKS = ('service_down', 'database_connection', 'out_of_memory', 'api_slow')
# runbooks whose alerts may lead to an automatic action (api_slow is diagnosis only)
ACTING_RUNBOOKS = ('service_down',)
LEVEL_NAMES = {1: '1', 2: '2', 3: '3', 4: 'emergency'}
BREAKER_WINDOW_SECONDS = 3600

Alert = namedtuple('Alert', 'fingerprint status alertname runbook labels annotations starts_at ends_at '
                            'instance address port host unit level incident_id')
Plan = namedtuple('Plan', 'action unit reason level escalate')


def parse_time(value, what='time'):
    """An RFC 3339 time of Alertmanager (``2026-12-02T04:00:00.123456789Z``) as an aware datetime, or None for
    Alertmanager's zero time (an alert still firing has endsAt 0001-01-01)."""
    if value is None or value == '':
        return None
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    if not isinstance(value, str):
        raise IncidentError('%s must be an RFC 3339 time, got %r' % (what, value))
    match = re.match(r'^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$', value.strip())
    if not match:
        raise IncidentError('%s must be an RFC 3339 time, got %r' % (what, value))
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if int(year) <= 1:
        return None
    micro = int((fraction or '0')[:6].ljust(6, '0'))
    tz = datetime.timezone.utc
    if zone and zone != 'Z':
        sign = -1 if zone[0] == '-' else 1
        digits = zone[1:].replace(':', '')
        tz = datetime.timezone(sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        return datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz)
    except ValueError as exc:
        raise IncidentError('%s must be an RFC 3339 time, got %r (%s)' % (what, value, exc))


def format_time(value):
    """UTC, seconds, ``Z``: the timeline's one time format."""
    return value.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def level_number(value):
    """The guide's escalation level as 1-4 from an alert's ``level`` label ("1", "2", "3", "emergency")."""
    text = str(value).strip().lower()
    if text in ('emergency', '4'):
        return 4
    if text in ('1', '2', '3'):
        return int(text)
    return 1


def escalate(level):
    """One level up, at most 4 (emergency management)."""
    return min(level_number(level) + 1, 4)


def _split_instance(instance):
    """(address, port) of a Prometheus instance label: ``10.0.0.5:8000``, ``[::1]:8000``, ``host``, or a URL
    (blackbox probes)."""
    text = instance or ''
    url = re.match(r'^[a-z][a-z0-9+.-]*://([^/]+)', text, re.I)
    if url:
        text = url.group(1).split('@')[-1]
    bracket = re.match(r'^\[([^\]]+)\](?::(\d+))?$', text)
    if bracket:
        return bracket.group(1), int(bracket.group(2)) if bracket.group(2) else None
    if text.count(':') == 1:
        address, port = text.split(':')
        return address, int(port) if port.isdigit() else None
    return text, None


def find_host(address, hosts):
    """The inventory host whose name or ansible_host is ``address``; ``hosts`` maps inventory names to their
    ansible_host (or '' when not set). None when no host matches: the alert is about something outside the
    inventory and nothing runs for it."""
    if not address:
        return None
    for name in sorted(hosts):
        if address in (name, str(hosts[name] or '')):
            return name
    return None


def _service_name(name):
    """A systemd unit name as the allow-list writes it: ``redfire-backend.service`` -> ``redfire-backend``."""
    return name[:-len('.service')] if name.endswith('.service') else name


def _strings(value, what):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise IncidentError('%s must be a mapping of strings, got %s' % (what, type(value).__name__))
    return dict((str(k), str(v)) for k, v in value.items())


def parse_alerts(payload, hosts):
    """The alerts of one Alertmanager webhook notification (version 4) as Alert records, with the inventory host
    and the unit they are about. Raises IncidentError naming what is wrong for anything else."""
    if not isinstance(payload, dict):
        raise IncidentError('the event payload must be an Alertmanager webhook notification (a JSON object), got %s'
                            % type(payload).__name__)
    if not isinstance(hosts, dict):
        raise IncidentError('hosts must map inventory host names to their addresses, got %s' % type(hosts).__name__)
    alerts = payload.get('alerts')
    if not isinstance(alerts, list):
        raise IncidentError('the event payload has no list "alerts": not an Alertmanager webhook notification')
    out = []
    for index, item in enumerate(alerts):
        if not isinstance(item, dict):
            raise IncidentError('alerts[%d] must be an object, got %s' % (index, type(item).__name__))
        labels = _strings(item.get('labels'), 'alerts[%d].labels' % index)
        status = str(item.get('status', payload.get('status', '')))
        if status not in ('firing', 'resolved'):
            raise IncidentError('alerts[%d].status must be firing or resolved, got %r' % (index, status))
        starts_at = parse_time(item.get('startsAt'), 'alerts[%d].startsAt' % index)
        if starts_at is None:
            raise IncidentError('alerts[%d] has no startsAt' % index)
        ends_at = parse_time(item.get('endsAt'), 'alerts[%d].endsAt' % index)
        fingerprint = str(item.get('fingerprint') or '')
        if not re.match(r'^[0-9A-Za-z]{1,64}$', fingerprint):
            raise IncidentError('alerts[%d].fingerprint must be Alertmanager\'s hex fingerprint, got %r'
                                % (index, fingerprint))
        runbook = labels.get('runbook', '')
        instance = labels.get('instance', '')
        address, port = _split_instance(instance)
        # the unit: an explicit label, else the systemd collector's unit name (HostSystemdUnitFailed, without its
        # .service suffix, as the allow-list names units), else the scrape job (the RedFire jobs are named after
        # their units)
        unit = labels.get('unit') or _service_name(labels.get('name', '')) or labels.get('job') or ''
        if not labels.get('unit') and labels.get('name'):
            # the instance is node_exporter's: its port says nothing about what listens for the unit
            port = None
        out.append(Alert(
            fingerprint=fingerprint, status=status, alertname=labels.get('alertname', ''),
            runbook=runbook if runbook in RUNBOOKS else '', labels=labels,
            annotations=_strings(item.get('annotations'), 'alerts[%d].annotations' % index),
            starts_at=format_time(starts_at), ends_at=format_time(ends_at) if ends_at else '',
            instance=instance, address=address, port=port, host=find_host(address, hosts), unit=unit,
            level=level_number(labels.get('level', '1')),
            incident_id='%s-%s' % (fingerprint, starts_at.astimezone(datetime.timezone.utc).strftime('%Y%m%dT%H%M%SZ'))))
    return out


def _matcher_matches(matcher, labels):
    if not isinstance(matcher, dict) or 'name' not in matcher or 'value' not in matcher:
        raise IncidentError('a silence matcher must have name and value, got %r' % (matcher,))
    value = labels.get(str(matcher['name']), '')
    expected = str(matcher['value'])
    if matcher.get('isRegex'):
        try:
            hit = re.match('^(?:%s)$' % expected, value) is not None
        except re.error as exc:
            raise IncidentError('silence matcher %s=~%r is not a regular expression: %s' % (matcher['name'], expected, exc))
    else:
        hit = value == expected
    return hit if matcher.get('isEqual', True) else not hit


def matching_silences(silences, labels, now=None):
    """IDs of the active Alertmanager silences (API v2 ``GET /api/v2/silences``) whose matchers all match
    ``labels``; a silence counts while its state is active, or, without a state, while now is between startsAt
    and endsAt."""
    if not isinstance(silences, list):
        raise IncidentError('silences must be the list of Alertmanager\'s GET /api/v2/silences, got %s'
                            % type(silences).__name__)
    labels = _strings(labels, 'labels')
    now = now or datetime.datetime.now(datetime.timezone.utc)
    out = []
    for silence in silences:
        if not isinstance(silence, dict) or not isinstance(silence.get('matchers'), list):
            raise IncidentError('a silence must be an object with a list of matchers, got %r' % (silence,))
        state = (silence.get('status') or {}).get('state') if isinstance(silence.get('status'), dict) else None
        if state is not None:
            if state != 'active':
                continue
        else:
            start, end = parse_time(silence.get('startsAt'), 'silence startsAt'), parse_time(silence.get('endsAt'), 'silence endsAt')
            if (start and start > now) or (end and end <= now):
                continue
        if silence['matchers'] and all(_matcher_matches(m, labels) for m in silence['matchers']):
            out.append(str(silence.get('id', '')))
    return out


def _breaker_entries(state):
    if state in (None, '', {}):
        return []
    if not isinstance(state, dict) or not isinstance(state.get('actions', []), list):
        raise IncidentError('the breaker state must be {"actions": [{host, unit, time}]}, got %r' % (state,))
    entries = []
    for entry in state.get('actions', []):
        if not isinstance(entry, dict) or not isinstance(entry.get('time'), (int, float)) or isinstance(entry.get('time'), bool):
            raise IncidentError('a breaker entry must be {host, unit, time (epoch seconds)}, got %r' % (entry,))
        entries.append({'host': str(entry.get('host', '')), 'unit': str(entry.get('unit', '')), 'time': float(entry['time'])})
    return entries


def breaker_count(state, host, unit, now, window=BREAKER_WINDOW_SECONDS):
    """Automatic actions on ``unit`` of ``host`` within the last ``window`` seconds before ``now`` (epoch)."""
    return sum(1 for e in _breaker_entries(state) if e['host'] == host and e['unit'] == unit and now - window < e['time'] <= now)


def breaker_record(state, host, unit, now, window=BREAKER_WINDOW_SECONDS):
    """The breaker state with one more action on ``unit`` of ``host`` at ``now``; entries older than the window
    are dropped so the file does not grow."""
    kept = [e for e in _breaker_entries(state) if now - window < e['time'] <= now]
    kept.append({'host': str(host), 'unit': str(unit), 'time': float(now)})
    return {'actions': kept}


def plan_recovery(alert, down_units, allowed_units, enabled, silences, breaker_state, limit, now):
    """What to do after the diagnosis of a firing alert: restart its unit, or nothing, and why; escalate one level
    when the breaker is open. ``alert`` is an Alert (or its dict), ``down_units`` the units the diagnosis found
    down on its host, ``now`` epoch seconds."""
    if isinstance(alert, dict):
        alert = Alert(**dict((f, alert.get(f)) for f in Alert._fields))
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise IncidentError('the breaker limit must be a whole number >= 0, got %r' % (limit,))
    for what, value in (('down_units', down_units), ('allowed_units', allowed_units)):
        if not isinstance(value, (list, tuple)):
            raise IncidentError('%s must be a list of unit names, got %r' % (what, value))
    level = level_number(alert.level)
    unit = alert.unit

    def plan(action, reason, escalate_now=False):
        return Plan(action=action, unit=unit, reason=reason,
                    level=escalate(level) if escalate_now else level, escalate=escalate_now)

    if alert.status != 'firing':
        return plan('none', 'the alert is resolved')
    if not enabled:
        return plan('none', 'automatic recovery is off (redfire_incident_auto_recovery)')
    if alert.runbook not in ACTING_RUNBOOKS:
        return plan('none', 'runbook %s diagnoses only' % (alert.runbook or '(none)'))
    if not alert.host:
        return plan('none', 'instance %s is no host of the inventory' % alert.instance)
    if unit not in allowed_units:
        return plan('none', 'unit %s is not on the allow-list' % (unit or '(none)'))
    silenced = silences if isinstance(silences, (list, tuple)) else []
    if silenced:
        return plan('none', 'silenced in Alertmanager (%s): diagnosis only' % ', '.join(silenced))
    if unit not in down_units:
        return plan('none', 'unit %s is not down on %s' % (unit, alert.host))
    done = breaker_count(breaker_state, alert.host, unit, now)
    if done >= limit:
        return plan('none', 'circuit breaker open: %d automatic actions on %s of %s within the hour (limit %d)'
                    % (done, unit, alert.host, limit), escalate_now=True)
    return plan('restart', 'unit %s is down (%d of %d automatic actions this hour)' % (unit, done + 1, limit))
