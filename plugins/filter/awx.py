# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""awx_rrule: the iCalendar rule string AWX/AAP schedules take, from a small readable description."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import re

from ansible_collections.redfire.ops.plugins.module_utils.filter_input import guarded

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # pragma: no cover - only without Ansible
    AnsibleFilterError = ValueError

FREQUENCIES = ('minutely', 'hourly', 'daily', 'weekly', 'monthly')
WEEKDAYS = ('MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU')
_TIME = re.compile(r'^([01]?\d|2[0-3]):([0-5]\d)$')
_TZ = re.compile(r'^[A-Za-z_]+(/[A-Za-z0-9_+\-]+)*$|^UTC$')


def _fail(msg):
    raise AnsibleFilterError('awx_rrule: ' + msg)


def awx_rrule(schedule):
    """DTSTART;TZID=<tz>:<start>T<hhmm>00 RRULE:FREQ=...;INTERVAL=... from a dict.

    Keys: frequency (minutely|hourly|daily|weekly|monthly, required), time (HH:MM, default 00:00),
    timezone (IANA name, default UTC), start (YYYY-MM-DD, default 2026-01-01), interval (>= 1, default 1),
    weekdays (list of MO..SU, weekly only), monthday (1-31, monthly only), count or until (YYYY-MM-DD), not both.
    """
    if not isinstance(schedule, dict):
        _fail('input must be a dict with at least frequency, got %s' % type(schedule).__name__)
    unknown = set(schedule) - {'frequency', 'time', 'timezone', 'start', 'interval', 'weekdays', 'monthday',
                               'count', 'until', 'name'}
    if unknown:
        _fail('unknown keys %s; known: frequency, time, timezone, start, interval, weekdays, monthday, count, until'
              % ', '.join(sorted(unknown)))
    freq = str(schedule.get('frequency', '')).lower()
    if freq not in FREQUENCIES:
        _fail('frequency must be one of %s, got %r' % (', '.join(FREQUENCIES), schedule.get('frequency')))
    match = _TIME.match(str(schedule.get('time', '00:00')))
    if not match:
        _fail('time must be HH:MM (24 h), got %r' % (schedule.get('time'),))
    tz = str(schedule.get('timezone', 'UTC'))
    if not _TZ.match(tz):
        _fail('timezone must be an IANA name such as Asia/Shanghai, got %r' % (tz,))
    try:
        start = datetime.datetime.strptime(str(schedule.get('start', '2026-01-01')), '%Y-%m-%d')
    except ValueError:
        _fail('start must be a date YYYY-MM-DD, got %r' % (schedule.get('start'),))
    interval = schedule.get('interval', 1)
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
        try:
            interval = int(str(interval))
        except ValueError:
            interval = 0
        if interval < 1:
            _fail('interval must be a whole number >= 1, got %r' % (schedule.get('interval'),))
    start = start.replace(hour=int(match.group(1)), minute=int(match.group(2)))
    parts = ['FREQ=%s' % freq.upper(), 'INTERVAL=%d' % interval]
    weekdays = schedule.get('weekdays')
    if weekdays is not None:
        if freq != 'weekly':
            _fail('weekdays only go with frequency weekly')
        if isinstance(weekdays, str):
            weekdays = [weekdays]
        days = [str(d).upper()[:2] for d in weekdays]
        if not days or any(d not in WEEKDAYS for d in days):
            _fail('weekdays must be a list of %s, got %r' % (', '.join(WEEKDAYS), weekdays))
        parts.append('BYDAY=%s' % ','.join(sorted(set(days), key=WEEKDAYS.index)))
    monthday = schedule.get('monthday')
    if monthday is not None:
        if freq != 'monthly':
            _fail('monthday only goes with frequency monthly')
        if isinstance(monthday, bool) or not str(monthday).isdigit() or not 1 <= int(monthday) <= 31:
            _fail('monthday must be 1 to 31, got %r' % (monthday,))
        parts.append('BYMONTHDAY=%d' % int(monthday))
    if schedule.get('count') is not None and schedule.get('until') is not None:
        _fail('give count or until, not both')
    if schedule.get('count') is not None:
        count = str(schedule['count'])
        if not count.isdigit() or int(count) < 1:
            _fail('count must be a whole number >= 1, got %r' % (schedule['count'],))
        parts.append('COUNT=%d' % int(count))
    if schedule.get('until') is not None:
        try:
            until = datetime.datetime.strptime(str(schedule['until']), '%Y-%m-%d')
        except ValueError:
            _fail('until must be a date YYYY-MM-DD, got %r' % (schedule['until'],))
        if until < start.replace(hour=0, minute=0):
            _fail('until %s is before start %s' % (schedule['until'], start.date()))
        # AWX wants UNTIL in UTC; end of that day in UTC is a safe upper bound
        parts.append('UNTIL=%sT235959Z' % until.strftime('%Y%m%d'))
    return 'DTSTART;TZID=%s:%s RRULE:%s' % (tz, start.strftime('%Y%m%dT%H%M%S'), ';'.join(parts))


class FilterModule(object):
    def filters(self):
        return {'awx_rrule': guarded('awx_rrule', awx_rrule, AnsibleFilterError)}
