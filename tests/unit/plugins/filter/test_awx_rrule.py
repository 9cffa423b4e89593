"""awx_rrule: the schedules' rules, checked by parsing them with dateutil and listing their next runs."""
import datetime
from zoneinfo import ZoneInfo

import pytest
from ansible.errors import AnsibleFilterError
from dateutil.rrule import rrulestr

from ansible_collections.redfire.ops.plugins.filter.awx import FilterModule

rrule = FilterModule().filters()['awx_rrule']
UTC = datetime.timezone.utc


def occurrences(rule, n=3):
    """Parse an AWX rule as AWX does (DTSTART;TZID=... then RRULE) and return the first n runs in UTC."""
    dtstart, body = rule.split(' ')
    tzid, stamp = dtstart[len('DTSTART;TZID='):].split(':')
    start = datetime.datetime.strptime(stamp, '%Y%m%dT%H%M%S').replace(tzinfo=ZoneInfo(tzid))
    rule_set = rrulestr(body, dtstart=start)
    return [d.astimezone(UTC) for d in list(rule_set[:n])]


def test_daily_0900_shanghai_is_0100_utc_every_day():
    rule = rrule({'frequency': 'daily', 'time': '09:00', 'timezone': 'Asia/Shanghai', 'start': '2026-11-26'})
    assert rule == 'DTSTART;TZID=Asia/Shanghai:20261126T090000 RRULE:FREQ=DAILY;INTERVAL=1'
    runs = occurrences(rule)
    assert runs == [datetime.datetime(2026, 11, d, 1, 0, tzinfo=UTC) for d in (26, 27, 28)]


def test_weekly_monday_and_defaults():
    rule = rrule({'frequency': 'weekly', 'weekdays': ['su', 'MO'], 'time': '10:30', 'timezone': 'Asia/Shanghai',
                  'start': '2026-11-25'})
    assert rule.endswith('RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,SU')
    runs = occurrences(rule, 4)
    assert [r.astimezone(ZoneInfo('Asia/Shanghai')).strftime('%a %H:%M') for r in runs] == \
        ['Sun 10:30', 'Mon 10:30', 'Sun 10:30', 'Mon 10:30']
    assert rrule({'frequency': 'hourly'}) == 'DTSTART;TZID=UTC:20260101T000000 RRULE:FREQ=HOURLY;INTERVAL=1'


def test_monthly_count_until_interval():
    rule = rrule({'frequency': 'monthly', 'monthday': 1, 'count': 2, 'time': '03:00', 'timezone': 'UTC'})
    assert occurrences(rule, 5) == [datetime.datetime(2026, 1, 1, 3, tzinfo=UTC), datetime.datetime(2026, 2, 1, 3, tzinfo=UTC)]
    rule = rrule({'frequency': 'daily', 'interval': '2', 'until': '2026-01-05', 'timezone': 'UTC'})
    assert rule.endswith('FREQ=DAILY;INTERVAL=2;UNTIL=20260105T235959Z')
    assert len(occurrences(rule, 10)) == 3  # 1st, 3rd, 5th


@pytest.mark.parametrize('schedule,message', [
    ('daily', 'input must be a dict'),
    ({'frequency': 'yearly'}, 'frequency must be one of'),
    ({'frequency': 'daily', 'time': '25:00'}, 'time must be HH:MM'),
    ({'frequency': 'daily', 'timezone': 'Asia/Shanghai; rm -rf'}, 'timezone must be an IANA name'),
    ({'frequency': 'daily', 'start': '26-11-2026'}, 'start must be a date'),
    ({'frequency': 'daily', 'interval': 0}, 'interval must be'),
    ({'frequency': 'daily', 'weekdays': ['MO']}, 'weekdays only go with frequency weekly'),
    ({'frequency': 'weekly', 'weekdays': ['XX']}, 'weekdays must be a list'),
    ({'frequency': 'monthly', 'monthday': 32}, 'monthday must be 1 to 31'),
    ({'frequency': 'daily', 'count': 1, 'until': '2026-02-01'}, 'count or until, not both'),
    ({'frequency': 'daily', 'until': '2025-01-01'}, 'before start'),
    ({'frequency': 'daily', 'hour': 9}, 'unknown keys hour'),
])
def test_bad_schedules_fail_naming_the_key(schedule, message):
    with pytest.raises(AnsibleFilterError, match=message):
        rrule(schedule)
