#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: log_analysis
short_description: Count and summarise errors in log files and the systemd journal over a time window
version_added: 0.1.0
description:
  - Scans log files (plain or gzip, with their rotated siblings) and counts, per error category, the log events
    whose time lies in a window, like the RedFire guide's log analyser, and renders the guide's report.
  - An event is a line with a timestamp plus the lines without a timestamp that follow it (continuation lines,
    such as stack traces). An event counts once in every category whose pattern matches any of its lines, so a
    line that matches several categories counts in each (the guide's behaviour) and C(total_errors) is the sum of
    the category counts; C(error_events) counts each event once.
  - Files are streamed in binary blocks with constant memory; only matched lines are decoded (invalid UTF-8 is
    replaced). One combined pattern behind a literal prefilter finds candidate lines; timestamps are compared as
    fixed-width strings.
  - On uncompressed files whose timestamps are in order the scan starts at the window start, found by bisection
    over byte offsets, and stops after the window end. Out-of-order timestamps (beyond O(order_tolerance)) are
    detected and the file is then scanned from the start, so counts stay correct.
  - Rotated files whose time range lies outside the window are skipped without being scanned.
  - A large uncompressed range (16 MiB or more) is split at event starts and scanned by O(workers) forked
    processes whose results are merged in file order (the result is the one a single process gives); a gzip file
    is decompressed in a thread while it is scanned.
  - A missing or unreadable path is reported in C(files); the task fails only when no path could be read, or
    when O(strict=true). A file in which no line has a timestamp of the configured format (so nothing in it can
    count) gets a warning.
  - Only regular files are read (symlinks to them are followed); a FIFO, a device, a socket or a symlink to one
    gets C(status=error) with a message naming the path and what it is, since reading it would block or never
    end.
  - O(journal) adds systemd journal sources (units and/or journal field matches), read for the same window with
    the managed host's C(journalctl --since/--until -o json), streamed, within O(timeout); they get the same
    categories, events (a multi-line MESSAGE is one event), details, top messages and report as files, and one
    entry each in RV(files). Without journalctl, without permission to read the journal, or for a unit systemd
    does not know, the source gets C(status=error) or C(status=missing) with a message; the task fails on it
    only with O(strict=true).
  - RV(level_counts) counts the error events by level (the level word after the timestamp in files, see
    O(level_regex); the journal's PRIORITY), and RV(histogram) counts them per category per time bucket
    (O(histogram_bucket)) over the window, so when errors started needs no second run. Both are in the report.
author:
  - RedFire operations engineering (@redfire)
extends_documentation_fragment:
  - redfire.ops.attributes
  - redfire.ops.attributes.INFO_MODULE
options:
  paths:
    description:
      - Log files or glob patterns. Gzip files are recognised by their content, whatever their name.
      - Required unless O(journal) is given.
    type: list
    elements: path
    default: []
    aliases: [path]
  journal:
    description:
      - Journal sources read with C(journalctl) for the same window, each one entry in RV(files).
      - Each source is a unit (C(unit), as C(journalctl -u)), journal field matches (C(matches), as
        C(journalctl FIELD=value); different fields must all match, several values of one field are
        alternatives), or both. C(name) names the source in RV(files) and details (default derived from them).
      - A text is short for a source with only that C(unit).
      - The journal's time is converted to O(timezone); MESSAGE is matched against the categories line by line.
    type: list
    elements: raw
    default: []
  level_regex:
    description:
      - Regular expression finding the level word of a file's event in its first line (searched anywhere in the
        line; its first group, or the whole match, is the word; case-insensitive).
      - Default the conventional place, the word right after the timestamp (after fractions, a zone and an opening
        bracket), for example C(2024-05-01 08:00:00,123 ERROR) or C(2024-05-01 08:00:00 [warn]).
      - Words are mapped to the journal's level names (C(err) and C(error) to C(error), C(warn) to C(warning),
        C(fatal) to C(critical), ...); an event without a level word counts as C(unknown).
    type: str
  histogram_bucket:
    description:
      - Size of the time buckets of RV(histogram), as seconds or a text such as C(15m), C(1h), C(1d) (from 1 minute
        to 7 days). Buckets are aligned to the clock in O(timezone) (whole hours, midnight).
      - Default one hour, widened automatically (6 hours, a day, a week) when the window would have more than 1000
        buckets; an explicit size that gives more than 1000 buckets over the window is an error.
    type: str
  include_rotated:
    description:
      - Also scan rotated siblings of each file (C(app.log.1), C(app.log.2.gz), C(app.log-20240501),
        C(app.log-20240501.gz)), oldest first.
    type: bool
    default: true
  hours:
    description:
      - Length of the window in hours, counted back from O(until). Default C(24) when O(since) is not given.
      - Mutually exclusive with O(since).
    type: float
  since:
    description:
      - Window start, inclusive. An ISO 8601 time (C(2024-05-01 08:00:00), C(2024-05-01T08:00:00+08:00)), a
        relative time (C(-2h), C(-30m), C(-1d), C(-1w)) or C(now). Times without an offset are in O(timezone).
    type: str
  until:
    description:
      - Window end, inclusive, in the same forms as O(since). Default now.
    type: str
  timezone:
    description:
      - Time zone the logs are written in; the window is converted to it. C(local) is the managed host's local
        time (as the guide's C(datetime.now())); also C(UTC), an offset such as C(+08:00), or an IANA name such as
        C(Asia/Shanghai) (needs Python 3.9+ and tzdata on the managed host).
    type: str
    default: local
  categories:
    description:
      - Error categories, name to regular expression (Python syntax, applied to each line as bytes; literals may
        be any UTF-8 text, C(.) matches one byte, case folding is ASCII only).
      - The default is the guide's four categories.
    type: dict
    default:
      database_error: DatabaseError|ConnectionError
      api_error: APIError|HTTPError
      trading_error: TradingError|OrderError
      system_error: SystemError|RuntimeError
  ignore_case:
    description: Match categories case-insensitively, as the guide does.
    type: bool
    default: true
  timestamp_regex:
    description:
      - Regular expression that finds the timestamp in a line; its first group (or the whole match) is the
        timestamp text. Its first match within a line decides; a line where it finds nothing, or a first match
        that is not a valid time, is a continuation line. A match never spans two lines.
      - Default the guide's C(YYYY-MM-DD HH:MM:SS) anywhere in the line (a C(T) separator is accepted).
      - Without O(timestamp_format) the text is read as ISO 8601 (fractions and offsets allowed).
    type: str
  timestamp_format:
    description:
      - C(strptime) format of the timestamp text, for other layouts, for example C(%d/%b/%Y:%H:%M:%S) or the
        yearless syslog C(%b %d %H:%M:%S) (the current year is assumed). Parsed once per distinct text.
      - Without O(timestamp_regex), the regex is derived from the format.
    type: str
  json_time_field:
    description:
      - For JSON-lines logs, the name of the field holding the time (ISO 8601 string, or epoch seconds or
        milliseconds as a number). Cannot be combined with O(timestamp_regex) or O(timestamp_format).
    type: str
  max_details:
    description: How many error events to return in RV(error_details) (the earliest ones, as the guide's report).
    type: int
    default: 10
  max_context_lines:
    description: How many continuation lines (stack trace) to keep with each detail.
    type: int
    default: 20
  top_messages:
    description:
      - How many recurring messages to return in RV(top_messages). Messages are grouped after removing the
        timestamp and normalising numbers (C(<n>)) and hex or UUID ids (C(<id>)). C(0) disables grouping.
    type: int
    default: 10
  seek:
    description:
      - Use the order of timestamps to seek to the window start by bisection and to skip files outside the window.
        Set to V(false) to read every file fully.
    type: bool
    default: true
  order_tolerance:
    description:
      - Seconds by which timestamps may go backwards (threads writing out of order) without the file being treated
        as unordered. Larger disorder makes the module scan the file fully.
    type: int
    default: 60
  max_line_bytes:
    description:
      - Longest line analysed in full; longer lines are cut at this size (counted in C(long_lines_truncated)).
        Bounds memory. The default, 16 MiB, covers 10 MB lines.
    type: int
    default: 16777216
  workers:
    description:
      - Processes that scan a large uncompressed file (16 MiB or more to read) in parallel.
      - V(0) uses the CPUs this task may run on, at most 4. V(1) scans in this process only, for example on a
        busy trading host where the analysis must not take a second core.
    type: int
    default: 0
  language:
    description: Language of RV(report). C(zh) uses the guide's wording.
    type: str
    choices: [zh, en]
    default: zh
  strict:
    description: Fail when any path is missing, unreadable, only partly readable (truncated gzip, cut by
      O(timeout)), or has no line with a timestamp of the configured format; or when a journal source could not be
      read (no journalctl, no permission, a unit systemd does not know).
    type: bool
    default: false
  timeout:
    description:
      - Seconds the listing and the scan may take, whatever the patterns (a category or O(timestamp_regex) that
        backtracks catastrophically is stopped too). A scan cut by it returns what was counted so far with
        RV(incomplete=true), a warning naming the file it stopped in, and the files not reached with
        C(status=timeout); with O(strict=true) the task fails.
      - Above 0, at most 86400.
    type: float
    default: 300
notes:
  - Tested on managed hosts running Debian 12 (bookworm) with its Python 3.11, Debian 13 (trixie) with its Python 3.13, and on Python 3.8 (with ansible-core
    2.16) and 3.9 (with ansible-core 2.21) by the collection's compat tests; other distributions are untested.
  - Timestamps have one-second resolution; both window ends are inclusive.
  - With O(seek=true) a file is assumed to be in time order when its first, last and bisection probe timestamps
    are; disorder found while scanning makes the module rescan the file fully. Disorder hidden before the seek
    point and between probes cannot be seen; use O(seek=false) for files written without order.
  - A rotated gzip file is skipped when its first timestamp is after the window, or when the first timestamp of
    the next newer file of its rotation family is before the window.
seealso:
  - name: RedFire log analysis guide
    description: docs/log_analysis.md in the collection.
    link: https://github.com/redfire/redfire.ops/tree/main/docs/log_analysis.md
'''

EXAMPLES = r'''
- name: Errors of the last 24 hours, the guide's report in Chinese
  redfire.ops.log_analysis:
    paths: /var/log/redfire/app.log
  register: errors

- name: Show the report
  ansible.builtin.debug:
    msg: "{{ errors.report }}"

- name: Last two hours of JSON logs written in UTC, report in English
  redfire.ops.log_analysis:
    paths:
      - /var/log/redfire/*.json
    json_time_field: ts
    timezone: UTC
    since: -2h
    language: en

- name: A fixed incident window with an extra category
  redfire.ops.log_analysis:
    paths: /var/log/redfire/app.log
    since: "2024-05-01 08:00:00"
    until: "2024-05-01 09:30:00"
    categories:
      database_error: DatabaseError|ConnectionError
      api_error: APIError|HTTPError
      trading_error: TradingError|OrderError
      system_error: SystemError|RuntimeError
      timeout: Timeout(Error)?|timed out
    max_details: 50

- name: The journal of the backend unit and of a syslog identifier with the log files, 15-minute histogram
  redfire.ops.log_analysis:
    paths: /var/log/redfire/app.log
    journal:
      - unit: redfire-backend
      - matches:
          SYSLOG_IDENTIFIER: redfire-gateway
        name: gateway
    histogram_bucket: 15m
    since: -6h
  become: true

- name: Fail the play when errors were found
  ansible.builtin.assert:
    that: errors.total_errors == 0
    fail_msg: "{{ errors.error_counts }}"
'''

RETURN = r'''
error_counts:
  description: Number of error events in the window per category (every category, zero included).
  returned: success
  type: dict
  sample: {database_error: 3, api_error: 0, trading_error: 1, system_error: 2}
total_errors:
  description: Sum of RV(error_counts) (an event matching two categories counts twice, as in the guide).
  returned: success
  type: int
  sample: 6
error_events:
  description: Number of distinct error events in the window (each counted once).
  returned: success
  type: int
  sample: 5
error_details:
  description: The earliest O(max_details) error events.
  returned: success
  type: list
  elements: dict
  contains:
    time:
      description: Event time in the log's time zone.
      type: str
      sample: "2024-05-01 08:12:03"
    type:
      description: First matching category.
      type: str
      sample: database_error
    types:
      description: Every matching category.
      type: list
      elements: str
    message:
      description: The event's first line (decoded, invalid UTF-8 replaced, at most 2048 bytes).
      type: str
    continuation:
      description: Continuation lines of the event (stack trace), at most O(max_context_lines).
      type: list
      elements: str
    file:
      description: File the event was found in.
      type: str
    line:
      description: Line number, or null when the scan started at a seek offset (then see RV(error_details[].offset)).
      type: int
    offset:
      description: Byte offset of the event in the (uncompressed) file.
      type: int
top_messages:
  description: Most frequent normalised messages of error events.
  returned: success
  type: list
  elements: dict
  contains:
    message:
      description: Normalised message (timestamp removed, numbers as C(<n>), ids as C(<id>)).
      type: str
    count:
      description: Number of events.
      type: int
    first_seen:
      description: Earliest event time.
      type: str
    last_seen:
      description: Latest event time.
      type: str
    example:
      description: First line of one such event, as written.
      type: str
    types:
      description: Categories these events matched.
      type: list
      elements: str
level_counts:
  description:
    - Error events in the window by level, most severe first (C(emergency), C(alert), C(critical), C(error),
      C(warning), C(notice), C(info), C(debug), then other words, then C(unknown)). Each event counts once.
    - Files give the level word (see O(level_regex)), the journal its PRIORITY.
  returned: success
  type: dict
  sample: {error: 4, warning: 1, unknown: 1}
histogram:
  description:
    - Category counts per time bucket over the window (every bucket of the window, empty ones included, oldest
      first). The buckets of a category add up to its RV(error_counts).
  returned: success
  type: dict
  contains:
    bucket_seconds:
      description: Size of a bucket in seconds.
      type: int
      sample: 3600
    buckets:
      description: One entry per bucket.
      type: list
      elements: dict
      contains:
        start:
          description: Start of the bucket, in the log's time zone.
          type: str
          sample: "2024-05-01 08:00:00"
        counts:
          description: Count per category in the bucket (every category).
          type: dict
        total:
          description: Sum of RV(histogram.buckets[].counts).
          type: int
files:
  description: Per-file statistics, in scan order (rotated files oldest first), then one entry per journal source.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: File path, or the name of a journal source.
      type: str
    source:
      description: C(journal) for a journal source (absent for files).
      type: str
    units:
      description: Units of a journal source.
      type: list
      elements: str
    matches:
      description: Journal matches (C(FIELD=value)) of a journal source.
      type: list
      elements: str
    entries_read:
      description: Journal entries read for the window (journal sources); with RV(files[].grep), only the entries
        journalctl passed (those holding a category literal). The counts, levels and histogram are the same either
        way, as they count error events only.
      type: int
    grep:
      description: The pattern journalctl got as C(--grep) (the literals every category match contains, the
        prefilter of the file scan), or null when it read every entry of the window (categories without such
        literals, or a journalctl without PCRE2, which is then run again without it). Journal sources only.
      type: str
    status:
      description: C(scanned), C(skipped) (time range outside the window), C(missing) (no such file; for the journal,
        a unit systemd does not know and that has no entries), C(error) (unreadable, not a regular file; no
        journalctl or no permission to read the journal) or C(timeout) (not reached before O(timeout)).
      type: str
    error:
      description: Why the file could not be read, or null.
      type: str
    warnings:
      description: Problems met while reading (truncated or corrupt gzip data).
      type: list
      elements: str
    size:
      description: File size in bytes.
      type: int
    compressed:
      description: Whether the file is gzip.
      type: bool
    bytes_scanned:
      description: Uncompressed bytes read by the scan.
      type: int
    lines_scanned:
      description: Lines read by the scan.
      type: int
    errors:
      description: Category matches counted in this file.
      type: int
    first_time:
      description: First timestamp of the file (in a file out of time order, the first one of the first block read).
      type: str
    last_time:
      description: Last timestamp of the file (in a file out of time order, the latest one seen at block ends).
      type: str
    skipped_outside_window:
      description: The file was skipped because its time range lies outside the window.
      type: bool
    seek_used:
      description: The scan started at a bisection offset instead of the file start.
      type: bool
    seek_offset:
      description: Byte offset the scan started at.
      type: int
    probes:
      description: Number of bisection probes.
      type: int
    order_broken:
      description: Timestamps were found out of order after seeking, so the file was scanned fully.
      type: bool
    stopped_early:
      description: The scan stopped after the window end (ordered file).
      type: bool
    long_lines_truncated:
      description: Lines longer than O(max_line_bytes), analysed up to that size.
      type: int
    workers:
      description: Processes that scanned this file (1 unless it was split, see O(workers)).
      type: int
problems:
  description:
    - One message per file whose errors may be missing from the counts (missing, unreadable, read only in part,
      or without a line in the timestamp format); each is also a warning, and O(strict=true) fails on them.
  returned: success
  type: list
  elements: str
  sample: ["no such file or no glob match: /var/log/redfire/api.log"]
incomplete:
  description:
    - Whether errors may be missing from the counts, that is the scan was cut by O(timeout) or RV(problems) is
      not empty.
  returned: success
  type: bool
  sample: false
report:
  description: The guide's report as text (O(language)).
  returned: success
  type: str
  sample: "RedFire系统错误分析报告\n生成时间: 2024-05-01 09:00:00\n分析范围: 最近24小时\n总错误数: 0\n"
window:
  description: The window used, in the log's time zone.
  returned: success
  type: dict
  sample: {since: "2024-04-30 09:00:00", until: "2024-05-01 09:00:00", hours: 24, relative: true, timezone: local}
stats:
  description: Scan statistics.
  returned: success
  type: dict
  sample: {files_scanned: 2, files_skipped: 1, files_failed: 0, bytes_scanned: 1048576, lines_scanned: 10000,
           seconds: 0.02, mb_per_second: 52.4, prefilter: literal, workers: 2, message_groups_dropped: 0,
           timed_out: false, journal_sources_scanned: 1, journal_entries_read: 1200}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.redfire.ops.plugins.module_utils.log_report import render_report
from ansible_collections.redfire.ops.plugins.module_utils.log_scan import (
    DEFAULT_CATEGORIES, DEFAULT_MAX_LINE, LogScanError, analyze, file_problems,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type='list', elements='path', default=[], aliases=['path']),
            journal=dict(type='list', elements='raw', default=[]),
            level_regex=dict(type='str'),
            histogram_bucket=dict(type='str'),
            include_rotated=dict(type='bool', default=True),
            hours=dict(type='float'),
            since=dict(type='str'),
            until=dict(type='str'),
            timezone=dict(type='str', default='local'),
            categories=dict(type='dict', default=dict(DEFAULT_CATEGORIES)),
            ignore_case=dict(type='bool', default=True),
            timestamp_regex=dict(type='str'),
            timestamp_format=dict(type='str'),
            json_time_field=dict(type='str'),
            max_details=dict(type='int', default=10),
            max_context_lines=dict(type='int', default=20),
            top_messages=dict(type='int', default=10),
            seek=dict(type='bool', default=True),
            order_tolerance=dict(type='int', default=60),
            max_line_bytes=dict(type='int', default=DEFAULT_MAX_LINE),
            workers=dict(type='int', default=0),
            language=dict(type='str', default='zh', choices=['zh', 'en']),
            strict=dict(type='bool', default=False),
            timeout=dict(type='float', default=300),
        ),
        mutually_exclusive=[['hours', 'since'], ['json_time_field', 'timestamp_regex'],
                            ['json_time_field', 'timestamp_format']],
        supports_check_mode=True,
    )
    p = module.params
    categories = p['categories']
    for name, pattern in categories.items():
        if not isinstance(pattern, str):
            module.fail_json(msg='categories: the pattern of category %s must be a string, got %r' % (name, pattern))
    if p['max_line_bytes'] < 1024:
        module.fail_json(msg='max_line_bytes must be at least 1024, got %s' % p['max_line_bytes'])
    try:
        result = analyze(
            p['paths'], hours=p['hours'], since=p['since'], until=p['until'], timezone=p['timezone'],
            categories=categories, ignore_case=p['ignore_case'], timestamp_regex=p['timestamp_regex'],
            timestamp_format=p['timestamp_format'], json_time_field=p['json_time_field'],
            max_details=p['max_details'], max_context_lines=p['max_context_lines'], top_messages=p['top_messages'],
            include_rotated=p['include_rotated'], seek=p['seek'], order_tolerance=p['order_tolerance'],
            max_line_bytes=p['max_line_bytes'], workers=p['workers'], timeout=p['timeout'], journal=p['journal'],
            level_regex=p['level_regex'], histogram_bucket=p['histogram_bucket'],
        )
    except LogScanError as exc:
        module.fail_json(msg='%s: %s' % (exc.option, exc))
    result['report'] = render_report(result, p['language'])
    files = result['files']
    readable = [f for f in files if f['status'] in ('scanned', 'skipped')]
    problems = [message for _path, message in file_problems(files)]
    result['problems'] = problems
    if p['paths'] and not readable:  # journal sources alone fail only with strict (their status says why)
        module.fail_json(msg='paths: none of the paths could be read (%s); give existing, readable log files'
                         % '; '.join(f['error'] for f in files if f['error']), changed=False, files=files)
    if p['strict'] and problems:
        module.fail_json(msg='strict: %d path(s) missing, unreadable, partly readable or without timestamps: %s'
                         % (len(problems), '; '.join(problems)), changed=False, **result)
    for message in problems:
        module.warn('log_analysis: %s' % message)
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
