# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The journal as a source of the log scan: ``journalctl --since/--until -o json`` of units and/or journal matches,
streamed through a pipe in blocks, into the same accumulators as the files (categories, events, details, message
groups, levels from PRIORITY, the histogram).

How it stays fast and small: journalctl itself drops the entries that cannot be in any category (``--grep`` with
the literals every category match must contain, the file scan's prefilter, case-insensitive when the categories
are; see grep_pattern) and writes only the fields needed (``--output-fields``); the JSON lines are read in blocks
and only the lines holding the prefilter literal are decoded with ``json.loads`` (the literal must then be in
MESSAGE; a line whose MESSAGE is a byte array is always decoded); memory is bounded by the block size and
``max_line_bytes``. The caller's Deadline bounds the time: journalctl is killed when it passes.

What ``--grep`` changes: every output counts error events only (categories, levels, histogram, details, message
groups: an entry without a category literal is in none of them), so they are the same with and without it; the
source's statistics (entries_read, lines_scanned, bytes_scanned, first_time, last_time) then describe the entries
journalctl passed, and its ``grep`` field says so. A journalctl that cannot grep (built without PCRE2, libpcre2
missing, a MESSAGE that is not UTF-8 making PCRE2 fail) exits non-zero: the source is then read again without it,
from a snapshot of the counts taken before.

A multi-line MESSAGE is one event: its first line is the detail's message, the others its continuation. Pure
Python, no Ansible imports."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fcntl
import glob
import json
import os
import re
import subprocess
import tempfile
import time
from collections import namedtuple
from datetime import datetime

from ansible_collections.redfire.ops.plugins.module_utils.log_analyzer import (
    LEVELS, MAX_GROUPS, MAX_MESSAGE, MAX_SHAPES, _DIGITS, _HEX, _NUM, MessageGroup, key_text,
)
from ansible_collections.redfire.ops.plugins.module_utils.log_patterns import LogScanError

PIPE_BLOCK = 1 << 20
F_SETPIPE_SZ = getattr(fcntl, 'F_SETPIPE_SZ', 1031)  # Linux; the name exists from Python 3.10
SHORT_READ_PAUSE = 0.005
MAX_STDERR = 64 << 10
_FIELD = re.compile(r'^[A-Z0-9_]+$')
_UNIT = re.compile(r'^[A-Za-z0-9:_.@\\-]+$')
# journalctl's words when the user may not read (all of) the journal
_DENIED = ('insufficient permissions', 'No journal files were opened', 'Permission denied', 'not readable by this user')
SYSTEM_JOURNALS = ('/var/log/journal/*/system.journal', '/run/log/journal/*/system.journal')
_PARTIAL = 'not seeing messages from other users and the system'
# needles that JSON writes as they are: printable ASCII other than the quote and the backslash
_JSON_SAFE = re.compile(rb'^[ !#-\[\]-~]+$')
# literals that --grep gets as they are (printable ASCII), and the characters PCRE2 needs escaped in them
_GREP_SAFE = re.compile(rb'^[ -~]+$')
_PCRE_SPECIAL = re.compile(r'([^A-Za-z0-9 ])')

# One journal source: the units (-u) and the matches (FIELD=value) it reads, and its name in files[].
JournalSource = namedtuple('JournalSource', 'name units matches')


