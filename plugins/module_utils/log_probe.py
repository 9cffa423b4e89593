# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Timestamps and bisection of the log scan: the key of a line, the first and last timestamps of a file, the
window start found by bisection over byte offsets, event starts to split a file at. Pure Python."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
from collections import namedtuple

from ansible_collections.redfire.ops.plugins.module_utils.deadline import open_regular
from ansible_collections.redfire.ops.plugins.module_utils.log_readers import gzip_blocks

# A line's timestamp: its key (None: no valid timestamp, a continuation line) and the regex match.
Stamp = namedtuple('Stamp', 'key match')
NO_STAMP = Stamp(None, None)
# A timestamped line found backwards from a position: where it starts, its key and timestamp match.
HeaderLine = namedtuple('HeaderLine', 'start key match')
# A bisection probe, and the point a scan starts from: a byte offset and the key of the first event after it.
Probe = namedtuple('Probe', 'offset key')


class Prober(object):
    """Timestamp lookups and probes over a file; the Analyzer sets ``ts`` (timestamp regex), ``keyf`` (match to
    key), ``probe`` (probe read size) and ``seek_key`` (the window start minus the order tolerance)."""

    ts = keyf = seek_key = None
    probe = 1 << 16

    def _key(self, buf, start, end):
        tm = self.ts.search(buf, start, end)
        if tm is None:
            return NO_STAMP
        return Stamp(self.keyf(tm), tm)

    def _last_header(self, buf, end, floor=0):
        """HeaderLine (line start, key, ts match) of the last line with a timestamp in buf[floor:end], or None."""
        pos = end
        if pos > floor and buf[pos - 1:pos] == b'\n':
            pos -= 1
        while pos > floor:
            ls = buf.rfind(b'\n', floor, pos) + 1
            if ls == 0 and floor > 0:
                ls = floor
            stamp = self._key(buf, ls, pos)
            if stamp.key is not None:
                return HeaderLine(ls, stamp.key, stamp.match)
            pos = ls - 1
        return None

    def _first_key(self, buf, start, end):
        """Key of the first line in buf[start:end] (``start`` a line start) with a valid timestamp.

        A line's timestamp is the first match of the timestamp regex within that line, as everywhere in the scan;
        one search over the block finds the next line that may hold one, so lines without a timestamp (stack
        traces, a block of them) cost no Python. That line is then searched alone: a match that ran over a line
        end, or an invalid first match, must not decide for it."""
        pos = start
        search = self.ts.search
        while pos < end:
            tm = search(buf, pos, end)
            if tm is None:
                return None
            ls = max(pos, buf.rfind(b'\n', pos, tm.start()) + 1)
            le = buf.find(b'\n', tm.start(), end)
            if le == -1:
                le = end
            key = self._key(buf, ls, le).key
            if key is not None:
                return key
            pos = le + 1
        return None

    # -- probing (bisection and time ranges) -----------------------------------------------------------

    def _probe(self, f, offset, size):
        """Key of the first timestamped line that starts after ``offset`` (at offset 0: at the start)."""
        f.seek(offset)
        data = f.read(self.probe)
        start = 0
        if offset > 0:
            nl = data.find(b'\n')
            if nl == -1:
                return None
            start = nl + 1
        limit = 16
        while True:
            cut = data.rfind(b'\n') + 1 or len(data)
            key = self._first_key(data, start, cut)
            if key is not None:
                return key
            more = f.read(self.probe)
            limit -= 1
            if not more or limit == 0:
                return self._first_key(data, start, len(data)) if not more else None
            data, start = data[cut:] + more, 0

    def _tail_key(self, f, size):
        back = min(size, self.probe)
        while True:
            f.seek(size - back)
            data = f.read(back)
            floor = 0
            if back < size:
                floor = data.find(b'\n') + 1
                if floor == 0:
                    floor = len(data)
            hit = self._last_header(data, len(data), floor)
            if hit is not None:
                return hit.key
            if back >= size or back >= 16 * self.probe:
                return None
            back = min(size, back * 4)

    def _bisect(self, f, size, fs, first, last):
        """Probe (offset, key there) to start scanning from, or None when the probes show timestamps out of order."""
        probes = [Probe(0, first), Probe(size, last)]
        lo, hi = 0, size
        lo_key = first
        while hi - lo > self.probe:
            mid = (lo + hi) // 2
            key = self._probe(f, mid, size)
            if key is not None:
                probes.append(Probe(mid, key))
            if key is None or key >= self.seek_key:
                hi = mid
            else:
                lo, lo_key = mid, key
        fs['probes'] = len(probes) - 2
        probes.sort()
        keys = [probe.key for probe in probes]
        if any(keys[i] > keys[i + 1] for i in range(len(keys) - 1)):
            return None
        return Probe(lo, lo_key)

    def _event_start_after(self, fd, pos, size):
        """Offset of the first timestamped line that starts after ``pos`` (within 16 probe sizes), or None."""
        data = os.pread(fd, self.probe * 16, pos - 1)
        ls = data.find(b'\n') + 1
        while ls:
            le = data.find(b'\n', ls)
            if le == -1:
                return None
            if self._key(data, ls, le).key is not None:
                return pos - 1 + ls if pos - 1 + ls < size else None
            ls = le + 1
        return None

    def _newline_after(self, f, offset):
        f.seek(offset - 1)
        pos = offset - 1
        while True:
            data = f.read(self.probe)
            if not data:
                return pos
            nl = data.find(b'\n')
            if nl != -1:
                return pos + nl + 1
            pos += len(data)

    def _gz_first_key(self, f, warnings):
        scratch = []
        for data in gzip_blocks(f, self.probe, scratch):
            return self._first_key(data, 0, data.rfind(b'\n') + 1 or len(data))
        return None


def first_key_of(an, path):
    """First timestamp of ``path`` (plain or gzip), or None when unreadable or without one."""
    try:
        with open_regular(path) as f:
            if f.read(2) == b'\x1f\x8b':
                f.seek(0)
                key = an._gz_first_key(f, [])
            else:
                key = an._probe(f, 0, os.fstat(f.fileno()).st_size)
            if key is not None:
                return key
    except (IOError, OSError):
        pass
    return None
