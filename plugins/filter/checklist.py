# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How each host of a checklist sets its result (checklist_host_result), how the report play gathers them
(checklist_results), and the incident checklist's decisions: which services are down (from the checks' reason
field, never their text), the notes on impact, the timeline events and the recipients of a notification."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import re

from ansible_collections.redfire.ops.plugins.module_utils.filter_input import guarded

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # pragma: no cover - only without Ansible
    AnsibleFilterError = ValueError

NOT_REACHED = 'not checked: the host was not reached in this run'
NOT_DIAGNOSED = 'not diagnosed: the host was not reached in this run'


def _truncate(text, length=300):
    text = str(text or '')
    return text if len(text) <= length else text[:length - 3] + '...'


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def not_checked(reason, message):
    """The result of a host that has no checks: why, as a machine field (reason) and as text."""
    return {'not_checked': {'reason': reason, 'message': message}}


def checklist_host_result(value, step='health_check', _filter='checklist_host_result'):
    """One host's result, the same shape in every checklist: {checks: [...]} or {not_checked: {reason, message}}.
    ``value`` is a list of checks, or a registered module result (unreachable or failed results become
    not_checked, naming ``step``)."""
    if isinstance(value, (list, tuple)):
        return {'checks': list(value)}
    if not isinstance(value, dict):
        raise AnsibleFilterError('%s: a result must be a list of checks or a registered result, got %s'
                                 % (_filter, type(value).__name__))
    if 'not_checked' in value:
        return value
    if value.get('unreachable'):
        return not_checked('unreachable', 'unreachable: ' + _truncate(value.get('msg')))
    if value.get('failed') and value.get('missing_libraries'):
        missing = [m for m in value['missing_libraries'] if isinstance(m, dict)]
        libraries = sorted(set(str(m.get('library')) for m in missing))
        packages = sorted(set(str(m.get('package')) for m in missing))
        return not_checked('missing_library', '%s needs %s on this host: install %s (redfire.ops.host_prereqs)'
                           % (step, ', '.join(libraries), ' '.join(packages)))
    if value.get('failed') or 'checks' not in value:
        return not_checked('failed', '%s failed: %s' % (step, _truncate(value.get('msg') or value.get('stderr'))))
    return {'checks': list(value['checks'])}


def checklist_results(values, hosts, kind='daily_check', extra=None):
    """{host: result} of the checked hosts, from their checklist_result facts in the order of ``hosts`` (a host
    without one was not reached in this run), plus the rows of ``extra`` ({name: checks}) that have checks (the
    periodic check's "monitoring")."""
    if not isinstance(hosts, (list, tuple)) or not isinstance(values, (list, tuple)) or len(values) != len(hosts):
        raise AnsibleFilterError('checklist_results: give the hosts and their checklist_result facts as two lists '
                                 'of the same length')
    if extra is not None and not isinstance(extra, dict):
        raise AnsibleFilterError('checklist_results: extra must be a dict of row name to checks')
    missing = NOT_DIAGNOSED if kind == 'incident_response' else NOT_REACHED
    out = {}
    for host, value in zip(hosts, values):
        out[str(host)] = not_checked('not_reached', missing) if value in (None, '') \
            else checklist_host_result(value, _filter='checklist_results')
    for name, checks in (extra or {}).items():
        if checks:
            out[str(name)] = checklist_host_result(checks, _filter='checklist_results')
    return out


def checklist_report_inputs(results, kind, incidents=None, level=1, confirm=False, window_hours=None):
    """The report's timeline, actions, notes and extra for ``kind``: for an incident, the hosts' timelines in time
    order, their actions, and the impact notes with the runbooks' findings (``incidents``: each host's
    checklist_incident fact); for the periodic check, the window."""
    out = {'timeline': [], 'actions': [], 'notes': [], 'extra': {}}
    if kind == 'incident_response':
        incidents = [i for i in incidents or [] if isinstance(i, dict)]
        timeline = [e for i in incidents for e in i.get('timeline') or []]
        timeline.append(checklist_event('controller', 'report written'))
        out['timeline'] = sorted(timeline, key=lambda e: str(e.get('time', '')) if isinstance(e, dict) else '')
        out['actions'] = [a for i in incidents for a in i.get('actions') or []]
        out['notes'] = incident_summary(results, level, confirm, [f for i in incidents for f in i.get('findings') or []])
    elif kind == 'periodic_check':
        out['extra'] = {'window_hours': window_hours}
    return out


