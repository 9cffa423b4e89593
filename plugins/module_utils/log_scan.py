# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Streaming error analysis of log files over a time window (core of redfire.ops.log_analysis).

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
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os
import re
import time
import zlib
from datetime import datetime, timedelta

from ansible_collections.redfire.ops.plugins.module_utils.log_time import (
    KEY_FORMAT, TimeOptionError, make_key_function, now_in, parse_window, to_log_tz, tz_from_name,
)

try:
    import re._parser as _sre_parse  # Python >= 3.11
except ImportError:  # pragma: no cover - older Pythons
    import sre_parse as _sre_parse  # pylint: disable=deprecated-module

DEFAULT_CATEGORIES = {
    'database_error': r'DatabaseError|ConnectionError',
    'api_error': r'APIError|HTTPError',
    'trading_error': r'TradingError|OrderError',
    'system_error': r'SystemError|RuntimeError',
}

BLOCK_SIZE = 1 << 20
PROBE_SIZE = 1 << 16
DEFAULT_MAX_LINE = 16 << 20
MAX_MESSAGE = 2048
MAX_GROUPS = 10000
_ROTATED_SUFFIX = re.compile(r'^(?:\.(\d+)|-(\d{8}(?:\d{2,6})?))(?:\.gz)?$')
# message grouping: hex ids (0x.., 8+ hex digits, UUIDs) become <id>, then runs of digits become <n>
_HEX = re.compile(rb'\b(?:0[xX][0-9a-fA-F]+|[0-9a-fA-F]{8,}(?:-[0-9a-fA-F]{4,})*)\b')
_DIGITS = bytes.maketrans(b'0123456789', b'\x01' * 10)
_NUM = re.compile(b'\x01+')


# Bad input that the caller reports naming the option (its ``option`` attribute).
LogScanError = TimeOptionError


class _OrderBroken(Exception):
    pass


# --------------------------------------------------------------------------------------------- patterns

def _literal_runs(items, flags):
    """Longest literal byte run that every match of the parsed sequence ``items`` must contain."""
    best = b''
    cur = bytearray()
    for op, av in items:
        name = str(op)
        if name == 'LITERAL':
            cur.append(av)
            continue
        if len(cur) > len(best):
            best = bytes(cur)
        cur = bytearray()
        if name == 'SUBPATTERN' and len(av) >= 4:
            sub = _required_literals(av[-1], flags)
            if sub and len(sub) == 1 and len(sub[0]) > len(best):
                best = sub[0]
        elif name in ('MAX_REPEAT', 'MIN_REPEAT') and av[0] >= 1:
            sub = _required_literals(av[2], flags)
            if sub and len(sub) == 1 and len(sub[0]) > len(best):
                best = sub[0]
    if len(cur) > len(best):
        best = bytes(cur)
    return best


def _required_literals(parsed, flags):
    """A list of literals such that every match contains at least one of them, or None."""
    items = list(parsed)
    if len(items) == 1 and str(items[0][0]) == 'BRANCH':
        out = []
        for alt in items[0][1][1]:
            lits = _required_literals(alt, flags)
            if not lits:
                return None
            out.extend(lits)
        return out
    if len(items) == 1 and str(items[0][0]) == 'SUBPATTERN' and len(items[0][1]) >= 4:
        return _required_literals(items[0][1][-1], flags)
    run = _literal_runs(items, flags)
    return [run] if run else None


def _longest_common_substring(words):
    first = min(words, key=len)
    for size in range(len(first), 0, -1):
        for start in range(0, len(first) - size + 1):
            cand = first[start:start + size]
            if all(cand in w for w in words):
                return cand
    return b''


