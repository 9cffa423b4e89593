# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The check result record, the severity order and the worst-of rule: the one place that defines them.

Contract (modules, filters and roles rely on it; nothing else defines severity or worst-of):

* A check result is a dict with the keys ``name, kind, status, value, unit, warning, critical, message,
  reason`` and, where the producer has them, ``details`` (a dict of machine-readable extras, for instance
  the offending accounts or listeners) and ``duration_ms``. Build it with :func:`result` (or
  :class:`CheckResult` and ``to_dict()``), never by hand.

  - ``name``: unique within one host's results, ``kind`` or ``kind:subject`` (``disk:/``, ``sshd:permitrootlogin``).
  - ``kind``: the family of the check (``disk``, ``service``, ``sshd``, ``backup_postgresql``...).
  - ``status``: one of :data:`STATUSES` (Nagios: ok, warning, critical, unknown).
  - ``value``/``unit``/``warning``/``critical``: the measured value and the thresholds it was held against,
    ``None`` where a check has no number.
  - ``message``: human text for reports; NEVER parse it.
  - ``reason``: a machine-readable snake_case token saying why the status is what it is
    (``ok``, ``unit_not_found``, ``client_missing``, ``too_old``, ``corrupt``...). Playbooks and runbooks decide on
    ``status`` and ``reason`` only. ``None`` means the producer gives no reason (older health_check checks).

* Severity, for picking the overall status and sorting worst first: ok < warning < unknown < critical.
  A check that could not be evaluated (unknown) is worse than a warning but better than a known critical.
  A status that is not one of :data:`STATUSES` counts as unknown.
* :func:`worst` of no statuses is ok.
* :func:`status_of` is the one threshold rule: higher is worse (``value > critical`` critical, ``value > warning``
  warning), or with ``lower_is_worse`` the other way round; a missing or non-numeric value is unknown.
* :data:`STATUS_CODE` is the Nagios exit code of a status (ok 0, warning 1, critical 2, unknown 3); it is not
  the severity order.

No Ansible imports: unit tests, filters and modules import this file directly.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math

# Nagios order (exit codes 0..3).
STATUSES = ('ok', 'warning', 'critical', 'unknown')
STATUS_CODE = {'ok': 0, 'warning': 1, 'critical': 2, 'unknown': 3}
# Severity order, best first.
BY_SEVERITY = ('ok', 'warning', 'unknown', 'critical')
SEVERITY = dict((status, rank) for rank, status in enumerate(BY_SEVERITY))

RESULT_KEYS = ('name', 'kind', 'status', 'value', 'unit', 'warning', 'critical', 'message', 'reason')


def normalize_status(status):
    """``status`` if it is a known status, else ``'unknown'``."""
    return status if isinstance(status, str) and status in SEVERITY else 'unknown'


def severity(status):
    """Rank of a status in the severity order (a status that is not known ranks as unknown)."""
    return SEVERITY[normalize_status(status)]


def status_of(value, warning=None, critical=None, lower_is_worse=False):
    """Nagios status of ``value`` against thresholds.

    Higher is worse by default (``value > critical`` is critical, ``value > warning`` is
    warning, as the guide's ``cpu_percent > 80``); with ``lower_is_worse`` the comparison
    flips (``days_left < critical``). ``None`` is unknown.
    """
    if value is None:
        return 'unknown'
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 'unknown'
    if math.isnan(value):
        return 'unknown'
    if lower_is_worse:
        if critical is not None and value < float(critical):
            return 'critical'
        if warning is not None and value < float(warning):
            return 'warning'
        return 'ok'
    if critical is not None and value > float(critical):
        return 'critical'
    if warning is not None and value > float(warning):
        return 'warning'
    return 'ok'


def worst(statuses):
    """Overall status: critical > unknown > warning > ok; empty is ok; an unknown word counts as unknown."""
    found = 'ok'
    for status in statuses:
        status = normalize_status(status)
        if SEVERITY[status] > SEVERITY[found]:
            found = status
    return found


def worst_first(results):
    """``results`` sorted worst status first, then by name (a stable order for reports)."""
    return sorted(results, key=lambda r: (-severity(r.get('status')), str(r.get('name'))))


class CheckResult(object):
    """One check's result; ``to_dict()`` gives the dict that modules return."""

    __slots__ = RESULT_KEYS + ('details', 'duration')

    def __init__(self, name, kind, status, value=None, unit='', warning=None, critical=None, message='',
                 reason=None, details=None, duration=None):
        if status not in SEVERITY:
            raise ValueError('status must be one of %s, got %r' % (', '.join(STATUSES), status))
        self.name = name
        self.kind = kind
        self.status = status
        self.value = value
        self.unit = unit
        self.warning = warning
        self.critical = critical
        self.message = message
        self.reason = reason
        self.details = details
        self.duration = duration

    def to_dict(self):
        out = dict((key, getattr(self, key)) for key in RESULT_KEYS)
        if self.details is not None:
            out['details'] = self.details
        if self.duration is not None:
            out['duration_ms'] = round(self.duration * 1000.0, 3)
        return out


def result(name, kind, status, value=None, unit='', warning=None, critical=None, message='',
           reason=None, details=None, duration=None):
    """A check result dict (see the module docstring for the keys)."""
    return CheckResult(name, kind, status, value, unit, warning, critical, message,
                       reason=reason, details=details, duration=duration).to_dict()