def checklist_event(host, event, detail=None):
    """A timeline entry {time, host, event} stamped now (UTC)."""
    text = str(event) if detail in (None, '') else '%s: %s' % (event, detail)
    return {'time': _now(), 'host': str(host), 'event': text}


def checklist_step_failed(task_name, result, kind='diagnosis', status='unknown'):
    """The check a rescue block records for a failed step, from ansible_failed_task.name and
    ansible_failed_result."""
    result = result if isinstance(result, dict) else {}
    detail = _truncate(result.get('stderr') or result.get('msg'))
    return {'name': kind, 'kind': kind, 'status': status, 'reason': 'step_failed', 'step': str(task_name),
            'message': '%s failed: %s' % (task_name, detail)}


def incident_down(checks, services=None):
    """Units of the service checks that are not ok and exist (reason unit_not_found is left out: restarting a
    unit that does not exist cannot help), limited to ``services`` when given."""
    out = []
    for check in checks or []:
        if not isinstance(check, dict) or check.get('kind') != 'service' or check.get('status') == 'ok':
            continue
        if check.get('reason') == 'unit_not_found':
            continue
        unit = check.get('unit_name') or str(check.get('name', '')).split(':', 1)[-1]
        if services is None or unit in services:
            out.append(unit)
    return out


def incident_actions(host, restarted=None, dropped_caches=False, database=''):
    """Actions text of the recovery steps taken: the services a restart loop changed (its registered results), the
    page cache dropped, the database service restarted (its name, or empty)."""
    out = ['%s: restarted %s' % (host, r.get('item')) for r in (restarted or []) if isinstance(r, dict) and r.get('changed')]
    if dropped_caches:
        out.append('%s: synced and dropped the page cache' % host)
    if database:
        out.append('%s: restarted database %s' % (host, database))
    return out


def incident_action_failed(host, task_name, result):
    result = result if isinstance(result, dict) else {}
    return '%s: FAILED %s: %s' % (host, task_name, _truncate(result.get('stderr') or result.get('msg')))


def incident_memory_findings(top, oom, count=5):
    """Findings of the out-of-memory runbook: the top processes (ps lines) and the OOM kills of the kernel log."""
    lines = ['top memory: ' + ' '.join(line.split()) for line in (top or [])[:int(count)] if line.strip()]
    lines += [line for line in (oom or []) if re.search(r'(?i)oom|out of memory|killed process', line)]
    return lines


def incident_listener_findings(lines, ports=None):
    """Findings of what listens on the alert's ports (``ss -H -tlnp`` lines, spaces squeezed), or that nothing
    does on them."""
    found = ['listening: ' + ' '.join(line.split()) for line in lines or [] if str(line).strip()]
    ports = [str(p) for p in ports or []]
    if ports and not found:
        return ['listening: nothing on port ' + ', '.join(ports)]
    return found


def incident_log_findings(analysis, minutes=15, host=None):
    """Findings of the service runbook from its log_analysis result over the last ``minutes``: one line with the
    sources read (journals and files) and the counts by category, one per error event (time, source, first line,
    how many more lines), one per source that could not be read, each after ``host: `` when given. A skipped or
    missing result gives none."""
    if not isinstance(analysis, dict) or 'error_counts' not in analysis:
        return []
    files = [f for f in analysis.get('files') or [] if isinstance(f, dict)]
    sources = ', '.join(str(f.get('path')) for f in files) or 'no source'
    counts = ', '.join('%s=%s' % kv for kv in (analysis.get('error_counts') or {}).items() if kv[1])
    events = analysis.get('error_events') or 0
    head = 'logs of the last %s min (%s): ' % (minutes, sources)
    lines = [head + ('%d error events: %s' % (events, counts) if events else 'no error events')]
    for detail in analysis.get('error_details') or []:
        more = len(detail.get('continuation') or [])
        lines.append('%s %s: %s%s' % (detail.get('time'), detail.get('file'), _truncate(detail.get('message')),
                                      ' (+%d lines)' % more if more else ''))
    shown = len(analysis.get('error_details') or [])
    if events > shown:
        lines.append('... and %d more error events' % (events - shown))
    for f in files:
        if f.get('error'):
            lines.append('not read: %s' % _truncate(f['error']))
    return ['%s: %s' % (host, line) for line in lines] if host else lines