class Matcher(object):
    """Compiled categories, the combined pattern and its literal prefilter."""

    def __init__(self, categories, ignore_case=True):
        if not isinstance(categories, dict) or not categories:
            raise LogScanError('categories', 'categories must be a non-empty mapping of name to regular expression')
        flags = re.MULTILINE | (re.IGNORECASE if ignore_case else 0)
        self.ignore_case = bool(ignore_case)
        self.names = []
        self.regexes = []
        for name, pattern in categories.items():
            if not isinstance(pattern, str) or not pattern:
                raise LogScanError('categories', 'category %s: the pattern must be a non-empty string' % name)
            try:
                rx = re.compile(pattern.encode('utf-8'), flags)
            except re.error as exc:
                raise LogScanError('categories', 'category %s: invalid regular expression %r: %s' % (name, pattern, exc))
            if rx.search(b''):
                raise LogScanError('categories', 'category %s: the pattern %r matches the empty string, so every line '
                                   'would count; make it match the error text' % (name, pattern))
            self.names.append(str(name))
            self.regexes.append(rx)
        combined = b'|'.join(_scoped(rx.pattern) for rx in self.regexes)
        self.combined = re.compile(combined, flags)
        self.fold = self.ignore_case
        self.mode = 'regex'
        self.needles = []
        self.line_finder = re.compile(b'(?:' + combined + b')', flags)
        lits = None
        if ignore_case or not re.search(rb'\(\?[a-zA-Z-]*i', combined):
            try:
                lits = _required_literals(_sre_parse.parse(combined, flags), flags)
            except Exception:  # pylint: disable=broad-except  # the parser is internal; no prefilter then
                lits = None
        if lits and min(len(x) for x in lits) >= 3:
            if ignore_case:
                lits = [x.lower() for x in lits]
            common = _longest_common_substring(lits)
            if len(common) >= 3:
                self.mode = 'literal'
                self.needles = [common]
            else:
                self.mode = 'literals'
                self.needles = sorted(set(lits))
            # the match runs on to the end of the line, so the next hit is on a later line
            self.line_finder = re.compile(b'(?:' + b'|'.join(re.escape(x) for x in self.needles) + b')[^\n]*')
        # categories that are plain alternations of literals are checked with ``in`` on the (folded) line
        self.checks = []
        for name, rx in zip(self.names, self.regexes):
            lit = _pure_literals(rx.pattern, flags)
            if lit and ignore_case:
                lit = [x.lower() for x in lit]
            self.checks.append((name, tuple(lit) if lit else None, rx))


def _scoped(pattern):
    """``(?:pattern)``, with leading global inline flags such as ``(?i)`` turned into scoped ones."""
    m = re.match(rb'^\(\?([aiLmsux]+)\)', pattern)
    if m:
        return b'(?' + m.group(1) + b':' + pattern[m.end():] + b')'
    return b'(?:' + pattern + b')'


def _pure_literals(pattern, flags):
    """The literals of a pattern that is only an alternation of literal strings, else None."""
    if re.search(rb'\(\?[a-zA-Z-]*[imsx]', pattern) or b'^' in pattern or b'$' in pattern:
        return None
    try:
        items = list(_sre_parse.parse(pattern, flags))
    except Exception:  # pylint: disable=broad-except
        return None
    alts = [items]
    if len(items) == 1 and str(items[0][0]) == 'BRANCH':
        alts = items[0][1][1]
    elif len(items) == 1 and str(items[0][0]) == 'SUBPATTERN' and len(items[0][1]) >= 4 and not items[0][1][1]:
        inner = list(items[0][1][-1])
        alts = inner[0][1][1] if len(inner) == 1 and str(inner[0][0]) == 'BRANCH' else [inner]
    out = []
    for alt in alts:
        alt = list(alt)
        if not alt or any(str(op) != 'LITERAL' for op, _av in alt):
            return None
        out.append(bytes(bytearray(av for _op, av in alt)))
    return out


# --------------------------------------------------------------------------------------------- readers

def _plain_blocks(f, size):
    read = f.read
    while True:
        data = read(size)
        if not data:
            return
        yield data


