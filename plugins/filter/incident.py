# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the alert-driven incident response (playbook redfire.ops.incident_auto): thin wrappers over
module_utils/incident.py (alerts, silences, breaker, recovery plan) and module_utils/incident_record.py (record,
impact, user notice)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import functools
import time

from ansible_collections.redfire.ops.plugins.module_utils import check_result
from ansible_collections.redfire.ops.plugins.module_utils.filter_input import guarded
from ansible_collections.redfire.ops.plugins.module_utils import incident as core
from ansible_collections.redfire.ops.plugins.module_utils import incident_record as records

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # pragma: no cover - only without Ansible
    AnsibleFilterError = ValueError


def incident_alerts(payload, hosts):
    """The alerts of an Alertmanager webhook notification, each with its inventory host and unit."""
    return [dict(a._asdict()) for a in core.parse_alerts(payload, hosts)]


def incident_silenced(labels, silences):
    """IDs of the active Alertmanager silences matching the labels."""
    return core.matching_silences(silences, labels)


def incident_plan(alert, down_units, allowed_units, enabled=True, silences=None, breaker_state=None, limit=3,
                  now=None):
    """The recovery plan of a firing alert; with action restart, ``breaker`` is the state with that action
    counted (written before the action, so a failed attempt counts too)."""
    now = time.time() if now is None else now
    if not isinstance(now, (int, float)) or isinstance(now, bool):
        raise core.IncidentError('now must be epoch seconds, got %r' % (now,))
    if not isinstance(alert, dict):
        raise core.IncidentError('alert must be one of incident_alerts\' results, got %s' % type(alert).__name__)
    plan = core.plan_recovery(alert, down_units, allowed_units, bool(enabled), silences or [], breaker_state,
                              limit, now)
    out = dict(plan._asdict())
    out['breaker'] = (core.breaker_record(breaker_state, alert.get('host'), plan.unit, now) if plan.action == 'restart'
                      else {'actions': core._breaker_entries(breaker_state)})
    return out


def incident_record(record_or_alert, received_at=None, **updates):
    """A new incident record from a firing alert (incident_alerts' result), or an existing record, with the
    updates (events, actions, diagnosed_at, service_back_at, resolved_at, level, impact, silences, user_notice,
    notifications) applied."""
    if isinstance(record_or_alert, dict) and 'incident_id' in record_or_alert:
        record_or_alert = records.open_record(record_or_alert, received_at)
    return records.update_record(record_or_alert, **updates)


NO_PLAN = 'no host of the inventory: nothing diagnosed'


def incident_firing_record(alert, received_at, plans=None, checks=None, events=None, done_at=None, silences=None):
    """The record of a firing alert after its host's runbooks and recovery (incident_auto's hosts: their
    __auto_plans, redfire_incident_checks, redfire_incident_timeline, redfire_incident_done_at): the restart its
    plan made, ok when the unit's last service check after it is ok (then the service is back at done_at), failed
    otherwise (which escalates); the silences matching its labels; the plan's reason as a note."""
    if not isinstance(alert, dict) or 'incident_id' not in alert:
        raise core.IncidentError('the alert must be one of incident_alerts\' results, got %r' % (alert,))
    unit, host = alert.get('unit'), alert.get('host')
    plan = next((p for p in plans or [] if isinstance(p, dict) and p.get('unit') == unit), {})
    after = [c.get('status') for c in checks or [] if isinstance(c, dict) and c.get('name') == 'service:%s' % unit]
    back = bool(after) and after[-1] == 'ok'
    restarted = plan.get('action') == 'restart'
    actions = [{'time': done_at, 'host': host, 'unit': unit, 'action': 'restart', 'result': 'ok' if back else 'failed'}]
    return incident_record(alert, received_at=received_at, events=events or [],
                           diagnosed_at=done_at if host else None,
                           actions=actions if restarted else [],
                           service_back_at=done_at if restarted and back else None,
                           escalate=bool(plan.get('escalate')),
                           silences=core.matching_silences(silences or [], alert.get('labels') or {}),
                           notifications=['plan: %s' % (plan['reason'] if 'reason' in plan else NO_PLAN)])


def incident_resolved_results(record):
    """The post-incident report's rows ({host: [check]}) of a closed record: the incident, ok, "<alert> resolved"
    (its host, or controller for an alert of no inventory host)."""
    if not isinstance(record, dict) or 'alertname' not in record:
        raise core.IncidentError('the record must be one of incident_record\'s results, got %r' % (record,))
    return {record.get('host') or 'controller': [check_result.result(
        'incident', 'incident', 'ok', message='%s resolved' % record['alertname'], reason='resolved')]}


def incident_impact(failed, during, baseline_rate, duration_seconds):
    """Orders failed and missing during the incident from three Prometheus query results."""
    return records.order_impact(failed, during, baseline_rate, duration_seconds)


def incident_notice(record, kind='incident', language='zh', requested=False, threshold=3, services=None,
                    next_update_minutes=30, forbidden=None, now=None):
    """The user notice (or the all-clear, kind=clear) of a record, or {"send": false} when it is not due (level
    below ``threshold`` and not requested; an all-clear only after a notice)."""
    if not isinstance(record, dict):
        raise core.IncidentError('the input must be an incident record, got %s' % type(record).__name__)
    if kind == 'clear':
        due = bool(record.get('user_notice'))
    else:
        due = records.wants_user_notice(record.get('level', 1), requested, threshold)
    if not due:
        return {'send': False}
    notice = records.user_notice(record, kind, language, services, next_update_minutes, forbidden or [], now)
    return dict(notice, send=True)


def _named(name, func):
    @functools.wraps(func)
    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except core.IncidentError as exc:
            raise AnsibleFilterError('%s: %s' % (name, exc))
    return guarded(name, run, AnsibleFilterError)


class FilterModule(object):
    def filters(self):
        return dict((name, _named(name, func)) for name, func in (
            ('incident_alerts', incident_alerts), ('incident_silenced', incident_silenced),
            ('incident_plan', incident_plan), ('incident_record', incident_record),
            ('incident_impact', incident_impact), ('incident_notice', incident_notice),
            ('incident_firing_record', incident_firing_record), ('incident_resolved_results', incident_resolved_results)))
