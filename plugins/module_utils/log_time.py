# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time handling for redfire.ops log scanning: time zones, the analysis window, and timestamp keys.

Every timestamp becomes a *key*: the bytes ``YYYY-MM-DD HH:MM:SS`` in the log's time zone, so that keys compare
as fixed-width strings. The guide's format needs no parsing at all; other formats are parsed once per distinct
timestamp text (cached), never with ``strptime`` per line."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
from datetime import datetime, timedelta, timezone as _timezone

try:
    from zoneinfo import ZoneInfo  # Python >= 3.9
except ImportError:  # pragma: no cover
    ZoneInfo = None

KEY_FORMAT = '%Y-%m-%d %H:%M:%S'
DEFAULT_TIMESTAMP_REGEX = r'(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})'
_CACHE_MAX = 4096
_RELATIVE = re.compile(r'^\s*([+-])\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$')
_UNITS = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}
_OFFSET = re.compile(r'^(?:UTC|GMT)?([+-])(\d{2}):?(\d{2})$')
_FORMAT_PIECES = {
    'Y': r'\d{4}', 'y': r'\d{2}', 'm': r'\d{1,2}', 'd': r'\d{1,2}', 'e': r' ?\d{1,2}', 'H': r'\d{1,2}',
    'I': r'\d{1,2}', 'M': r'\d{2}', 'S': r'\d{2}', 'f': r'\d{1,6}', 'j': r'\d{3}', 'p': r'(?:AM|PM|am|pm)',
    'b': r'[A-Za-z]{3}', 'B': r'[A-Za-z]+', 'a': r'[A-Za-z]{3}', 'A': r'[A-Za-z]+',
    'z': r'(?:Z|[+-]\d{2}:?\d{2})', 'Z': r'[A-Z]{2,5}', '%': '%', 'T': r'\d{2}:\d{2}:\d{2}',
}


class TimeOptionError(ValueError):
    def __init__(self, option, message):
        super(TimeOptionError, self).__init__(message)
        self.option = option


def tz_from_name(name):
    """None for the host's local time, else a tzinfo (``UTC``, ``+08:00``, or an IANA name)."""
    if name is None or name == '' or name == 'local':
        return None
    if not isinstance(name, str):
        raise TimeOptionError('timezone', 'timezone must be a string such as local, UTC, +08:00 or Asia/Shanghai, '
                              'got %r' % (name,))
    if name.upper() in ('UTC', 'Z', 'GMT'):
        return _timezone.utc
    m = _OFFSET.match(name)
    if m:
        if int(m.group(2)) > 23 or int(m.group(3)) > 59:
            raise TimeOptionError('timezone', 'timezone %r is not a valid offset: hours 00-23 and minutes 00-59, '
                                  'such as +08:00 or -05:30' % (name,))
        delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
        return _timezone(-delta if m.group(1) == '-' else delta)
    if ZoneInfo is not None:
        try:
            return ZoneInfo(name)
        except Exception:  # pylint: disable=broad-except  # ZoneInfoNotFoundError, ValueError
            pass
    raise TimeOptionError('timezone', 'timezone %r is not known: use local, UTC, an offset like +08:00, or an IANA '
                          'name like Asia/Shanghai' % (name,))


def to_log_tz(dt, tz):
    """A naive datetime in the log's time zone for ``dt`` (naive datetimes already are)."""
    if dt.tzinfo is None:
        return dt
    if tz is None:
        return dt.astimezone().replace(tzinfo=None)
    return dt.astimezone(tz).replace(tzinfo=None)


def now_in(tz):
    return datetime.now() if tz is None else datetime.now(tz).replace(tzinfo=None)


# Window ends must leave room for the order tolerance and time zone shifts on both sides.
MIN_YEAR, MAX_YEAR = 1900, 9998


def _in_range(dt, option, value):
    if not MIN_YEAR <= dt.year <= MAX_YEAR:
        raise TimeOptionError(option, '%s=%r is out of range: the window must lie between the years %d and %d'
                              % (option, value, MIN_YEAR, MAX_YEAR))
    return dt