def parse_sources(specs):
    """JournalSource records from the ``journal`` option (a list of {unit, matches, name}); LogScanError naming
    the option for bad ones."""
    if specs is None:
        return []
    if not isinstance(specs, (list, tuple)):
        raise LogScanError('journal', 'journal must be a list of sources such as {unit: redfire-backend} or '
                           '{matches: {SYSLOG_IDENTIFIER: redfire}}, got %r' % (specs,))
    out = []
    for i, spec in enumerate(specs):
        where = 'journal[%d]' % i
        if isinstance(spec, str):
            spec = {'unit': spec}
        if not isinstance(spec, dict):
            raise LogScanError('journal', '%s must be a dict with unit and/or matches, got %r' % (where, spec))
        unknown = sorted(set(spec) - set(('unit', 'matches', 'name')))
        if unknown:
            raise LogScanError('journal', '%s: unknown key(s) %s; use unit, matches and name' % (where, ', '.join(unknown)))
        units = spec.get('unit')
        units = [] if units is None else [units] if isinstance(units, str) else units
        if not isinstance(units, list) or not all(isinstance(u, str) and _UNIT.match(u) and not u.startswith('-')
                                                  for u in units):
            raise LogScanError('journal', '%s: unit must be a unit name such as redfire-backend or '
                               'redfire-backend.service, got %r' % (where, spec.get('unit')))
        matches = spec.get('matches') or {}
        if not isinstance(matches, dict):
            raise LogScanError('journal', '%s: matches must be a dict of journal field to value (or list of values), '
                               'such as {SYSLOG_IDENTIFIER: redfire}, got %r' % (where, matches))
        pairs = []
        for field, values in matches.items():
            if not isinstance(field, str) or not _FIELD.match(field) or field[0].isdigit():
                raise LogScanError('journal', '%s: matches: %r is not a journal field name (upper case letters, '
                                   'digits and _, such as SYSLOG_IDENTIFIER or _PID)' % (where, field))
            for value in values if isinstance(values, list) else [values]:
                if isinstance(value, bool) or not isinstance(value, (str, int)) or '\n' in str(value):
                    raise LogScanError('journal', '%s: matches: the value of %s must be a text or a number, got %r'
                                       % (where, field, value))
                pairs.append('%s=%s' % (field, value))
        if not units and not pairs:
            raise LogScanError('journal', '%s: give unit and/or matches (a source without them would read the '
                               'whole journal)' % where)
        name = spec.get('name')
        if name is None:
            name = 'journal:' + ','.join(['unit=%s' % u for u in units] + pairs)
        elif not isinstance(name, str) or not name:
            raise LogScanError('journal', '%s: name must be a non-empty text, got %r' % (where, name))
        out.append(JournalSource(name, tuple(units), tuple(pairs)))
    return out


def system_journal_readable(patterns=SYSTEM_JOURNALS):
    """False when system journal files exist and this process may read none of them (True when none exist:
    then journalctl decides)."""
    found = [path for pattern in patterns for path in glob.glob(pattern)]
    return not found or any(os.access(path, os.R_OK) for path in found)


def new_journal_stats(source):
    """The files[] entry of a journal source."""
    return {'path': source.name, 'source': 'journal', 'units': list(source.units), 'matches': list(source.matches),
            'status': 'scanned', 'error': None, 'warnings': [], 'entries_read': 0, 'bytes_scanned': 0,
            'lines_scanned': 0, 'errors': 0, 'first_time': None, 'last_time': None, 'long_lines_truncated': 0,
            'grep': None}


def epoch_of(key, tz):
    """Seconds since the epoch of a key (naive, in the log's time zone ``tz``; None: local time)."""
    dt = datetime.strptime(key.decode('ascii'), '%Y-%m-%d %H:%M:%S')
    if tz is None:
        return int(time.mktime(dt.timetuple()))
    return int(dt.replace(tzinfo=tz).timestamp())


def grep_pattern(matcher):
    """The PCRE2 pattern for ``journalctl --grep`` that every entry in some category matches (an alternation of
    the literals of the matcher's prefilter, each escaped), or None when the categories give no such literals (a
    real regex, or literals that are not printable ASCII: then journalctl passes every entry)."""
    if matcher.mode not in ('literal', 'literals') or not matcher.needles:
        return None
    if not all(_GREP_SAFE.match(n) for n in matcher.needles):
        return None
    return '|'.join(_PCRE_SPECIAL.sub(r'\\\1', n.decode('ascii')) for n in matcher.needles)


