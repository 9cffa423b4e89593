# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Streaming error analysis of log files over a time window (core of redfire.ops.log_analysis): the public API.

Pure Python, no Ansible imports: the module, the unit tests and the benchmark call it directly.

How it stays fast and small:
- files are read in binary blocks; only matched lines are decoded (``errors='replace'``);
- one combined pattern finds candidate lines, behind a literal prefilter (``bytes.find``-speed search for the
  literal every alternative needs, e.g. ``error`` for the guide's four categories);
- timestamps are compared as fixed-width ``YYYY-MM-DD HH:MM:SS`` byte strings (no ``strptime`` per line);
- on uncompressed files whose timestamps are in order the scan starts at the window start found by bisection
  over byte offsets and stops after the window end; broken order is detected and the file is scanned fully;
- rotated files whose time range lies outside the window are skipped; gzip files are streamed with zlib;
- memory is bounded by the block size and ``max_line_bytes`` whatever the file size.

The work is split by concern: log_patterns (categories, literal prefilter), log_readers (blocks, gzip, file
discovery), log_probe (timestamps, bisection), log_analyzer (the scan and its records), log_workers (worker
processes); this module checks the options, runs the scan within the timeout and builds the result.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import time
from datetime import datetime, timedelta

from ansible_collections.redfire.ops.plugins.module_utils.deadline import Deadline, DeadlineExceeded, NotRegularFile
from ansible_collections.redfire.ops.plugins.module_utils.log_analyzer import (  # noqa: F401  pylint: disable=unused-import
    BLOCK_SIZE, DEFAULT_MAX_LINE, DEFAULT_BUCKET, LEVELS, MAX_BUCKETS, MAX_MESSAGE, PARALLEL_MIN_BYTES, PROBE_SIZE, Analyzer,
    key_text, new_file_stats,
)
from ansible_collections.redfire.ops.plugins.module_utils.log_journal import JournalReader, new_journal_stats, parse_sources
from ansible_collections.redfire.ops.plugins.module_utils.log_patterns import (  # noqa: F401  (re-exported)
    DEFAULT_CATEGORIES, LogScanError, Matcher,
)
from ansible_collections.redfire.ops.plugins.module_utils.log_probe import first_key_of
from ansible_collections.redfire.ops.plugins.module_utils.log_readers import expand_paths
from ansible_collections.redfire.ops.plugins.module_utils.log_time import (  # noqa: F401  (re-exported)
    KEY_FORMAT, make_key_function, now_in, parse_window, to_log_tz, tz_from_name,
)
from ansible_collections.redfire.ops.plugins.module_utils.log_workers import (  # noqa: F401  pylint: disable=unused-import
    MAX_AUTO_WORKERS, auto_workers,
)

MAX_TIMEOUT = 86400
MAX_ORDER_TOLERANCE = 7 * 86400
MIN_BUCKET, MAX_BUCKET = 60, 7 * 86400
_BUCKET = re.compile(r'^\s*(\d+)\s*([smhdw]?)\s*$')
_BUCKET_UNITS = {'': 1, 's': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}
AUTO_BUCKETS = (3600, 6 * 3600, 86400, 604800)


def analyze(paths, hours=None, since=None, until=None, timezone='local', categories=None, ignore_case=True,
            timestamp_regex=None, timestamp_format=None, json_time_field=None, max_details=10,
            max_context_lines=20, top_messages=10, include_rotated=True, seek=True, order_tolerance=60,
            max_line_bytes=DEFAULT_MAX_LINE, now=None, block_size=BLOCK_SIZE, probe_size=PROBE_SIZE, workers=0,
            parallel_min_bytes=PARALLEL_MIN_BYTES, timeout=None, journal=None, level_regex=None,
            histogram_bucket=None, journalctl='journalctl'):
    """Analyse ``paths`` and the ``journal`` sources and return the result dictionary (see the module's RETURN
    documentation).

    ``timeout`` (seconds, None: no limit) bounds the listing and the scan, user patterns included (see
    module_utils/deadline.py): a scan cut by it returns what was counted so far with ``incomplete`` true, a
    warning on the file it was in and the files not reached as ``status: timeout``.

    Raises LogScanError for bad options (its ``option`` names the option to fix)."""
    started = time.time()
    if isinstance(paths, str):
        paths = [paths]
    paths = list(paths or [])
    sources = parse_sources(journal)
    if not paths and not sources:
        raise LogScanError('paths', 'paths must list at least one file or glob (or give journal sources)')
    bucket = parse_bucket(histogram_bucket) if histogram_bucket is not None else DEFAULT_BUCKET
    level_rx = None
    if level_regex is not None:
        if not isinstance(level_regex, str) or not level_regex:
            raise LogScanError('level_regex', 'level_regex must be a non-empty regular expression, got %r'
                               % (level_regex,))
        try:
            level_rx = re.compile(level_regex.encode('utf-8'), re.IGNORECASE)
        except re.error as exc:
            raise LogScanError('level_regex', 'level_regex %r is not a valid regular expression: %s'
                               % (level_regex, exc))
    for name, val in (('max_details', max_details), ('max_context_lines', max_context_lines),
                      ('top_messages', top_messages), ('order_tolerance', order_tolerance), ('workers', workers)):
        if isinstance(val, bool) or not isinstance(val, (int, float)) or not 0 <= val < float('inf') or \
                (name != 'order_tolerance' and val != int(val)):
            raise LogScanError(name, '%s must be 0 or a positive number, got %r' % (name, val)
                               + ('' if name == 'order_tolerance' else ' (a whole number)'))
    max_details, max_context_lines, top_messages, workers = (int(max_details), int(max_context_lines),
                                                             int(top_messages), int(workers))
    if isinstance(max_line_bytes, bool) or not isinstance(max_line_bytes, int) or max_line_bytes < 1024:
        raise LogScanError('max_line_bytes', 'max_line_bytes must be a whole number of at least 1024, got %r'
                           % (max_line_bytes,))
    if order_tolerance > MAX_ORDER_TOLERANCE:
        raise LogScanError('order_tolerance', 'order_tolerance must be at most %d seconds (a week), got %r'
                           % (MAX_ORDER_TOLERANCE, order_tolerance))
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or
                                not 0 < timeout <= MAX_TIMEOUT):
        raise LogScanError('timeout', 'timeout must be a number of seconds above 0 and at most %d, got %r'
                           % (MAX_TIMEOUT, timeout))
    tz = tz_from_name(timezone)
    now = to_log_tz(now, tz) if now is not None else now_in(tz)
    win = parse_window(hours=hours, since=since, until=until, tz=tz, now=now)
    matcher = Matcher(categories if categories is not None else DEFAULT_CATEGORIES, ignore_case)
    ts_regex, keyf = make_key_function(timestamp_regex, timestamp_format, json_time_field, tz, now)
    tol = timedelta(seconds=order_tolerance)
    since_key = win['since'].strftime(KEY_FORMAT).encode() if win['since'] else None
    until_key = win['until'].strftime(KEY_FORMAT).encode() if win['until'] else None
    seek_key = (win['since'] - tol).strftime(KEY_FORMAT).encode() if win['since'] else None
    stop_key = (win['until'] + tol).strftime(KEY_FORMAT).encode() if win['until'] else None
    an = Analyzer(matcher, keyf, ts_regex, since_key, until_key, seek_key, stop_key, max_details=max_details,
                  max_context_lines=max_context_lines, top_messages=top_messages, seek=seek,
                  max_line_bytes=max_line_bytes, block_size=block_size, tolerance=tol,
                  probe_size=probe_size, workers=workers or auto_workers(), parallel_min_bytes=parallel_min_bytes)
    if since_key is not None and until_key is not None:
        span = _key_seconds(until_key) - _key_seconds(since_key)
        if histogram_bucket is None:  # the default hour, widened for long windows
            for size in AUTO_BUCKETS:
                bucket = size
                if span // size + 2 <= MAX_BUCKETS:
                    break
            else:
                bucket = -(-span // (MAX_BUCKETS - 2) // 604800) * 604800
        elif span // bucket + 2 > MAX_BUCKETS:
            raise LogScanError('histogram_bucket', 'histogram_bucket %r gives more than %d rows over the window: use a '
                               'larger bucket or a shorter window' % (histogram_bucket, MAX_BUCKETS))
    an.set_levels_and_buckets(level_rx, bucket)
    files = []
    journal_reader = JournalReader(an, tz, journalctl) if sources else None
    cut = _scan_all(an, paths, include_rotated, files, timeout, sources, journal_reader)
    counts = an.counts
    total = sum(counts.values())
    elapsed = time.time() - started
    scanned = sum(f['bytes_scanned'] for f in files)
    return {
        'error_counts': counts,
        'total_errors': total,
        'error_events': an.events,
        'error_details': an.details,
        'top_messages': an.top_messages(),
        'level_counts': level_counts(an.levels),
        'histogram': histogram_rows(an, since_key, until_key, bucket),
        'files': files,
        'window': {'since': key_text(since_key), 'until': key_text(until_key), 'hours': win['hours'],
                   'relative': win['relative'], 'timezone': win['tz_name']},
        'stats': {
            'files_scanned': sum(1 for f in files if f['status'] == 'scanned' and f.get('source') != 'journal'),
            'journal_sources_scanned': sum(1 for f in files if f['status'] == 'scanned' and f.get('source') == 'journal'),
            'journal_entries_read': sum(f.get('entries_read', 0) for f in files),
            'files_skipped': sum(1 for f in files if f['status'] == 'skipped'),
            'files_failed': sum(1 for f in files if f['status'] in ('error', 'missing', 'timeout')),
            'bytes_scanned': scanned,
            'lines_scanned': sum(f['lines_scanned'] for f in files),
            'seconds': round(elapsed, 6),
            'mb_per_second': round(scanned / 1e6 / elapsed, 1) if elapsed > 0 else None,
            'prefilter': matcher.mode,
            'workers': an.workers,
            'message_groups_dropped': an.groups_dropped,
            'timed_out': cut,
        },
        'incomplete': cut or any(f['error'] or f['warnings'] for f in files),
        'generated_at': now_in(tz).strftime(KEY_FORMAT),
    }


def _scan_all(an, paths, include_rotated, files, timeout, sources=(), journal_reader=None):
    """List and scan the files, then the journal sources, into ``files`` (per-file stats) within ``timeout``;
    True when it cut the scan."""
    current = []  # the file being scanned, and the paths not reached yet
    try:
        with Deadline(timeout):
            families, missing = expand_paths(paths, include_rotated) if paths else ([], [])
            for spec in missing:
                fs = new_file_stats(spec)
                fs['status'] = 'missing'
                fs['error'] = 'no such file or no glob match: %s' % spec
                files.append(fs)
            current = [None] + [p for family in families for p in family] + list(sources)
            for family in families:
                nexts = dict(zip(family, family[1:]))
                for path in family:
                    fs = new_file_stats(path)
                    files.append(fs)
                    current[:2] = [fs]
                    _scan_one(an, path, nexts.get(path), fs)
                    current[0] = None
            for source in sources:
                fs = new_journal_stats(source)
                files.append(fs)
                current[:2] = [fs]
                journal_reader.scan(source, fs)
                current[0] = None
    except DeadlineExceeded:
        if not current:  # still listing: nothing was scanned
            current = [None] + list(paths)
        fs = current[0]
        if fs is not None:
            fs['warnings'].append('the scan of %s was stopped at the timeout of %ss (%d bytes read): errors after '
                                  'that point are not counted; raise the timeout, narrow the window or simplify the '
                                  'patterns' % (fs['path'], _fmt_seconds(round(timeout, 2)), fs['bytes_scanned']))
        for path in current[1:]:
            if isinstance(path, str):
                fs = new_file_stats(path)
            else:  # a journal source
                fs = new_journal_stats(path)
                path = path.name
            fs['status'] = 'timeout'
            fs['error'] = 'not scanned: the timeout of %ss ran out before %s' % (_fmt_seconds(round(timeout, 2)), path)
            files.append(fs)
        return True
    return False


def _fmt_seconds(value):
    return ('%f' % value).rstrip('0').rstrip('.')


def _scan_one(an, path, newer, fs):
    """Scan one path of a rotation family (``newer``: the next newer file of the family, or None) into ``fs``."""
    bound = None  # the first timestamp of the next newer file bounds the last one of a rotated file
    try:
        if os.path.isdir(path):
            fs['status'] = 'error'
            fs['error'] = 'is a directory: %s (give files or a glob such as %s/*.log)' % (path, path.rstrip('/'))
            return
        if newer is not None and an.seek and an.since is not None:
            bound = first_key_of(an, newer)
        an.scan_file(path, fs, upper_bound=bound)
    except NotRegularFile as exc:
        fs['status'] = 'error'
        fs['error'] = str(exc)
        return
    except (IOError, OSError) as exc:
        fs['status'] = 'error'
        fs['error'] = '%s: %s' % (exc.strerror or exc.__class__.__name__, path)
    if fs['skipped_outside_window']:
        fs['status'] = 'skipped'
    elif fs['status'] == 'scanned' and fs['bytes_scanned'] > 0 and fs['first_time'] is None:
        # every line is then a continuation line and nothing can count: say so instead of a silent 0
        fs['warnings'].append('no line with a timestamp in %s, so nothing in it was counted; set '
                              'timestamp_format or timestamp_regex for its format' % path)


def file_problems(files):
    """[(path, message)] of the files whose errors may be missing from the counts: missing, unreadable, read only
    in part, or without a line in the timestamp format. One entry per file, in scan order."""
    return [(f['path'], f['error'] or '; '.join(f['warnings'])) for f in files if f['error'] or f['warnings']]


def parse_bucket(value):
    """Seconds of a histogram bucket: a number of seconds or a text such as 15m, 1h, 1d (60 s to 7 days)."""
    if isinstance(value, bool) or value is None:
        seconds = None
    elif isinstance(value, (int, float)):
        seconds = int(value) if value == int(value) else None
    else:
        m = _BUCKET.match(str(value))
        seconds = int(m.group(1)) * _BUCKET_UNITS[m.group(2)] if m else None
    if seconds is None or not MIN_BUCKET <= seconds <= MAX_BUCKET:
        raise LogScanError('histogram_bucket', 'histogram_bucket must be a whole number of seconds or a text such as '
                           '15m, 1h or 1d, from 1m to 7d, got %r' % (value,))
    return seconds


def _key_seconds(key):
    return int((datetime.strptime(key.decode('ascii'), KEY_FORMAT) - datetime(1970, 1, 1)).total_seconds())


def level_counts(levels):
    """Error events per level, most severe first (then other names, then unknown)."""
    order = dict((name, i) for i, name in enumerate(LEVELS))
    return dict(sorted(levels.items(), key=lambda kv: (order.get(kv[0], len(LEVELS) + (kv[0] == 'unknown')), kv[0])))


def histogram_rows(an, since_key, until_key, bucket):
    """{bucket_seconds, buckets: [{start, counts (every category), total}]}: every bucket of the window, empty
    ones included (without a window start: from the first bucket with events to the last)."""
    names = an.m.names
    keys = sorted(an.histogram)
    if since_key is not None and until_key is not None:
        start, stop = _key_seconds(an.bucket_of(since_key)), _key_seconds(an.bucket_of(until_key))
    elif keys:
        start, stop = _key_seconds(keys[0]), _key_seconds(keys[-1])
    else:
        return {'bucket_seconds': bucket, 'buckets': []}
    rows = []
    epoch = datetime(1970, 1, 1)
    for secs in range(start, stop + 1, bucket):
        text = (epoch + timedelta(seconds=secs)).strftime(KEY_FORMAT)
        row = an.histogram.get(text.encode(), {})
        counts = dict((n, row.get(n, 0)) for n in names)
        rows.append({'start': text, 'counts': counts, 'total': sum(counts.values())})
    return {'bucket_seconds': bucket, 'buckets': rows}