def _shifted(dt, seconds, option, value):
    """``dt`` plus ``seconds``, or TimeOptionError naming the option when that leaves the supported years."""
    try:
        shifted = dt + timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        shifted = None
    if shifted is None:
        raise TimeOptionError(option, '%s=%r is out of range: the window must lie between the years %d and %d'
                              % (option, value, MIN_YEAR, MAX_YEAR))
    return _in_range(shifted, option, value)


def parse_time(value, option, tz, now):
    """``now``, a relative time (``-2h``, ``-30m``, ``-1d``, ``+10m``) or an ISO 8601 time."""
    text = str(value).strip()
    if text.lower() == 'now':
        return now
    m = _RELATIVE.match(text)
    if m:
        seconds = float(m.group(2)) * _UNITS[m.group(3)]
        return _shifted(now, -seconds if m.group(1) == '-' else seconds, option, value)
    iso = text[:-1] + '+00:00' if text.endswith('Z') else text
    try:
        parsed = to_log_tz(datetime.fromisoformat(iso), tz)
    except (ValueError, OverflowError):
        raise TimeOptionError(option, '%s=%r is not a time: use an ISO time such as 2024-05-01 08:00:00 or '
                              '2024-05-01T08:00:00+08:00 (years %d-%d), a relative time such as -2h, -30m, -1d, '
                              'or now' % (option, value, MIN_YEAR, MAX_YEAR))
    return _in_range(parsed, option, value)


def parse_window(hours=None, since=None, until=None, tz=None, now=None):
    """The inclusive window as naive datetimes in the log's time zone, truncated to whole seconds."""
    now = to_log_tz(now, tz) if now is not None else now_in(tz)
    end = parse_time(until, 'until', tz, now) if until not in (None, '') else now
    if since not in (None, ''):
        if hours is not None:
            raise TimeOptionError('hours', 'give either hours or since, not both (hours counts back from until)')
        start = parse_time(since, 'since', tz, now)
        relative = False
    else:
        hours = 24 if hours is None else hours
        try:
            hours = float(hours)
        except (TypeError, ValueError):
            raise TimeOptionError('hours', 'hours must be a positive number, got %r' % (hours,))
        if not 0 < hours < float('inf'):
            raise TimeOptionError('hours', 'hours must be a positive number, got %r' % (hours,))
        start = _shifted(end, -hours * 3600.0, 'hours', hours)
        relative = True
    start = start.replace(microsecond=0)
    end = end.replace(microsecond=0)
    if start > end:
        raise TimeOptionError('since', 'since (%s) is after until (%s): the window is empty' % (start, end))
    if hours is None:
        hours = (end - start).total_seconds() / 3600.0
    if float(hours) == int(hours):
        hours = int(hours)
    return {'since': start, 'until': end, 'hours': hours, 'relative': relative,
            'tz_name': 'local' if tz is None else str(tz)}


def format_to_regex(fmt):
    """A regex with one group that finds timestamps written with the strptime format ``fmt``."""
    out = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c == '%' and i + 1 < len(fmt):
            d = fmt[i + 1]
            if d not in _FORMAT_PIECES:
                raise TimeOptionError('timestamp_format', 'timestamp_format %r uses %%%s, which is not supported; '
                                      'give timestamp_regex too' % (fmt, d))
            out.append(_FORMAT_PIECES[d])
            i += 2
        elif c == ' ':
            out.append(' +')  # syslog pads days with a space: 'May  1'
            i += 1
        else:
            out.append(re.escape(c))
            i += 1
    return '(' + ''.join(out) + ')'


class _Cache(dict):
    def put(self, k, v):
        if len(self) >= _CACHE_MAX:
            self.clear()
        self[k] = v
        return v


def _iso_key_function(tz):
    cache = _Cache()

    def iso_key(raw):
        if len(raw) >= 19 and raw[4:5] == b'-' and raw[7:8] == b'-' and raw[13:14] == b':' and raw[16:17] == b':':
            rest = raw[19:]
            if rest[:1] in (b'.', b','):
                rest = rest[1:].lstrip(b'0123456789')
            if not rest:
                return raw[:10] + b' ' + raw[11:19]
        hit = cache.get(raw)
        if hit is not None or raw in cache:
            return hit
        text = raw.decode('ascii', 'replace').strip()
        if text.endswith('Z'):
            text = text[:-1] + '+00:00'
        try:
            key = to_log_tz(datetime.fromisoformat(text.replace(',', '.')), tz).strftime(KEY_FORMAT).encode()
        except ValueError:
            key = None
        return cache.put(raw, key)
    return iso_key


