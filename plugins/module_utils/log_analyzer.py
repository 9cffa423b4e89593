# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scan of the log scan: blocks of lines to events in the window, with their counts, details and message
groups; files are split into ranges for worker processes and merged back. Pure Python, no Ansible imports.

The per-line work is done in :meth:`Analyzer._block` on local variables; its state between blocks is a
:class:`ScanState`, the last header of a block a :class:`Header`, message groups :class:`MessageGroup` records."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import calendar
import copy
import os
import re
import time
from collections import Counter, namedtuple
from datetime import datetime, timedelta

from ansible_collections.redfire.ops.plugins.module_utils.deadline import open_regular
from ansible_collections.redfire.ops.plugins.module_utils.log_probe import Prober
from ansible_collections.redfire.ops.plugins.module_utils.log_readers import ReadAhead, gzip_blocks, range_blocks
from ansible_collections.redfire.ops.plugins.module_utils.log_time import KEY_FORMAT
from ansible_collections.redfire.ops.plugins.module_utils.log_workers import in_parallel

BLOCK_SIZE = 1 << 20
PROBE_SIZE = 1 << 16
DEFAULT_MAX_LINE = 16 << 20
PARALLEL_MIN_BYTES = 16 << 20  # below about 10 MB a second process costs more than it saves (measured)
MAX_MESSAGE = 2048
MAX_GROUPS = 10000
# message grouping: hex ids (0x.., 8+ hex digits, UUIDs) become <id>, then runs of digits become <n>
_HEX = re.compile(rb'\b(?:0[xX][0-9a-fA-F]+|[0-9a-fA-F]{8,}(?:-[0-9a-fA-F]{4,})*)\b')
_DIGITS = bytes.maketrans(b'0123456789', b'\x01' * 10)
_ZERO_DIGITS = bytes.maketrans(b'0123456789', b'0' * 10)
MAX_SHAPES = 1 << 16  # cached normalised messages (see _flush_groups)
_NUM = re.compile(b'\x01+')
DEFAULT_BUCKET = 3600
MAX_BUCKETS = 1000  # histogram rows of one window
MAX_LEVELS = 32  # distinct level names kept; further ones count as 'other'
# Level names, most severe first (the journal's PRIORITY 0..7), and the words that mean them in log lines.
LEVELS = ('emergency', 'alert', 'critical', 'error', 'warning', 'notice', 'info', 'debug')
LEVEL_WORDS = {
    b'emerg': 'emergency', b'emergency': 'emergency', b'panic': 'emergency', b'alert': 'alert',
    b'crit': 'critical', b'critical': 'critical', b'fatal': 'critical', b'severe': 'critical',
    b'err': 'error', b'error': 'error', b'warn': 'warning', b'warning': 'warning', b'notice': 'notice',
    b'info': 'info', b'information': 'info', b'debug': 'debug', b'trace': 'debug', b'verbose': 'debug',
}
# The level word at its conventional place: right after the timestamp (after fractions, a zone offset, and an
# opening bracket), as in ``2024-05-01 08:00:00,123 ERROR`` or ``... [WARN]``.
DEFAULT_LEVEL_REGEX = (rb'(?i)(?:[.,]\d+)?(?:\s*(?:Z|[+-]\d\d:?\d\d))?[\s|:-]*[\[(<]?\s*'
                       rb'(emerg|emergency|panic|alert|crit|critical|fatal|severe|err|error|warn|warning|notice|info|'
                       rb'information|debug|trace|verbose)\b')


class OrderBroken(Exception):
    """Timestamps out of order after a seek: the file is scanned again from its start."""


# The last timestamped line of a block, for continuation lines at the start of the next one: its offset (the
# event's id), key, first bytes (at most MAX_MESSAGE), the timestamp's span in them, and its line number.
Header = namedtuple('Header', 'offset key message ts_start ts_end line')
# The accumulators at a point of the scan, to go back to when the order breaks.
Snapshot = namedtuple('Snapshot', 'counts events details groups groups_dropped levels histogram')
# What a worker process sends back: its accumulators and its share's file statistics.
WorkerResult = namedtuple('WorkerResult', 'counts events details groups groups_dropped levels histogram stats')