def _gzip_blocks(f, size, warnings):
    """Decompressed blocks of a (multi-member) gzip file; a truncated or corrupt tail becomes a warning."""
    dec = zlib.decompressobj(31)
    while True:
        raw = f.read(size)
        if not raw:
            break
        while raw:
            try:
                out = dec.decompress(raw, size * 4)
            except zlib.error as exc:
                warnings.append('corrupt gzip data, the rest of the file was not read: %s' % exc)
                return
            if out:
                yield out
            raw = dec.unconsumed_tail
            if dec.eof:
                rest = dec.unused_data
                if rest.strip(b'\x00'):
                    dec = zlib.decompressobj(31)
                    raw = rest
                else:
                    raw = b''
    if not dec.eof:
        try:
            out = dec.flush()
        except zlib.error:
            out = b''
        if out:
            yield out
        warnings.append('truncated gzip file: the compressed stream ended early; lines up to the cut were analysed')


# --------------------------------------------------------------------------------------------- discovery

def _rotation_rank(suffix):
    m = _ROTATED_SUFFIX.match(suffix)
    if not m:
        return None
    if m.group(1) is not None:
        return (0, -int(m.group(1)), '')  # app.log.3 is older than app.log.1
    return (0, 0, m.group(2))


def expand_paths(paths, include_rotated=True):
    """Files to scan, oldest first within each rotation family, and the paths that matched nothing.

    Returns (families, missing): families is a list of lists of paths (a base log and its rotated siblings,
    oldest first, the base last)."""
    families = []
    missing = []
    seen = set()
    for spec in paths:
        if glob.has_magic(spec):
            matched = sorted(glob.glob(spec))
        else:
            matched = [spec] if os.path.lexists(spec) else []
        if not matched:
            missing.append(spec)
            continue
        for path in matched:
            if path in seen:
                continue
            family = []
            if include_rotated and not os.path.isdir(path):
                sibs = []
                for sib in glob.glob(glob.escape(path) + '.*') + glob.glob(glob.escape(path) + '-*'):
                    rank = _rotation_rank(sib[len(path):])
                    if rank is not None and sib not in seen:
                        sibs.append((rank, sib))
                # dated siblings (app.log-20240101) first by date, then numbered ones (app.log.3 .. .1)
                dated = sorted([s for s in sibs if s[0][2]], key=lambda x: x[0][2])
                numbered = sorted([s for s in sibs if not s[0][2]], key=lambda x: x[0][1])
                family = [s[1] for s in dated + numbered]
            family.append(path)
            for p in family:
                seen.add(p)
            families.append(family)
    return families, missing


# --------------------------------------------------------------------------------------------- scanning