def journal_command(source, since_key, until_key, tz, journalctl='journalctl', grep=None, ignore_case=True):
    """The journalctl command line of one source for the window (both ends inclusive, whole seconds), with
    ``--grep`` when a pattern is given."""
    cmd = [journalctl, '--no-pager', '-o', 'json', '--output-fields=MESSAGE,PRIORITY']
    if grep is not None:
        cmd += ['--grep', grep, '--case-sensitive=%s' % ('false' if ignore_case else 'true')]
    if since_key is not None:
        cmd += ['--since', '@%d' % epoch_of(since_key, tz)]
    if until_key is not None:
        cmd += ['--until', '@%d' % (epoch_of(until_key, tz) + 1)]
    for unit in source.units:
        cmd += ['-u', unit]
    return cmd + list(source.matches)


class JournalReader(object):
    """Reads journal sources into an Analyzer's accumulators (see module docstring)."""

    def __init__(self, analyzer, tz, journalctl='journalctl', block_size=PIPE_BLOCK):
        self.an = analyzer
        self.tz = tz
        self.journalctl = journalctl
        self.block = block_size
        self._keys = {}  # second since the epoch -> key in the log's time zone (a cache)
        m = analyzer.m
        self.fold = m.fold
        needles = m.needles if m.mode in ('literal', 'literals') else []
        if needles and all(_JSON_SAFE.match(n) for n in needles):
            alternatives = [re.escape(n) for n in needles]
            # MESSAGE as a byte array (not valid UTF-8, or control characters): decode it always
            alternatives.append(re.escape(b'"message":[' if self.fold else b'"MESSAGE":['))
            self.prefilter = re.compile(b'|'.join(alternatives))
        else:
            self.prefilter = None  # every line is decoded
        self.grep = grep_pattern(m)

    def key_of(self, usec):
        sec = usec // 1000000
        key = self._keys.get(sec)
        if key is None:
            if len(self._keys) >= MAX_SHAPES:
                self._keys.clear()
            dt = datetime.fromtimestamp(sec, self.tz)
            key = self._keys[sec] = dt.strftime('%Y-%m-%d %H:%M:%S').encode()
        return key

    def scan(self, source, fs):
        """Run journalctl for ``source`` and scan its output into the accumulators; ``fs`` gets the statistics.
        A missing journalctl, no permission or an unknown unit become the status of ``fs``, not an exception.
        With --grep first; when that journalctl fails otherwise than for permission, again without it."""
        if self.grep is not None:
            snap = self.an._snapshot()  # pylint: disable=protected-access
            fresh = dict(fs)
            if self._scan(source, fs, self.grep):
                return
            self.an._restore(snap)  # pylint: disable=protected-access
            fs.clear()
            fs.update(fresh)
        self._scan(source, fs, None)

    def _scan(self, source, fs, grep):
        """One journalctl run; False when it ran with ``grep`` and failed for another reason than permission (the
        caller reads the source again without it), else True with the status in ``fs``."""
        an = self.an
        cmd = journal_command(source, an.since, an.until, self.tz, self.journalctl, grep, self.fold)
        fs['grep'] = grep
        env = dict(os.environ, LANG='C', LC_ALL='C', SYSTEMD_COLORS='0', SYSTEMD_PAGER='')
        with tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, env=env,
                                        bufsize=0)
            except OSError as exc:
                fs['status'] = 'error'
                fs['error'] = 'cannot run %s (%s): the journal of %s was not read; install systemd\'s journalctl ' \
                              'or remove the journal source' % (self.journalctl, exc.strerror or exc, source.name)
                return True
            try:
                self._read(proc.stdout, fs, source)
            finally:
                proc.stdout.close()
                if proc.poll() is None:  # stopped early (the deadline): journalctl must not write on
                    proc.kill()
                proc.wait()
            err.seek(0)
            stderr = err.read(MAX_STDERR).decode('utf-8', 'replace').strip()
        if not stderr and not system_journal_readable():
            # the user's own journal opened (journald keeps one per user who logged something): no word of it
            stderr = 'the system journal files are not readable by this user'
        if any(word in stderr for word in _DENIED):
            fs['status'] = 'error'
            fs['error'] = 'no permission to read the journal of %s (%s): run the task with become, or add the user ' \
                          'to the systemd-journal group' % (source.name, stderr.splitlines()[0])
        elif proc.returncode != 0 and grep is not None:
            return False  # no PCRE2 in this journalctl, or it could not match an entry: read without --grep
        elif proc.returncode != 0:
            fs['status'] = 'error'
            fs['error'] = 'journalctl failed for %s (exit %s): %s' % (
                source.name, proc.returncode, stderr or 'no message')
        elif _PARTIAL in stderr:
            fs['warnings'].append('only part of the journal of %s could be read (%s): run the task with become, or '
                                  'add the user to the systemd-journal group' % (source.name, stderr.splitlines()[0]))
        if fs['status'] == 'scanned' and fs['entries_read'] == 0 and source.units:
            unknown = [u for u in source.units if not self._unit_known(u)]
            if unknown:
                fs['status'] = 'missing'
                fs['error'] = 'no such unit (systemd does not know it and the journal has no entry of it): %s; ' \
                              'check the unit name' % ', '.join(unknown)
        return True

    def _unit_known(self, unit):
        """Whether systemd knows the unit, or the journal has entries of it at any time (a unit removed since)."""
        env = dict(os.environ, LANG='C', LC_ALL='C', SYSTEMD_PAGER='')
        for cmd, unknown in (([self.journalctl, '--no-pager', '-q', '-n', '1', '-o', 'cat', '-u', unit], (b'',)),
                             (['systemctl', 'show', '-p', 'LoadState', '--value', unit], (b'not-found', b''))):
            try:
                proc = subprocess.run(cmd, capture_output=True, check=False, timeout=30, env=env)
            except (OSError, subprocess.SubprocessError):
                continue
            if proc.returncode == 0 and proc.stdout.strip() not in unknown:
                return True
        return False

    def _read(self, pipe, fs, source):
        max_line = self.an.max_line
        pending = b''
        skipping = False
        fd = pipe.fileno()
        try:  # a larger pipe: journalctl writes on while this process scans, without a wake-up per 4 KiB
            fcntl.fcntl(fd, F_SETPIPE_SZ, self.block)
        except (OSError, IOError):
            pass
        while True:
            data = os.read(fd, self.block)
            if not data:
                break
            if len(data) < self.block // 8:
                # a short read: let the pipe fill instead of scanning a few entries per wake-up (on a busy host
                # the wake-ups, not the scan, would take the time)
                time.sleep(SHORT_READ_PAUSE)
            if skipping:  # the rest of an entry longer than max_line_bytes
                nl = data.find(b'\n')
                fs['bytes_scanned'] += len(data) if nl == -1 else nl + 1
                if nl == -1:
                    continue
                skipping = False
                data = data[nl + 1:]
            if pending:
                data = pending + data
            cut = data.rfind(b'\n') + 1
            if cut == 0:
                pending = data
                if len(pending) > max_line:
                    fs['long_lines_truncated'] += 1
                    fs['bytes_scanned'] += len(pending)
                    pending, skipping = b'', True
                continue
            pending = data[cut:]
            self._block(data, cut, fs, source)
        if pending.strip():
            self._block(pending + b'\n', len(pending) + 1, fs, source)

    def _block(self, buf, end, fs, source):
        """The complete JSON lines buf[:end]."""
        lines = buf.count(b'\n', 0, end)
        fs['entries_read'] += lines
        fs['lines_scanned'] += lines
        fs['bytes_scanned'] += end
        first = buf.find(b'\n', 0, end)
        if fs['first_time'] is None and first > 0:
            fs['first_time'] = key_text(self._key_of_line(buf[:first]))
        last = buf.rfind(b'\n', 0, end - 1) + 1
        if end - 1 > last:
            fs['last_time'] = key_text(self._key_of_line(buf[last:end - 1])) or fs['last_time']
        if self.prefilter is None:
            pos = 0
            while pos < end:
                le = buf.find(b'\n', pos, end)
                self._entry(buf[pos:le], fs, source)
                pos = le + 1
            return
        folded = buf.lower() if self.fold else buf
        le = -1
        for hit in self.prefilter.finditer(folded, 0, end):
            pos = hit.start()
            if pos < le:
                continue
            ls = folded.rfind(b'\n', 0, pos) + 1
            le = folded.find(b'\n', pos, end)
            self._entry(buf[ls:le], fs, source)

    def _key_of_line(self, line):
        m = re.search(rb'"__REALTIME_TIMESTAMP":"(\d+)"', line)
        return self.key_of(int(m.group(1))) if m else None

    def _entry(self, line, fs, source):
        """One journal entry (a JSON line): counted when it is in the window and in some category."""
        try:
            obj = json.loads(line)
            usec = int(obj['__REALTIME_TIMESTAMP'])
        except (ValueError, KeyError, TypeError):
            return
        message = obj.get('MESSAGE')
        if isinstance(message, list):
            try:
                message = bytes(bytearray(message))
            except (TypeError, ValueError):
                return
        elif isinstance(message, str):
            message = message.encode('utf-8', 'surrogateescape')
        else:
            return
        an = self.an
        key = self.key_of(usec)
        if (an.since is not None and key < an.since) or (an.until is not None and key > an.until):
            return
        m = an.m
        text = message[:an.max_line]
        _starts, _ends, masks = m.candidates(text.lower() if m.fold else text, len(text))
        mask = 0
        for bits in masks:
            mask |= bits
        if not mask:
            return
        try:
            level = LEVELS[int(obj.get('PRIORITY'))]
        except (TypeError, ValueError, IndexError):
            level = 'unknown'
        add_event(an, key, mask, text, level, fs, source.name)