class ScanState(object):
    """The scan's state between blocks: the last header, the current event (id, category mask, its detail, its
    message group or pending group entry) and the detail waiting for continuation lines."""
    __slots__ = ('header', 'event', 'emask', 'detail', 'group', 'entry', 'context')

    def __init__(self):
        self.header = None
        self.event = None
        self.emask = 0
        self.detail = None
        self.group = None
        self.entry = None
        self.context = None


class PendingContext(object):
    """A detail that takes continuation lines, and where they go on in the current buffer (None: in the next)."""
    __slots__ = ('pos', 'detail')

    def __init__(self, pos, detail):
        self.pos = pos
        self.detail = detail


class GroupEntry(object):
    """An event waiting for message grouping: its message without the timestamp, key, example (the header's offset
    in the buffer, or its bytes) and category mask (it grows while later lines of the event match)."""
    __slots__ = ('source', 'key', 'example', 'mask')

    def __init__(self, source, key, example, mask):
        self.source = source
        self.key = key
        self.example = example
        self.mask = mask


class MessageGroup(object):
    """Events of one normalised message: how many, first and last key, an example line, category mask."""
    __slots__ = ('count', 'first', 'last', 'example', 'mask')

    def __init__(self, count, first, last, example, mask):
        self.count = count
        self.first = first
        self.last = last
        self.example = example
        self.mask = mask

    def copy(self):
        return MessageGroup(self.count, self.first, self.last, self.example, self.mask)