class Analyzer(object):
    """Accumulates counts, details and message groups over the files of one analysis."""

    def __init__(self, matcher, keyfunc, ts_regex, since_key, until_key, seek_key=None, stop_key=None,
                 max_details=10, max_context_lines=20, top_messages=10, seek=True, max_line_bytes=DEFAULT_MAX_LINE,
                 block_size=BLOCK_SIZE, tolerance=timedelta(seconds=60), probe_size=PROBE_SIZE):
        self.m = matcher
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
        self.counts = dict((n, 0) for n in matcher.names)
        self.events = 0
        self.details = []
        self.groups = {}
        self.groups_dropped = 0

    # -- timestamps ------------------------------------------------------------------------------------

    def _key(self, buf, start, end):
        tm = self.ts.search(buf, start, end)
        if tm is None:
            return None, None
        return self.keyf(tm), tm

    def _last_header(self, buf, end, floor=0):
        """(line start, key, ts match) of the last line with a timestamp in buf[floor:end], or None."""
        pos = end
        if pos > floor and buf[pos - 1:pos] == b'\n':
            pos -= 1
        while pos > floor:
            ls = buf.rfind(b'\n', floor, pos) + 1
            if ls == 0 and floor > 0:
                ls = floor
            key, tm = self._key(buf, ls, pos)
            if key is not None:
                return ls, key, tm
            pos = ls - 1
        return None

    def _first_key(self, buf, start, end):
        pos = start
        while pos < end:
            le = buf.find(b'\n', pos, end)
            if le == -1:
                le = end
            key, _tm = self._key(buf, pos, le)
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
                return hit[1]
            if back >= size or back >= 16 * self.probe:
                return None
            back = min(size, back * 4)

    def _bisect(self, f, size, fs, first, last):
        """(offset, key there) to start scanning from, or None when the probes show timestamps out of order."""
        probes = [(0, first), (size, last)]
        lo, hi = 0, size
        lo_key = first
        while hi - lo > self.probe:
            mid = (lo + hi) // 2
            key = self._probe(f, mid, size)
            if key is not None:
                probes.append((mid, key))
            if key is None or key >= self.seek_key:
                hi = mid
            else:
                lo, lo_key = mid, key
        fs['probes'] = len(probes) - 2
        probes.sort()
        keys = [k for _o, k in probes]
        if any(keys[i] > keys[i + 1] for i in range(len(keys) - 1)):
            return None
        return lo, lo_key

    # -- the scan ----------------------------------------------------------------------------------------

    def scan_file(self, path, fs, upper_bound=None):
        """Scan one file into the accumulators; ``fs`` receives the per-file statistics."""
        with open(path, 'rb', buffering=0) as f:
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
                    fs['first_time'] = _s(first)
                    if (first is not None and self.until is not None and first > self.stop_key) or \
                            (upper_bound is not None and upper_bound < self.seek_key):
                        fs['skipped_outside_window'] = True
                        return
                self._scan_stream(_gzip_blocks(f, self.block, warnings), fs, 0, 1, ordered=False)
                return
            start = 0
            ordered = False
            if self.seek and st.st_size > 0:
                first = self._probe(f, 0, st.st_size)
                last = self._tail_key(f, st.st_size)
                fs['first_time'], fs['last_time'] = _s(first), _s(last)
                if first is not None and last is not None and first <= last:
                    if (self.since is not None and last < self.seek_key) or \
                            (self.until is not None and first > self.stop_key):
                        fs['skipped_outside_window'] = True
                        return
                    if self.since is not None and first < self.seek_key:
                        found = self._bisect(f, st.st_size, fs, first, last)
                        if found is not None:
                            start, ordered = found[0], True
                            self.floor = _minus(found[1], self.tolerance)
                    else:
                        ordered = True
                        self.floor = _minus(first, self.tolerance)
                    self.ceiling = _minus(last, -self.tolerance)
                    self.probed_size = st.st_size
                    if ordered and start > 0:
                        nl = self._newline_after(f, start)
                        start = nl
                        fs['seek_used'] = True
                        fs['seek_offset'] = start
            snapshot = self._snapshot()
            f.seek(start)
            try:
                self._scan_stream(_plain_blocks(f, self.block), fs, start, 1 if start == 0 else None, ordered=ordered)
            except _OrderBroken:
                self._restore(snapshot)
                for k in ('bytes_scanned', 'lines_scanned', 'errors'):
                    fs[k] = 0
                fs['seek_used'] = False
                fs['seek_offset'] = 0
                fs['order_broken'] = True
                f.seek(0)
                self._scan_stream(_plain_blocks(f, self.block), fs, 0, 1, ordered=False)

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
        for data in _gzip_blocks(f, self.probe, scratch):
            return self._first_key(data, 0, data.rfind(b'\n') + 1 or len(data))
        return None

    def _snapshot(self):
        return (dict(self.counts), self.events, len(self.details),
                dict((k, list(v)) for k, v in self.groups.items()), self.groups_dropped)

    def _restore(self, snap):
        self.counts, self.events, nd, self.groups, self.groups_dropped = snap
        self.groups = dict((k, v) for k, v in self.groups.items())
        del self.details[nd:]

    def _scan_stream(self, blocks, fs, offset, line_no, ordered):
        """Scan a stream of blocks; ``offset``/``line_no`` are those of the first byte (line_no None after a seek)."""
        pieces = []
        pending = 0
        skipping = False
        # event state: (event id, key, header text, header line number, categories seen)
        st = {'hdr': None, 'event': None, 'cats': None, 'detail': None, 'group': None, 'ctx': None, 'cur': None}
        first_done = False
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
            if not first_done and line_no == 1:
                fk = self._first_key(buf, 0, cut)
                if fk is not None:
                    fs['first_time'] = _s(fk)
                    first_done = True
            nlines = self._block(buf, cut, offset, line_no, fs, st, ordered)
            if line_no is not None:
                line_no += nlines
            offset += cut
            if cut < len(buf):
                pieces, pending = [buf[cut:]], len(buf) - cut
            buf = data = None  # a long line's buffer must not stay alive while the next one is read
            if ordered and st['hdr'] is not None and st['hdr'][1] > self.stop_key:
                fs['stopped_early'] = True
                return
        if pieces:
            buf = b''.join(pieces)
            self._block(buf, len(buf), offset, line_no, fs, st, ordered)

    def _block(self, buf, end, offset, line_no, fs, st, ordered):
        """Analyse the complete lines buf[:end]; returns the number of lines."""
        m = self.m
        text = buf.lower() if m.fold else buf
        nlines = buf.count(b'\n', 0, end)
        if end and buf[end - 1:end] != b'\n':
            nlines += 1
        fs['bytes_scanned'] += end
        fs['lines_scanned'] += nlines
        since, until = self.since, self.until
        checks = m.checks
        counts = self.counts
        ts_search = self.ts.search
        keyf = self.keyf
        regex_mode = m.mode == 'regex'
        pos = 0
        if st['ctx'] is not None:
            self._context(buf, 0, end, st)
        for hit in m.line_finder.finditer(text, 0, end):
            hs = hit.start()
            if hs < pos:
                continue
            ls = text.rfind(b'\n', 0, hs) + 1
            if regex_mode:
                le = text.find(b'\n', hs, end)
                if le == -1:
                    le = end
            else:
                le = hit.end()
            pos = le + 1
            line = text[ls:le]
            # The category test is inline, not a method: it runs for every candidate line.
            cats = []
            for name, lits, rx in checks:
                if lits is not None:
                    for lit in lits:
                        if lit in line:
                            cats.append(name)
                            break
                elif rx.search(line):
                    cats.append(name)
            if not cats:
                continue
            tm = ts_search(buf, ls, le)
            key = keyf(tm) if tm is not None else None
            if key is not None:
                hdr = (offset + ls, key, ls, tm)
                hdr_in_buf = True
            else:
                cur = st['cur']
                # the usual case: a trace line of the event just counted, nothing timestamped in between
                if cur is not None and cur[4] is buf and ts_search(buf, cur[5], ls) is None:
                    found = (cur[2], cur[1], cur[3])
                else:
                    found = self._last_header(buf, ls, 0)
                if found is not None:
                    hls, key, tm = found
                    hdr = (offset + hls, key, hls, tm)
                    hdr_in_buf = True
                else:
                    hdr = st['hdr']
                    hdr_in_buf = False
                    if hdr is None:
                        continue  # continuation lines before the first timestamp: no time, not counted
                    key = hdr[1]
            # lines appended after the probes (a live log) may be newer than the probed last timestamp
            if ordered and (key < self.floor or (key > self.ceiling and hdr[0] < self.probed_size)):
                raise _OrderBroken()
            if (since is not None and key < since) or (until is not None and key > until):
                continue
            eid = hdr[0]
            if hdr_in_buf:
                hle = buf.find(b'\n', hdr[2], end)
                st['cur'] = hdr + (buf, end if hle == -1 else hle)
            if st['event'] != eid:
                st['event'] = eid
                st['cats'] = set(cats)
                st['detail'] = None
                st['group'] = None
                new = cats
                self.events += 1
                self._new_event(buf, end, offset, line_no, fs, st, hdr, hdr_in_buf, cats)
            else:
                seen = st['cats']
                new = [c for c in cats if c not in seen]
                if not new:
                    continue
                seen.update(new)
                if st['detail'] is not None:
                    st['detail']['types'].extend(new)
                if st['group'] is not None:
                    for c in new:
                        if c not in st['group'][4]:
                            st['group'][4].append(c)
            for c in new:
                counts[c] += 1
            fs['errors'] += len(new)
            if st['ctx'] is not None and st['ctx'][0] is not None:
                self._context(buf, st['ctx'][0], end, st)
        st['cur'] = None  # it refers to this buffer: do not keep the buffer alive
        # remember the last header of this block for continuation lines in the next one
        found = self._last_header(buf, end, 0) if end else None
        if found is not None:
            hls, key, tm = found
            hle = buf.find(b'\n', hls, end)
            if hle == -1:
                hle = end
            hline = None if line_no is None else line_no + buf.count(b'\n', 0, hls)
            st['hdr'] = (offset + hls, key, None, (buf[hls:min(hle, hls + MAX_MESSAGE)], tm.start() - hls,
                                                   tm.end() - hls, hline))
            if fs['last_time'] is None or key > fs['last_time'].encode('ascii'):
                fs['last_time'] = _s(key)
            if ordered and (key < self.floor or (key > self.ceiling and offset + hls < self.probed_size)):
                raise _OrderBroken()
        return nlines

    def _new_event(self, buf, end, offset, line_no, fs, st, hdr, hdr_in_buf, cats):
        if hdr_in_buf:
            hls = hdr[2]
            hle = buf.find(b'\n', hls, end)
            if hle == -1:
                hle = end
            raw = buf[hls:min(hle, hls + MAX_MESSAGE)]
            tm = hdr[3]
            t0, t1 = tm.start() - hls, tm.end() - hls
            hline = -1
        else:
            raw, t0, t1, hline = hdr[3]
            hle = -1
        key = hdr[1]
        if len(self.details) < self.max_details:
            if hline == -1:
                hline = None if line_no is None else line_no + buf.count(b'\n', 0, hls)
            msg = raw.decode('utf-8', 'replace').strip()
            detail = {'time': _s(key), 'type': cats[0], 'types': list(cats), 'message': msg,
                      'continuation': [], 'file': fs['path'], 'line': hline, 'offset': hdr[0]}
            self.details.append(detail)
            st['detail'] = detail
            if self.max_context > 0:
                st['ctx'] = [hle + 1 if hdr_in_buf else 0, detail]
        if self.top_n > 0:
            norm = raw[:t0] + raw[t1:]
            norm = _NUM.sub(b'<n>', _HEX.sub(b'<id>', norm.strip()).translate(_DIGITS))[:512]
            grp = self.groups.get(norm)
            skey = key
            if grp is None:
                if len(self.groups) < MAX_GROUPS:
                    grp = [0, skey, skey, raw, list(cats)]
                    self.groups[norm] = grp
                else:
                    self.groups_dropped += 1
            if grp is not None:
                grp[0] += 1
                if skey < grp[1]:
                    grp[1] = skey
                if skey > grp[2]:
                    grp[2] = skey
                for c in cats:
                    if c not in grp[4]:
                        grp[4].append(c)
                st['group'] = grp

    def _context(self, buf, pos, end, st):
        """Append the continuation lines from buf[pos:] to the pending detail (st['ctx'] = [pos, detail]).

        Stops at the next timestamped line (done: st['ctx'] = None), at max_context_lines (done), or at the end
        of the buffer (st['ctx'][0] = None: go on at the start of the next block)."""
        detail = st['ctx'][1]
        lines = detail['continuation']
        while pos < end and len(lines) < self.max_context:
            le = buf.find(b'\n', pos, end)
            if le == -1:
                le = end
            if self._key(buf, pos, le)[0] is not None:
                st['ctx'] = None
                return
            lines.append(buf[pos:min(le, pos + MAX_MESSAGE)].decode('utf-8', 'replace').rstrip())
            pos = le + 1
        if len(lines) >= self.max_context:
            st['ctx'] = None
        else:
            st['ctx'][0] = None

    def top_messages(self):
        items = sorted(self.groups.items(), key=lambda kv: (-kv[1][0], kv[1][1]))[:self.top_n]
        return [{'message': k.decode('utf-8', 'replace'), 'count': v[0], 'first_seen': _s(v[1]), 'last_seen': _s(v[2]),
                 'example': v[3].decode('utf-8', 'replace').strip(), 'types': v[4]} for k, v in items]