def _epoch_key_function(tz):
    cache = _Cache()

    def epoch_key(raw):
        try:
            val = float(raw)
        except ValueError:
            return None
        if val > 1e11:  # milliseconds
            val /= 1000.0
        sec = int(val)
        hit = cache.get(sec)
        if hit is not None:
            return hit
        try:
            dt = datetime.fromtimestamp(sec, tz) if tz is not None else datetime.fromtimestamp(sec)
        except (ValueError, OverflowError, OSError):
            return None
        return cache.put(sec, dt.replace(tzinfo=None).strftime(KEY_FORMAT).encode())
    return epoch_key


def _strptime_key_function(fmt, tz, now):
    cache = _Cache()
    yearless = '%Y' not in fmt and '%y' not in fmt

    def strptime_key(raw):
        hit = cache.get(raw)
        if hit is not None or raw in cache:
            return hit
        text = raw.decode('utf-8', 'replace')
        try:
            dt = datetime.strptime(text, fmt)
        except ValueError:
            # syslog pads the day with a space; a yearless 29 Feb needs a year before parsing
            try:
                dt = datetime.strptime(' '.join(text.split()), ' '.join(fmt.split()))
            except ValueError:
                return cache.put(raw, None)
        if yearless:
            dt = dt.replace(year=now.year)
            if dt > now + timedelta(days=1):
                dt = dt.replace(year=now.year - 1)
        return cache.put(raw, to_log_tz(dt, tz).strftime(KEY_FORMAT).encode())
    return strptime_key


def make_key_function(timestamp_regex=None, timestamp_format=None, json_time_field=None, tz=None, now=None):
    """(compiled bytes regex, key function of a match) for the configured timestamp style."""
    now = now or now_in(tz)
    for option, value in (('json_time_field', json_time_field), ('timestamp_regex', timestamp_regex),
                          ('timestamp_format', timestamp_format)):
        if value is not None and not isinstance(value, str):
            raise TimeOptionError(option, '%s must be a string, got %r' % (option, value))
    if json_time_field:
        if timestamp_regex or timestamp_format:
            raise TimeOptionError('json_time_field', 'json_time_field cannot be combined with timestamp_regex or '
                                  'timestamp_format')
        field = re.escape(json_time_field.encode('utf-8'))
        rx = re.compile(b'"' + field + rb'"\s*:\s*(?:"([^"]*)"|(-?\d+(?:\.\d+)?))')
        iso, epoch = _iso_key_function(tz), _epoch_key_function(tz)

        def json_key(m):
            s = m.group(1)
            return iso(s) if s is not None else epoch(m.group(2))
        return rx, json_key
    pattern = timestamp_regex
    if pattern is None:
        pattern = format_to_regex(timestamp_format) if timestamp_format else DEFAULT_TIMESTAMP_REGEX
    try:
        rx = re.compile(pattern.encode('utf-8'), re.MULTILINE)
    except re.error as exc:
        raise TimeOptionError('timestamp_regex', 'timestamp_regex %r is not a valid regular expression: %s'
                              % (pattern, exc))
    if rx.search(b''):
        raise TimeOptionError('timestamp_regex', 'timestamp_regex %r matches the empty string; it must match the '
                              'timestamp text' % (pattern,))
    group = 1 if rx.groups >= 1 else 0
    if timestamp_format:
        conv = _strptime_key_function(timestamp_format, tz, now)
    elif pattern == DEFAULT_TIMESTAMP_REGEX:
        def default_key(m):
            raw = m.group(1)
            return raw if raw[10] == 32 else raw[:10] + b' ' + raw[11:]
        return rx, default_key
    else:
        conv = _iso_key_function(tz)

    def key(m):
        return conv(m.group(group))
    return rx, key