def incident_summary(results, level=1, confirm=False, findings=None):
    """Impact notes of the incident report: which hosts are affected (not checked, or a check not ok), the
    escalation level and whether recovery was confirmed, then the runbooks' findings."""
    affected = []
    for host, result in (results or {}).items():
        checks = result.get('checks') if isinstance(result, dict) else result
        if isinstance(result, dict) and 'not_checked' in result:
            affected.append(host)
        elif any(isinstance(c, dict) and c.get('status') != 'ok' for c in checks or []):
            affected.append(host)
    impact = 'impact: %d of %d hosts affected' % (len(affected), len(results or {}))
    if affected:
        impact += ': ' + ', '.join(affected)
    return [impact, 'escalation level: %s' % level, 'confirmed recovery: %s' % bool(confirm)] + list(findings or [])


def notify_recipients(contacts, level=1, webhook_url=None, emails=None):
    """Webhooks and mail addresses of every escalation level up to ``level`` (keys 1..4, numbers or strings),
    plus the always-notified webhook_url and emails."""
    try:
        level = int(level)
    except (TypeError, ValueError):
        level = 0
    if level not in (1, 2, 3, 4):
        raise AnsibleFilterError('notify_recipients: the escalation level must be 1 (ops), 2 (development), '
                                 '3 (architects) or 4 (emergency management), got %r' % (level,))
    if contacts is not None and not isinstance(contacts, dict):
        raise AnsibleFilterError('notify_recipients: contacts must be a dict of level to {webhooks, emails}')
    hooks = [webhook_url] if webhook_url else []
    mails = list(emails or [])
    for key, value in (contacts or {}).items():
        try:
            key = int(key)
        except (TypeError, ValueError):
            raise AnsibleFilterError('notify_recipients: contact levels must be 1 to 4, got %r' % (key,))
        if key <= level and isinstance(value, dict):
            hooks.extend(value.get('webhooks') or [])
            mails.extend(value.get('emails') or [])
    unique = []
    for mail in mails:
        if mail not in unique:
            unique.append(mail)
    return {'webhooks': hooks, 'emails': unique}


WEBHOOK_OK = (200, 201, 202, 204)


def _http_status(result):
    """The HTTP status of a registered uri result, or 'no answer' when the request got none."""
    status = result.get('status')
    return 'no answer' if status in (None, -1) else status


def notify_webhook_failures(results, ok=WEBHOOK_OK):
    """One text per webhook of the notify loop (its registered results) that did not answer with a status in
    ``ok``: its place and HTTP status, never its address or headers."""
    results = [r for r in results or [] if isinstance(r, dict)]
    out = []
    for i, r in enumerate(results):
        if r.get('status') not in ok:
            out.append('webhook %d of %d: HTTP %s' % (i + 1, len(results), _http_status(r)))
    return out


def notify_mail_outcome(result, recipients=0):
    """Whether the report's mail went out, from community.general.mail's registered result (its machine fields:
    ``rc`` on a failure, ``result`` the recipients the server refused), never its message text."""
    result = result if isinstance(result, dict) else {}
    head = 'mail to %s recipient(s): ' % recipients
    if result.get('skipped'):
        return head + 'not sent (skipped)'
    sent = not result.get('failed') and result.get('rc') in (None, 0) and isinstance(result.get('result'), dict)
    if not sent:
        return head + 'FAILED'
    refused = len(result['result'])
    return head + ('sent' if not refused else 'sent, refused by the server for %d of them' % refused)


def incident_notice_outcome(result, kind):
    """Whether a user notice went to the status page, from the uri task's registered result."""
    result = result if isinstance(result, dict) else {}
    if result.get('skipped'):
        return 'user notice (%s): not posted: redfire_incident_status_page_url is not set' % kind
    return 'user notice (%s): HTTP %s' % (kind, _http_status(result))


class FilterModule(object):
    def filters(self):
        return dict((name, guarded(name, func, AnsibleFilterError)) for name, func in (
            ('checklist_host_result', checklist_host_result), ('checklist_results', checklist_results),
            ('checklist_report_inputs', checklist_report_inputs),
            ('checklist_event', checklist_event), ('checklist_step_failed', checklist_step_failed),
            ('incident_down', incident_down), ('incident_actions', incident_actions),
            ('incident_action_failed', incident_action_failed), ('incident_memory_findings', incident_memory_findings),
            ('incident_log_findings', incident_log_findings), ('incident_listener_findings', incident_listener_findings),
            ('incident_summary', incident_summary), ('notify_recipients', notify_recipients),
            ('notify_webhook_failures', notify_webhook_failures), ('notify_mail_outcome', notify_mail_outcome),
            ('incident_notice_outcome', incident_notice_outcome)))