def _minus(key, delta):
    return (datetime.strptime(key.decode('ascii'), KEY_FORMAT) - delta).strftime(KEY_FORMAT).encode()


def _s(key):
    return None if key is None else key.decode('ascii', 'replace')


def _new_file_stats(path):
    return {'path': path, 'status': 'scanned', 'error': None, 'warnings': [], 'size': None, 'compressed': False,
            'bytes_scanned': 0, 'lines_scanned': 0, 'errors': 0, 'first_time': None, 'last_time': None,
            'skipped_outside_window': False, 'seek_used': False, 'seek_offset': 0, 'probes': 0,
            'order_broken': False, 'stopped_early': False, 'long_lines_truncated': 0}


def analyze(paths, hours=None, since=None, until=None, timezone='local', categories=None, ignore_case=True,
            timestamp_regex=None, timestamp_format=None, json_time_field=None, max_details=10,
            max_context_lines=20, top_messages=10, include_rotated=True, seek=True, order_tolerance=60,
            max_line_bytes=DEFAULT_MAX_LINE, now=None, block_size=BLOCK_SIZE, probe_size=PROBE_SIZE):
    """Analyse ``paths`` and return the result dictionary (see the module's RETURN documentation).

    Raises LogScanError for bad options (its ``option`` names the option to fix)."""
    started = time.time()
    if isinstance(paths, str):
        paths = [paths]
    if not paths:
        raise LogScanError('paths', 'paths must list at least one file or glob')
    for name, val in (('max_details', max_details), ('max_context_lines', max_context_lines),
                      ('top_messages', top_messages), ('order_tolerance', order_tolerance)):
        if val is None or val < 0:
            raise LogScanError(name, '%s must be 0 or a positive number, got %r' % (name, val))
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
                  probe_size=probe_size)
    families, missing = expand_paths(paths, include_rotated)
    files = []
    for spec in missing:
        fs = _new_file_stats(spec)
        fs['status'] = 'missing'
        fs['error'] = 'no such file or no glob match: %s' % spec
        files.append(fs)
    for family in families:
        nexts = {}
        for older, newer in zip(family, family[1:]):
            nexts[older] = newer
        for path in family:
            fs = _new_file_stats(path)
            files.append(fs)
            if os.path.isdir(path):
                fs['status'] = 'error'
                fs['error'] = 'is a directory: %s (give files or a glob such as %s/*.log)' % (path, path.rstrip('/'))
                continue
            bound = None  # the first timestamp of the next newer file bounds the last one of a rotated file
            if path in nexts and an.seek and an.since is not None:
                bound = _first_key_of(an, nexts[path])
            try:
                an.scan_file(path, fs, upper_bound=bound)
            except (IOError, OSError) as exc:
                fs['status'] = 'error'
                fs['error'] = '%s: %s' % (exc.strerror or exc.__class__.__name__, path)
            if fs['skipped_outside_window']:
                fs['status'] = 'skipped'
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
        'files': files,
        'window': {'since': _s(since_key), 'until': _s(until_key), 'hours': win['hours'],
                   'relative': win['relative'], 'timezone': win['tz_name']},
        'stats': {
            'files_scanned': sum(1 for f in files if f['status'] == 'scanned'),
            'files_skipped': sum(1 for f in files if f['status'] == 'skipped'),
            'files_failed': sum(1 for f in files if f['status'] in ('error', 'missing')),
            'bytes_scanned': scanned,
            'lines_scanned': sum(f['lines_scanned'] for f in files),
            'seconds': round(elapsed, 6),
            'mb_per_second': round(scanned / 1e6 / elapsed, 1) if elapsed > 0 else None,
            'prefilter': matcher.mode,
            'message_groups_dropped': an.groups_dropped,
        },
        'generated_at': now_in(tz).strftime(KEY_FORMAT),
    }


def _first_key_of(an, path):
    """First timestamp of ``path`` (plain or gzip), or None when unreadable or without one."""
    try:
        with open(path, 'rb', buffering=0) as f:
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