def add_event(an, key, mask, message, level, fs, where):
    """Count one whole event (a journal entry) in the analyzer ``an``: categories, levels, histogram, details and
    message groups, as the file scan counts a timestamped line and its continuation lines."""
    m = an.m
    names = m.names_of(mask)
    an.events += 1
    for name in names:
        an.counts[name] += 1
    fs['errors'] += len(names)
    an.levels[level] = an.levels.get(level, 0) + 1
    row = an.histogram.setdefault(an.bucket_of(key), {})
    for name in names:
        row[name] = row.get(name, 0) + 1
    lines = message.split(b'\n')
    head = lines[0][:MAX_MESSAGE]
    if len(an.details) < an.max_details:
        an.details.append({
            'time': key_text(key), 'type': names[0], 'types': list(names),
            'message': head.decode('utf-8', 'replace').strip(),
            'continuation': [x[:MAX_MESSAGE].decode('utf-8', 'replace').rstrip() for x in lines[1:an.max_context + 1]],
            'file': where, 'line': None, 'offset': None})
    if an.top_n > 0:
        shape = head.translate(_ZERO)
        norm = an._norms.get(shape)
        if norm is None:
            if len(an._norms) >= MAX_SHAPES:
                an._norms.clear()
            norm = an._norms[shape] = _NUM.sub(b'<n>', _HEX.sub(b'<id>', head).translate(_DIGITS)).strip()[:512]
        grp = an.groups.get(norm)
        if grp is None:
            if len(an.groups) >= MAX_GROUPS:
                an.groups_dropped += 1
                return
            grp = an.groups[norm] = MessageGroup(0, key, key, head, 0)
        grp.count += 1
        grp.first = min(grp.first, key)
        grp.last = max(grp.last, key)
        grp.mask |= mask


_ZERO = bytes.maketrans(b'0123456789', b'0' * 10)
