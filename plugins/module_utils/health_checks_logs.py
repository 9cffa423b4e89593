# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The logs check of health_check: recent log files' size and error counts (counted by log_scan, the core log_analysis uses)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os
import stat
import time


from ansible_collections.redfire.ops.plugins.module_utils.health_checks_common import (
    FORK, _error_text, _fmt, _threshold_message, result, status_of, worst,
)


def log_files(patterns):
    """[(path, size)] of the regular files matching the globs (no symlinks, no hidden files), each once."""
    seen = set()
    files = []
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            if path in seen or os.path.basename(path).startswith('.'):
                continue
            seen.add(path)
            try:
                st = os.lstat(path)
            except OSError:
                continue  # rotated away meanwhile
            if stat.S_ISREG(st.st_mode):
                files.append((path, st.st_size))
    return files


def check_logs(spec, now=None):
    """[log_size, log_errors]: the largest log file matching ``spec['paths']`` against its thresholds in MB, and the
    error events of the last ``spec['hours']`` in those files and their rotated siblings and in the journal of the
    units of ``spec['journal']`` (redfire.ops.log_analysis's core in one process), within ``spec['timeout']``: a scan
    cut by it makes log_errors unknown and says where it stopped. Runs in a forked child process (see _Forked)."""
    # imported here: the log scanner is the heaviest module_utils and most health_check runs do not scan logs
    from ansible_collections.redfire.ops.plugins.module_utils.log_scan import (  # pylint: disable=import-outside-toplevel
        LogScanError, analyze, file_problems)
    from ansible_collections.redfire.ops.plugins.module_utils.log_journal import (  # pylint: disable=import-outside-toplevel
        parse_sources)

    start = time.monotonic()
    journal = spec.get('journal') or []
    sources = ', '.join(s.name for s in parse_sources(journal))
    where = ', '.join(spec['paths'] + ([sources] if sources else []))
    files = log_files(spec['paths'])
    sw, sc = spec['size_warning_mb'], spec['size_critical_mb']
    ew, ec = spec['errors_warning'], spec['errors_critical']
    if not files and not journal:
        none = 'no log files match %s' % where
        elapsed = time.monotonic() - start
        return [result('log_size', 'log_size', 'ok', 0.0, 'MB', sw, sc, none, elapsed),
                result('log_errors', 'log_errors', 'ok', 0, '', ew, ec, none, elapsed)]
    if files:
        path, size = max(files, key=lambda f: f[1])
        size_mb = round(size / 1048576.0, 2)
        st = status_of(size_mb, sw, sc)
        size_result = result('log_size', 'log_size', st, size_mb, 'MB', sw, sc,
                             'largest log %s: %s; %d files match %s'
                             % (path, _threshold_message(size_mb, ' MB', sw, sc, status=st), len(files),
                                ', '.join(spec['paths'])), time.monotonic() - start)
    else:
        size_result = result('log_size', 'log_size', 'ok', 0.0, 'MB', sw, sc,
                             'no log files match %s' % (', '.join(spec['paths']) or 'no paths given (journal only)'),
                             time.monotonic() - start)
    scan_start = time.monotonic()
    try:
        scan = analyze([f[0] for f in files], hours=spec['hours'], categories=spec['categories'], include_rotated=True,
                       timestamp_format=spec['timestamp_format'], timestamp_regex=spec['timestamp_regex'],
                       workers=1, max_details=0, max_context_lines=0, top_messages=0, now=now, journal=journal or None,
                       timeout=max(spec['timeout'] - (scan_start - start), 0.001))
    except LogScanError as exc:  # normalize() validated the options; a file's contents cannot raise this
        return [size_result, result('log_errors', 'log_errors', 'unknown', None, '', ew, ec,
                                    'log scan failed: %s: %s' % (exc.option, exc), time.monotonic() - scan_start)]
    total = scan['total_errors']
    st = status_of(total, ew, ec)
    by_category = ', '.join('%s=%d' % kv for kv in scan['error_counts'].items() if kv[1]) or 'none'
    message = '%d error lines in the last %s h: %s' % (total, _fmt(spec['hours']), by_category)
    if journal:
        in_journal = sum(f['errors'] for f in scan['files'] if f.get('source') == 'journal')
        message += ' (%d of them in the journal of %s)' % (in_journal, sources)
    if st != 'ok':
        message += ' (%s)' % _threshold_message(total, '', ew, ec, status=st)
    problems = [message for _path, message in file_problems(scan['files'])]
    if problems:  # errors may be missing from the count
        st = worst([st, 'unknown'])
        message += '; incomplete: %s' % '; '.join(problems[:3]) + (
            ' and %d more' % (len(problems) - 3) if len(problems) > 3 else '')
    return [size_result, result('log_errors', 'log_errors', st, total, '', ew, ec, message,
                                time.monotonic() - scan_start)]


def logs_jobs(spec):
    def on_timeout(elapsed, error):
        why = ('log check failed: %s' % _error_text(error)) if error is not None else \
            'log scan did not finish within %ss (raise logs.timeout, or shorten logs.hours)' % _fmt(spec['timeout'])
        return [result(name, name, 'unknown', None, unit, w, c, why, elapsed or 0.0)
                for name, unit, w, c in (('log_size', 'MB', spec['size_warning_mb'], spec['size_critical_mb']),
                                         ('log_errors', '', spec['errors_warning'], spec['errors_critical']))]
    return [(spec['timeout'], check_logs, (spec,), on_timeout, FORK)]


# --------------------------------------------------------------------------- validation