class Analyzer(Prober):
    """Accumulates counts, details and message groups over the files of one analysis."""

    def __init__(self, matcher, keyfunc, ts_regex, since_key, until_key, seek_key=None, stop_key=None,
                 max_details=10, max_context_lines=20, top_messages=10, seek=True, max_line_bytes=DEFAULT_MAX_LINE,
                 block_size=BLOCK_SIZE, tolerance=timedelta(seconds=60), probe_size=PROBE_SIZE, workers=1,
                 parallel_min_bytes=PARALLEL_MIN_BYTES):
        self.m = matcher
        self.workers = max(1, int(workers))
        self.parallel_min = parallel_min_bytes
        self.probe = probe_size
        self.tolerance = tolerance
        self.floor = b''
        self.ceiling = b''
        self.probed_size = 0
        self.keyf = keyfunc
        self.ts = ts_regex
        self.since = since_key
        self.until = until_key
        self.seek_key = seek_key if seek_key is not None else since_key
        self.stop_key = stop_key if stop_key is not None else until_key
        self.max_details = max_details
        self.max_context = max_context_lines
        self.top_n = top_messages
        self.seek = seek
        self.max_line = max(int(max_line_bytes), 1024)
        self.block = block_size
        self._norms = {}  # message shape -> normalised message (a cache, shared with workers)
        self.bucket_seconds = DEFAULT_BUCKET
        self._buckets = {}  # key -> key of its histogram bucket's start (a cache)
        self.level_regex = re.compile(DEFAULT_LEVEL_REGEX)
        self.level_after_timestamp = True  # the default regex is matched right after the timestamp
        self._empty_accumulators()

    def set_levels_and_buckets(self, level_regex=None, bucket_seconds=DEFAULT_BUCKET):
        """A user's level regex (compiled, on bytes; searched in the event's first line; group 1, or the match,
        is the level word) and the histogram's bucket size in seconds."""
        if level_regex is not None:
            self.level_regex = level_regex
            self.level_after_timestamp = False
        self.bucket_seconds = int(bucket_seconds)
        self._buckets = {}

    def _empty_accumulators(self):
        self.counts = dict((n, 0) for n in self.m.names)
        self.events = 0
        self.details = []
        self.groups = {}
        self.groups_dropped = 0
        self.levels = {}  # level name -> error events
        self.histogram = {}  # bucket start key -> {category: count}
        self._batch = []  # events waiting for grouping (see _flush_groups)

    # -- levels and time buckets -------------------------------------------------------------------------

    def bucket_of(self, key):
        """The key of the start of ``key``'s histogram bucket (buckets aligned to the clock in the log's time:
        whole hours for an hour, midnight for a day)."""
        start = self._buckets.get(key)
        if start is None:
            if len(self._buckets) >= MAX_SHAPES:
                self._buckets.clear()
            secs = calendar.timegm((int(key[0:4]), int(key[5:7]), int(key[8:10]), int(key[11:13]), int(key[14:16]),
                                    int(key[17:19]), 0, 0, 0))
            start = self._buckets[key] = time.strftime('%Y-%m-%d %H:%M:%S',
                                                       time.gmtime(secs - secs % self.bucket_seconds)).encode()
        return start

    def level_of(self, line, ts_end):
        """Level name of an event from its first line (``ts_end``: where its timestamp ends); 'unknown' when
        the line has no level word where it is looked for."""
        if self.level_after_timestamp:
            hit = self.level_regex.match(line, ts_end)
        else:
            hit = self.level_regex.search(line)
        if hit is None:
            return 'unknown'
        word = (hit.group(1) if hit.re.groups else hit.group(0)) or b''
        word = word.strip().lower()[:32]
        name = LEVEL_WORDS.get(word)
        if name is None:
            name = word.decode('utf-8', 'replace') or 'unknown'
            if name not in self.levels and len(self.levels) >= MAX_LEVELS:
                name = 'other'
        return name

    # -- the scan ----------------------------------------------------------------------------------------

    def scan_file(self, path, fs, upper_bound=None):
        """Scan one file into the accumulators; ``fs`` receives the per-file statistics."""
        with open_regular(path) as f:
            head = f.read(2)
            f.seek(0)
            st = os.fstat(f.fileno())
            fs['size'] = st.st_size
            fs['compressed'] = head == b'\x1f\x8b'
            warnings = fs['warnings']
            if fs['compressed']:
                if self.seek and self.since is not None:
                    first = self._gz_first_key(f, warnings)
                    f.seek(0)
                    fs['first_time'] = key_text(first)
                    if (first is not None and self.until is not None and first > self.stop_key) or \
                            (upper_bound is not None and upper_bound < self.seek_key):
                        fs['skipped_outside_window'] = True
                        return
                with ReadAhead(gzip_blocks(f, self.block, warnings)) as blocks:
                    self._scan_stream(iter(blocks), fs, 0, 1, ordered=False)
                return
            start = 0
            ordered = False
            if self.seek and st.st_size > 0:
                first = self._probe(f, 0, st.st_size)
                last = self._tail_key(f, st.st_size)
                fs['first_time'], fs['last_time'] = key_text(first), key_text(last)
                if first is not None and last is not None and first <= last:
                    if (self.since is not None and last < self.seek_key) or \
                            (self.until is not None and first > self.stop_key):
                        fs['skipped_outside_window'] = True
                        return
                    if self.since is not None and first < self.seek_key:
                        found = self._bisect(f, st.st_size, fs, first, last)
                        if found is not None:
                            start, ordered = found.offset, True
                            self.floor = shift_key(found.key, self.tolerance)
                    else:
                        ordered = True
                        self.floor = shift_key(first, self.tolerance)
                    self.ceiling = shift_key(last, -self.tolerance)
                    self.probed_size = st.st_size
                    if ordered and start > 0:
                        nl = self._newline_after(f, start)
                        start = nl
                        fs['seek_used'] = True
                        fs['seek_offset'] = start
            snapshot = self._snapshot()
            try:
                self._scan_plain(f, fs, start, ordered)
            except OrderBroken:
                self._restore(snapshot)
                for k in ('bytes_scanned', 'lines_scanned', 'errors'):
                    fs[k] = 0
                fs['seek_used'] = False
                fs['seek_offset'] = 0
                fs['order_broken'] = True
                self._scan_plain(f, fs, 0, False)

    # -- parallel scan of an uncompressed file -------------------------------------------------------------

    def _scan_plain(self, f, fs, start, ordered):
        """Scan an uncompressed file from ``start``: in one process, or split into ranges that start at event
        starts (timestamped lines), so that no event crosses a range, scanned by forked workers and merged."""
        size = os.fstat(f.fileno()).st_size
        points = [start]
        if self.workers > 1 and size - start >= max(self.parallel_min, 1):
            step = (size - start) // self.workers
            for i in range(1, self.workers if step > 0 else 1):
                at = self._event_start_after(f.fileno(), start + i * step, size)
                if at is not None and at > points[-1]:
                    points.append(at)
        numbered = start == 0
        fs['workers'] = len(points)
        fd = f.fileno()
        if len(points) == 1:
            self._scan_stream(range_blocks(fd, start, None, self.block), fs, start, 1 if numbered else None, ordered)
            return

        def work(a, b):
            worker = self._fresh()
            sub = new_file_stats(fs['path'])
            try:
                worker._scan_stream(range_blocks(fd, a, b, self.block), sub, a, 1 if numbered else None, ordered)
            except OrderBroken:
                return None
            return WorkerResult(worker.counts, worker.events, worker.details, worker.groups, worker.groups_dropped,
                                worker.levels, worker.histogram, sub)

        results = in_parallel(work, list(zip(points, points[1:] + [None])))
        if any(r is None for r in results):
            raise OrderBroken()
        self._merge(results, fs, numbered)

    def merge_levels_and_histogram(self, levels, histogram):
        for name, count in levels.items():
            self.levels[name] = self.levels.get(name, 0) + count
        for bucket, row in histogram.items():
            mine = self.histogram.setdefault(bucket, {})
            for name, count in row.items():
                mine[name] = mine.get(name, 0) + count

    def _fresh(self):
        """This analyzer's settings with empty accumulators (a worker's)."""
        worker = copy.copy(self)
        worker._empty_accumulators()
        return worker

    def _merge(self, results, fs, numbered):
        """Add the workers' results, in file order, as if one process had scanned the ranges one after another."""
        lines_before = 0
        for res in results:
            sub = res.stats
            for name, count in res.counts.items():
                self.counts[name] += count
            self.events += res.events
            for detail in res.details[:max(0, self.max_details - len(self.details))]:
                if numbered and detail['line'] is not None:
                    detail['line'] += lines_before
                self.details.append(detail)
            lines_before += sub['lines_scanned']
            for norm, grp in res.groups.items():
                self._add_group(norm, grp.count, grp.first, grp.last, grp.mask, lambda example=grp.example: example)
            self.groups_dropped += res.groups_dropped
            self.merge_levels_and_histogram(res.levels, res.histogram)
            for k in ('bytes_scanned', 'lines_scanned', 'errors', 'long_lines_truncated'):
                fs[k] += sub[k]
            fs['warnings'].extend(sub['warnings'])
            fs['stopped_early'] = fs['stopped_early'] or sub['stopped_early']
            if sub['last_time'] is not None and (fs['last_time'] is None or sub['last_time'] > fs['last_time']):
                fs['last_time'] = sub['last_time']
        if numbered:
            fs['first_time'] = next((r.stats['first_time'] for r in results if r.stats['first_time']), None)

    def _snapshot(self):
        return Snapshot(dict(self.counts), self.events, len(self.details),
                        dict((k, v.copy()) for k, v in self.groups.items()), self.groups_dropped, dict(self.levels),
                        dict((k, dict(v)) for k, v in self.histogram.items()))

    def _restore(self, snap):
        self.counts, self.events, self.groups, self.groups_dropped = snap.counts, snap.events, snap.groups, \
            snap.groups_dropped
        self.levels, self.histogram = snap.levels, snap.histogram
        del self.details[snap.details:]
        del self._batch[:]

    def _scan_stream(self, blocks, fs, offset, line_no, ordered):
        """Scan a stream of blocks; ``offset``/``line_no`` are those of the first byte (line_no None after a seek)."""
        pieces = []
        pending = 0
        skipping = False
        st = ScanState()
        first_done = line_no != 1  # the first timestamp of the file is looked for from its start on
        for data in blocks:
            if skipping:
                nl = data.find(b'\n')
                if nl == -1:
                    offset += len(data)
                    fs['bytes_scanned'] += len(data)
                    continue
                skipping = False
                offset += nl + 1
                fs['bytes_scanned'] += nl + 1
                if line_no is not None:
                    line_no += 1  # the cut line, counted in lines_scanned when its head was analysed
                data = data[nl + 1:]
                if not data:
                    continue
            cut = data.rfind(b'\n') + 1
            if cut == 0:
                pieces.append(data)
                pending += len(data)
                if pending > self.max_line:
                    # keep one copy alive at a time: memory stays about 2x max_line_bytes
                    buf = b''.join(pieces)
                    pieces = data = None
                    buf = buf[:self.max_line]
                    fs['long_lines_truncated'] += 1
                    self._block(buf, len(buf), offset, line_no, fs, st, ordered)
                    offset += pending
                    fs['bytes_scanned'] += pending - len(buf)
                    pieces, pending, skipping = [], 0, True
                continue
            if pieces:
                pieces.append(data)
                buf = b''.join(pieces)
                cut += pending
                pieces, pending = [], 0
            else:
                buf = data
            if not first_done:
                fk = self._first_key(buf, 0, cut)
                if fk is not None:
                    fs['first_time'] = key_text(fk)
                    first_done = True
            nlines = self._block(buf, cut, offset, line_no, fs, st, ordered)
            if line_no is not None:
                line_no += nlines
            offset += cut
            if cut < len(buf):
                pieces, pending = [buf[cut:]], len(buf) - cut
            buf = data = None  # a long line's buffer must not stay alive while the next one is read
            if ordered and st.header is not None and st.header.key > self.stop_key:
                fs['stopped_early'] = True
                return
        if pieces:
            buf = b''.join(pieces)
            self._block(buf, len(buf), offset, line_no, fs, st, ordered)

    def _block(self, buf, end, offset, line_no, fs, st, ordered):
        """Analyse the complete lines buf[:end]; returns the number of lines.

        The matcher lists the lines in some category (with a bit mask of their categories); per line the work is
        its timestamp (or, for a continuation line, the header line before it), the window test and the event's
        bookkeeping, on local variables. Counts are kept per category mask and message grouping is batched, both
        resolved once per block."""
        m = self.m
        newlines = nlines = buf.count(b'\n', 0, end)
        if end and buf[end - 1:end] != b'\n':
            nlines += 1
        fs['bytes_scanned'] += end
        fs['lines_scanned'] += nlines
        if st.context is not None:
            self._context(buf, 0, end, st)
        starts, ends, masks = m.candidates(buf.lower() if m.fold else buf, end)
        since, until = self.since, self.until
        floor, ceiling, probed = self.floor, self.ceiling, self.probed_size
        tsm, tss = self.ts.match, self.ts.search
        keyf = self.keyf
        batch = self._batch
        grouping = self.top_n > 0
        details = self.details
        want_details = len(details) < self.max_details
        by_mask = {}  # (histogram bucket, new category bits of an event) -> how many times
        bucket_of = self.bucket_of
        buckets = self._buckets
        levels = self.levels
        level_of = self.level_of
        level_match = self.level_regex.match if self.level_after_timestamp else None
        new_events = 0
        event, emask, detail, group, entry = st.event, st.emask, st.detail, st.group, st.entry
        h_ls = h_le = -1  # the last header line found in this buffer, its key and timestamp match
        h_key = h_tm = None
        for ls, le, mask in zip(starts, ends, masks):
            tm = tsm(buf, ls, le) or tss(buf, ls, le)
            key = keyf(tm) if tm is not None else None
            if key is not None:
                h_ls, h_le, h_key, h_tm = ls, le, key, tm
            else:
                # a continuation line: its event is the last timestamped line before it
                if h_ls < 0 or tss(buf, h_le, ls) is not None:
                    found = self._last_header(buf, ls, 0)
                    if found is None:
                        h_ls = -1
                    else:
                        h_ls, h_key, h_tm = found.start, found.key, found.match
                        h_le = buf.find(b'\n', h_ls, end)
                        if h_le == -1:
                            h_le = end
                if h_ls >= 0:
                    key = h_key
                elif st.header is not None:
                    key = st.header.key
                else:
                    continue  # continuation lines before the first timestamp: no time, not counted
            eid = offset + h_ls if h_ls >= 0 else st.header.offset
            # lines appended after the probes (a live log) may be newer than the probed last timestamp
            if ordered and (key < floor or (key > ceiling and eid < probed)):
                raise OrderBroken()
            if (since is not None and key < since) or (until is not None and key > until):
                continue
            if event != eid:
                event, emask, new = eid, mask, mask
                new_events += 1
                if h_ls >= 0:
                    raw = None
                    t0, t1 = h_tm.start() - h_ls, h_tm.end() - h_ls
                    hline = -1
                    if level_match is not None:  # inline: no slice, no call for the usual case
                        hit = level_match(buf, h_ls + t1, min(h_le, h_ls + MAX_MESSAGE))
                        level = 'unknown' if hit is None else LEVEL_WORDS.get(hit.group(1).lower()) or \
                            level_of(buf[h_ls:min(h_le, h_ls + MAX_MESSAGE)], t1)
                    else:
                        level = level_of(buf[h_ls:min(h_le, h_ls + MAX_MESSAGE)], t1)
                else:
                    hdr = st.header
                    raw, t0, t1, hline = hdr.message, hdr.ts_start, hdr.ts_end, hdr.line
                    level = level_of(raw, t1)
                levels[level] = levels.get(level, 0) + 1
                detail = group = entry = None
                if want_details:
                    if raw is None:
                        raw = buf[h_ls:min(h_le, h_ls + MAX_MESSAGE)]
                        hline = None if line_no is None else line_no + buf.count(b'\n', 0, h_ls)
                    names = m.names_of(mask)
                    detail = {'time': key_text(key), 'type': names[0], 'types': list(names),
                              'message': raw.decode('utf-8', 'replace').strip(), 'continuation': [],
                              'file': fs['path'], 'line': hline, 'offset': eid}
                    details.append(detail)
                    want_details = len(details) < self.max_details
                    if self.max_context > 0:
                        st.context = PendingContext(h_le + 1 if h_ls >= 0 else 0, detail)
                if grouping:
                    if raw is None:  # the message without its timestamp; the line itself only for new groups
                        source = buf[h_ls + t1:min(h_le, h_ls + MAX_MESSAGE)] if t0 == 0 else \
                            buf[h_ls:h_ls + t0] + buf[h_ls + t1:min(h_le, h_ls + MAX_MESSAGE)]
                        entry = GroupEntry(source, key, h_ls, mask)
                    else:
                        entry = GroupEntry(raw[:t0] + raw[t1:], key, raw, mask)
                    batch.append(entry)
            else:
                new = mask & ~emask
                if not new:
                    continue
                emask |= new
                if detail is not None:
                    detail['types'].extend(m.names_of(new))
                if group is not None:
                    group.mask |= new
                elif entry is not None:
                    entry.mask |= new
            bm = (buckets.get(key) or bucket_of(key), new)
            by_mask[bm] = by_mask.get(bm, 0) + 1
            if st.context is not None and st.context.pos is not None:
                self._context(buf, st.context.pos, end, st)
        self.events += new_events
        counts = self.counts
        histogram = self.histogram
        for (bucket, mask), times in by_mask.items():
            names = m.names_of(mask)
            row = histogram.get(bucket)
            if row is None:
                row = histogram[bucket] = {}
            for name in names:
                counts[name] += times
                row[name] = row.get(name, 0) + times
            fs['errors'] += times * len(names)
        if grouping and batch:
            group = self._flush_groups(buf, end, entry)
        st.event, st.emask, st.detail, st.group, st.entry = event, emask, detail, group, None
        # remember the last header of this block for continuation lines in the next one
        found = self._last_header(buf, end, 0) if end else None
        if found is not None:
            hls, key, tm = found.start, found.key, found.match
            hle = buf.find(b'\n', hls, end)
            if hle == -1:
                hle = end
            hline = None if line_no is None else line_no + newlines - buf.count(b'\n', hls, end)
            st.header = Header(offset + hls, key, buf[hls:min(hle, hls + MAX_MESSAGE)], tm.start() - hls,
                               tm.end() - hls, hline)
            if fs['last_time'] is None or key > fs['last_time'].encode('ascii'):
                fs['last_time'] = key_text(key)
            if ordered and (key < self.floor or (key > self.ceiling and offset + hls < self.probed_size)):
                raise OrderBroken()
        return nlines

    def _flush_groups(self, buf, end, keep=None):
        """Group the events batched by _block (entries [message source, key, example, mask]; the example is the
        header's offset in ``buf`` or its bytes). Returns the group of batch entry ``keep`` (None when dropped).

        The normalisation (hex ids, then digit runs) only looks at whether a character is a digit, never at which
        one: a message with every digit turned into 0 (its *shape*, one translate over the joined batch) normalises
        to the same text. So the regexes run once per shape not yet seen (cached), and the events are aggregated
        per shape (counts, first/last key, categories) before they reach the groups."""
        batch = self._batch
        shapes = b'\n'.join([e.source for e in batch]).translate(_ZERO_DIGITS).split(b'\n')
        norms = self._norms
        fresh = [x for x in set(shapes) if x not in norms]
        if fresh:
            if len(norms) + len(fresh) > MAX_SHAPES:
                norms.clear()
            normed = _NUM.sub(b'<n>', _HEX.sub(b'<id>', b'\n'.join(fresh)).translate(_DIGITS)).split(b'\n')
            for shape, norm in zip(fresh, normed):
                norms[shape] = norm.strip()[:512]
        keys = [e.key for e in batch]
        times = Counter(shapes)
        if keys == sorted(keys):  # the usual case: the first and the last key of a shape are its extremes
            firsts = dict(zip(reversed(shapes), reversed(keys)))
            lasts = dict(zip(shapes, keys))
        else:
            firsts, lasts = {}, {}
            for shape, key in zip(shapes, keys):
                if shape not in firsts or key < firsts[shape]:
                    firsts[shape] = key
                if shape not in lasts or key > lasts[shape]:
                    lasts[shape] = key
        masks = {}
        for shape, mask in set(zip(shapes, [e.mask for e in batch])):
            masks[shape] = masks.get(shape, 0) | mask
        examples = dict(zip(reversed(shapes), reversed(batch)))

        def example_of(shape):
            example = examples[shape].example
            if isinstance(example, bytes):
                return example
            le = buf.find(b'\n', example, end)
            return buf[example:min(end if le == -1 else le, example + MAX_MESSAGE)]

        for shape in dict.fromkeys(shapes):  # in the order first seen, as one-by-one grouping would create them
            self._add_group(norms[shape], times[shape], firsts[shape], lasts[shape], masks[shape],
                            lambda shape=shape: example_of(shape))
        kept = None
        if keep is not None:
            at = len(batch) - 1 if batch[-1] is keep else [i for i, e in enumerate(batch) if e is keep][0]
            kept = self.groups.get(norms[shapes[at]])
        del batch[:]
        return kept

    def _add_group(self, norm, count, first, last, mask, example):
        """Add ``count`` events of the message ``norm`` (keys first..last, category mask) to the groups;
        ``example()`` gives the example line of a new group. Beyond MAX_GROUPS new messages are dropped."""
        grp = self.groups.get(norm)
        if grp is None:
            if len(self.groups) >= MAX_GROUPS:
                self.groups_dropped += count
                return
            grp = self.groups[norm] = MessageGroup(0, first, last, example(), 0)
        grp.count += count
        if first < grp.first:
            grp.first = first
        if last > grp.last:
            grp.last = last
        grp.mask |= mask

    def _context(self, buf, pos, end, st):
        """Append the continuation lines from buf[pos:] to the pending detail (st.context).

        Stops at the next timestamped line (done: st.context = None), at max_context_lines (done), or at the end
        of the buffer (st.context.pos = None: go on at the start of the next block)."""
        detail = st.context.detail
        lines = detail['continuation']
        while pos < end and len(lines) < self.max_context:
            le = buf.find(b'\n', pos, end)
            if le == -1:
                le = end
            if self._key(buf, pos, le).key is not None:
                st.context = None
                return
            text = buf[pos:min(le, pos + MAX_MESSAGE)].decode('utf-8', 'replace').rstrip()
            if text:  # a blank line says nothing, and one at a block's end would be seen by one reader and not another
                lines.append(text)
            pos = le + 1
        if len(lines) >= self.max_context:
            st.context = None
        else:
            st.context.pos = None

    def top_messages(self):
        items = sorted(self.groups.items(), key=lambda kv: (-kv[1].count, kv[1].first))[:self.top_n]
        return [{'message': norm.decode('utf-8', 'replace'), 'count': grp.count, 'first_seen': key_text(grp.first),
                 'last_seen': key_text(grp.last), 'example': grp.example.decode('utf-8', 'replace').strip(),
                 'types': list(self.m.names_of(grp.mask))}
                for norm, grp in items]


def shift_key(key, delta):
    """The key ``delta`` (a timedelta) before ``key``."""
    return (datetime.strptime(key.decode('ascii'), KEY_FORMAT) - delta).strftime(KEY_FORMAT).encode()


def key_text(key):
    return None if key is None else key.decode('ascii', 'replace')


def new_file_stats(path):
    """The statistics of one file as the result's ``files[]`` lists them (a plain dict: it is returned as is)."""
    return {'path': path, 'status': 'scanned', 'error': None, 'warnings': [], 'size': None, 'compressed': False,
            'bytes_scanned': 0, 'lines_scanned': 0, 'errors': 0, 'first_time': None, 'last_time': None,
            'skipped_outside_window': False, 'seek_used': False, 'seek_offset': 0, 'probes': 0,
            'order_broken': False, 'stopped_early': False, 'long_lines_truncated': 0, 'workers': 1}
