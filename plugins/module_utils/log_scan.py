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

import copy
import glob
import os
import pickle
import re
import signal
import sys
import threading
import time
import zlib
from collections import Counter
from datetime import datetime, timedelta

from ansible_collections.redfire.ops.plugins.module_utils.child_process import start_child
from ansible_collections.redfire.ops.plugins.module_utils.deadline import (
    Deadline, DeadlineExceeded, NotRegularFile, open_regular,
)
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
PARALLEL_MIN_BYTES = 16 << 20  # below about 10 MB a second process costs more than it saves (measured)
MAX_AUTO_WORKERS = 4
MAX_MESSAGE = 2048
MAX_GROUPS = 10000
MAX_TIMEOUT = 86400
MAX_ORDER_TOLERANCE = 7 * 86400
_ROTATED_SUFFIX = re.compile(r'^(?:\.(\d+)|-(\d{8}(?:\d{2,6})?))(?:\.gz)?$')
# message grouping: hex ids (0x.., 8+ hex digits, UUIDs) become <id>, then runs of digits become <n>
_HEX = re.compile(rb'\b(?:0[xX][0-9a-fA-F]+|[0-9a-fA-F]{8,}(?:-[0-9a-fA-F]{4,})*)\b')
_DIGITS = bytes.maketrans(b'0123456789', b'\x01' * 10)
_ZERO_DIGITS = bytes.maketrans(b'0123456789', b'0' * 10)
MAX_SHAPES = 1 << 16  # cached normalised messages (see _flush_groups)
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
        self.classifier, self.classes = (None, None)
        if self.mode == 'literal' and not _self_overlaps(self.needles[0]):
            self.classifier, self.classes = _classifier(self.needles, self.checks)
        self._names_of = {}

    def names_of(self, mask):
        """Category names of a bit mask (bit i = category i), in the order of the categories."""
        names = self._names_of.get(mask)
        if names is None:
            names = self._names_of[mask] = tuple(n for i, n in enumerate(self.names) if mask >> i & 1)
        return names

    def candidates(self, text, end):
        """Lines of text[:end] (folded when ignore_case) in some category: lists (starts, ends, category masks).

        With the classifier every hit is one category literal (found by the needle's fast literal search, told
        apart by look-arounds) and the per-line work is a few list operations; otherwise each candidate line of the
        prefilter is tested against every category."""
        starts, ends, masks = [], [], []
        rfind, find = text.rfind, text.find
        le = -1
        if self.classifier is not None:
            classes = self.classes
            for hit in self.classifier.finditer(text, 0, end):
                pos = hit.start()
                if pos < le:
                    masks[-1] |= classes[hit.lastindex]
                    continue
                le = find(b'\n', pos, end)
                if le == -1:
                    le = end
                starts.append(rfind(b'\n', 0, pos) + 1)
                ends.append(le)
                masks.append(classes[hit.lastindex])
            return starts, ends, masks
        regex_mode = self.mode == 'regex'
        checks = self.checks
        for hit in self.line_finder.finditer(text, 0, end):
            hs = hit.start()
            if hs < le:
                continue
            ls = rfind(b'\n', 0, hs) + 1
            if regex_mode:
                le = find(b'\n', hs, end)
                if le == -1:
                    le = end
            else:
                le = hit.end()  # the prefilter's match runs to the end of the line
            line = text[ls:le]
            mask = 0
            for bit, (_name, lits, rx) in enumerate(checks):
                if lits is not None:
                    if any(lit in line for lit in lits):
                        mask |= 1 << bit
                elif rx.search(line):
                    mask |= 1 << bit
            if mask:
                starts.append(ls)
                ends.append(le)
                masks.append(mask)
        return starts, ends, masks


def _self_overlaps(needle):
    """True when the needle's occurrences can overlap ('aa', 'abab'): finditer would step over some of them."""
    return any(needle[k:] == needle[:len(needle) - k] for k in range(1, len(needle)))


def _classifier(needles, checks):
    """(regex, {group index: category bit}) finding every category literal at the needle they all share.

    ``needle(?:(?<=pre+needle)(?=post)()|...)``: the scan runs at literal-search speed on the needle and the
    look-arounds tell which literal is there. Only when every category is a set of literals and no two literals of
    different categories can match at the same needle (else one alternative would hide the other): (None, None)."""
    if len(needles) != 1 or any(lits is None for _n, lits, _rx in checks):
        return None, None
    needle = needles[0]
    parts, classes, seen = [], {}, []
    for bit, (_name, lits, _rx) in enumerate(checks):
        for lit in lits:
            at = lit.find(needle)
            if at < 0:
                return None, None
            pre, post = lit[:at], lit[at + len(needle):]
            for obit, opre, opost in seen:
                if obit != bit and (pre.endswith(opre) or opre.endswith(pre)) and \
                        (post.startswith(opost) or opost.startswith(post)):
                    return None, None
            seen.append((bit, pre, post))
            ahead = b'(?=' + re.escape(post) + b')' if post else b''
            parts.append(b'(?<=' + re.escape(pre + needle) + b')' + ahead + b'()')
            classes[len(parts)] = 1 << bit
    return re.compile(re.escape(needle) + b'(?:' + b'|'.join(parts) + b')'), classes


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

def _range_blocks(fd, start, stop, size):
    """Blocks of the file descriptor from ``start`` to ``stop`` (None: to the end, as it is when read), by pread:
    workers that share the descriptor do not share a file position."""
    pos = start
    while stop is None or pos < stop:
        data = os.pread(fd, size if stop is None else min(size, stop - pos), pos)
        if not data:
            return
        pos += len(data)
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


class _Ahead(object):
    """Iterate ``blocks`` (a generator) in a thread, up to ``depth`` blocks ahead of the consumer.

    zlib's inflate and file reads release the GIL, so a gzip file is decompressed on one core while it is scanned
    on another. Memory: at most ``depth`` blocks wait. Closing (or leaving the ``with``) stops the thread."""

    def __init__(self, blocks, depth=4):
        self._blocks = blocks
        self._items = []
        self._cond = threading.Condition()
        self._depth = depth
        self._done = False
        self._stop = False
        self._error = None
        self._thread = threading.Thread(target=self._run, name='log_scan-reader')
        self._thread.daemon = True

    def _run(self):
        try:
            for data in self._blocks:
                with self._cond:
                    while len(self._items) >= self._depth and not self._stop:
                        self._cond.wait()
                    if self._stop:
                        return
                    self._items.append(data)
                    self._cond.notify_all()
        except BaseException as exc:  # pylint: disable=broad-except  # re-raised in the consumer
            self._error = exc
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def __enter__(self):
        # The reader needs the GIL for a moment after each inflate; with the default 5 ms switch interval it
        # would wait on the scanning thread that long every block (measured: 195 MB/s instead of 250 MB/s).
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._interval, 0.0005))
        self._thread.start()
        return self

    def __exit__(self, *exc):
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join()
        self._blocks.close()
        sys.setswitchinterval(self._interval)

    def __iter__(self):
        while True:
            with self._cond:
                while not self._items and not self._done:
                    self._cond.wait()
                if not self._items:
                    if self._error is not None:
                        raise self._error
                    return
                data = self._items.pop(0)
                self._cond.notify_all()
            yield data


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
    oldest first, the base last). A path that exists is taken literally even when it holds glob characters
    (``app[1].log``). Each directory is listed once, so the work grows with the number of files, not its square."""
    families = []
    missing = []
    seen = set()
    listings = {}  # directory -> {base name: [(rank, suffix)]}
    for spec in paths:
        if os.path.lexists(spec):
            matched = [spec]
        elif glob.has_magic(spec):
            matched = sorted(glob.glob(spec))
        else:
            matched = []
        if not matched:
            missing.append(spec)
            continue
        for path in matched:
            if path in seen:
                continue
            family = []
            if include_rotated and not os.path.isdir(path):
                folder, name = os.path.split(path)
                rotated = listings.get(folder)
                if rotated is None:
                    rotated = listings[folder] = _rotated_names(folder)
                sibs = [(rank, path + suffix) for rank, suffix in rotated.get(name, ()) if path + suffix not in seen]
                # dated siblings (app.log-20240101) first by date, then numbered ones (app.log.3 .. .1)
                dated = sorted([s for s in sibs if s[0][2]], key=lambda x: x[0][2])
                numbered = sorted([s for s in sibs if not s[0][2]], key=lambda x: x[0][1])
                family = [s[1] for s in dated + numbered]
            family.append(path)
            for p in family:
                seen.add(p)
            families.append(family)
    return families, missing


def _rotated_names(folder):
    """{base name: [(rank, suffix)]} of the rotated files in ``folder`` (app.log.1 -> app.log: (rank, '.1'))."""
    try:
        names = os.listdir(folder or '.')
    except OSError:
        return {}
    out = {}
    for name in names:
        for at in range(1, len(name)):
            if name[at] in '.-':
                rank = _rotation_rank(name[at:])
                if rank is not None:
                    out.setdefault(name[:at], []).append((rank, name[at:]))
    return out


# --------------------------------------------------------------------------------------------- scanning

class Analyzer(object):
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
        self._empty_accumulators()

    def _empty_accumulators(self):
        self.counts = dict((n, 0) for n in self.m.names)
        self.events = 0
        self.details = []
        self.groups = {}
        self.groups_dropped = 0
        self._batch = []  # events waiting for grouping (see _flush_groups)

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
            key, _tm = self._key(buf, ls, le)
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
                    fs['first_time'] = _s(first)
                    if (first is not None and self.until is not None and first > self.stop_key) or \
                            (upper_bound is not None and upper_bound < self.seek_key):
                        fs['skipped_outside_window'] = True
                        return
                with _Ahead(_gzip_blocks(f, self.block, warnings)) as blocks:
                    self._scan_stream(iter(blocks), fs, 0, 1, ordered=False)
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
            try:
                self._scan_plain(f, fs, start, ordered)
            except _OrderBroken:
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
            self._scan_stream(_range_blocks(fd, start, None, self.block), fs, start, 1 if numbered else None, ordered)
            return

        def work(a, b):
            worker = self._fresh()
            sub = _new_file_stats(fs['path'])
            try:
                worker._scan_stream(_range_blocks(fd, a, b, self.block), sub, a, 1 if numbered else None, ordered)
            except _OrderBroken:
                return None
            return {'counts': worker.counts, 'events': worker.events, 'details': worker.details,
                    'groups': worker.groups, 'groups_dropped': worker.groups_dropped, 'fs': sub}

        results = _in_parallel(work, list(zip(points, points[1:] + [None])))
        if any(r is None for r in results):
            raise _OrderBroken()
        self._merge(results, fs, numbered)

    def _event_start_after(self, fd, pos, size):
        """Offset of the first timestamped line that starts after ``pos`` (within 16 probe sizes), or None."""
        data = os.pread(fd, self.probe * 16, pos - 1)
        ls = data.find(b'\n') + 1
        while ls:
            le = data.find(b'\n', ls)
            if le == -1:
                return None
            if self._key(data, ls, le)[0] is not None:
                return pos - 1 + ls if pos - 1 + ls < size else None
            ls = le + 1
        return None

    def _fresh(self):
        """This analyzer's settings with empty accumulators (a worker's)."""
        worker = copy.copy(self)
        worker._empty_accumulators()
        return worker

    def _merge(self, results, fs, numbered):
        """Add the workers' results, in file order, as if one process had scanned the ranges one after another."""
        lines_before = 0
        for res in results:
            sub = res['fs']
            for name, count in res['counts'].items():
                self.counts[name] += count
            self.events += res['events']
            for detail in res['details'][:max(0, self.max_details - len(self.details))]:
                if numbered and detail['line'] is not None:
                    detail['line'] += lines_before
                self.details.append(detail)
            lines_before += sub['lines_scanned']
            for norm, (count, first, last, example, mask) in res['groups'].items():
                self._add_group(norm, count, first, last, mask, lambda example=example: example)
            self.groups_dropped += res['groups_dropped']
            for k in ('bytes_scanned', 'lines_scanned', 'errors', 'long_lines_truncated'):
                fs[k] += sub[k]
            fs['warnings'].extend(sub['warnings'])
            fs['stopped_early'] = fs['stopped_early'] or sub['stopped_early']
            if sub['last_time'] is not None and (fs['last_time'] is None or sub['last_time'] > fs['last_time']):
                fs['last_time'] = sub['last_time']
        if numbered:
            fs['first_time'] = next((r['fs']['first_time'] for r in results if r['fs']['first_time']), None)

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
        del self._batch[:]

    def _scan_stream(self, blocks, fs, offset, line_no, ordered):
        """Scan a stream of blocks; ``offset``/``line_no`` are those of the first byte (line_no None after a seek)."""
        pieces = []
        pending = 0
        skipping = False
        # event state: header of the previous blocks, current event id and category mask, its detail and group
        st = {'hdr': None, 'event': None, 'emask': 0, 'detail': None, 'group': None, 'entry': None, 'ctx': None}
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
        if st['ctx'] is not None:
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
        by_mask = {}  # new category bits of an event -> how many times
        new_events = 0
        event, emask, detail, group, entry = st['event'], st['emask'], st['detail'], st['group'], st['entry']
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
                        h_ls, h_key, h_tm = found
                        h_le = buf.find(b'\n', h_ls, end)
                        if h_le == -1:
                            h_le = end
                if h_ls >= 0:
                    key = h_key
                elif st['hdr'] is not None:
                    key = st['hdr'][1]
                else:
                    continue  # continuation lines before the first timestamp: no time, not counted
            eid = offset + h_ls if h_ls >= 0 else st['hdr'][0]
            # lines appended after the probes (a live log) may be newer than the probed last timestamp
            if ordered and (key < floor or (key > ceiling and eid < probed)):
                raise _OrderBroken()
            if (since is not None and key < since) or (until is not None and key > until):
                continue
            if event != eid:
                event, emask, new = eid, mask, mask
                new_events += 1
                if h_ls >= 0:
                    raw = None
                    t0, t1 = h_tm.start() - h_ls, h_tm.end() - h_ls
                    hline = -1
                else:
                    raw, t0, t1, hline = st['hdr'][3]
                detail = group = entry = None
                if want_details:
                    if raw is None:
                        raw = buf[h_ls:min(h_le, h_ls + MAX_MESSAGE)]
                        hline = None if line_no is None else line_no + buf.count(b'\n', 0, h_ls)
                    names = m.names_of(mask)
                    detail = {'time': _s(key), 'type': names[0], 'types': list(names),
                              'message': raw.decode('utf-8', 'replace').strip(), 'continuation': [],
                              'file': fs['path'], 'line': hline, 'offset': eid}
                    details.append(detail)
                    want_details = len(details) < self.max_details
                    if self.max_context > 0:
                        st['ctx'] = [h_le + 1 if h_ls >= 0 else 0, detail]
                if grouping:
                    if raw is None:  # the message without its timestamp; the line itself only for new groups
                        source = buf[h_ls + t1:min(h_le, h_ls + MAX_MESSAGE)] if t0 == 0 else \
                            buf[h_ls:h_ls + t0] + buf[h_ls + t1:min(h_le, h_ls + MAX_MESSAGE)]
                        entry = [source, key, h_ls, mask]
                    else:
                        entry = [raw[:t0] + raw[t1:], key, raw, mask]
                    batch.append(entry)
            else:
                new = mask & ~emask
                if not new:
                    continue
                emask |= new
                if detail is not None:
                    detail['types'].extend(m.names_of(new))
                if group is not None:
                    group[4] |= new
                elif entry is not None:
                    entry[3] |= new
            by_mask[new] = by_mask.get(new, 0) + 1
            if st['ctx'] is not None and st['ctx'][0] is not None:
                self._context(buf, st['ctx'][0], end, st)
        self.events += new_events
        counts = self.counts
        for mask, times in by_mask.items():
            names = m.names_of(mask)
            for name in names:
                counts[name] += times
            fs['errors'] += times * len(names)
        if grouping and batch:
            group = self._flush_groups(buf, end, entry)
        st['event'], st['emask'], st['detail'], st['group'], st['entry'] = event, emask, detail, group, None
        # remember the last header of this block for continuation lines in the next one
        found = self._last_header(buf, end, 0) if end else None
        if found is not None:
            hls, key, tm = found
            hle = buf.find(b'\n', hls, end)
            if hle == -1:
                hle = end
            hline = None if line_no is None else line_no + newlines - buf.count(b'\n', hls, end)
            st['hdr'] = (offset + hls, key, None, (buf[hls:min(hle, hls + MAX_MESSAGE)], tm.start() - hls,
                                                   tm.end() - hls, hline))
            if fs['last_time'] is None or key > fs['last_time'].encode('ascii'):
                fs['last_time'] = _s(key)
            if ordered and (key < self.floor or (key > self.ceiling and offset + hls < self.probed_size)):
                raise _OrderBroken()
        return nlines

    def _flush_groups(self, buf, end, keep=None):
        """Group the events batched by _block (entries [message source, key, example, mask]; the example is the
        header's offset in ``buf`` or its bytes). Returns the group of batch entry ``keep`` (None when dropped).

        The normalisation (hex ids, then digit runs) only looks at whether a character is a digit, never at which
        one: a message with every digit turned into 0 (its *shape*, one translate over the joined batch) normalises
        to the same text. So the regexes run once per shape not yet seen (cached), and the events are aggregated
        per shape (counts, first/last key, categories) before they reach the groups."""
        batch = self._batch
        shapes = b'\n'.join([e[0] for e in batch]).translate(_ZERO_DIGITS).split(b'\n')
        norms = self._norms
        fresh = [x for x in set(shapes) if x not in norms]
        if fresh:
            if len(norms) + len(fresh) > MAX_SHAPES:
                norms.clear()
            normed = _NUM.sub(b'<n>', _HEX.sub(b'<id>', b'\n'.join(fresh)).translate(_DIGITS)).split(b'\n')
            for shape, norm in zip(fresh, normed):
                norms[shape] = norm.strip()[:512]
        keys = [e[1] for e in batch]
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
        for shape, mask in set(zip(shapes, [e[3] for e in batch])):
            masks[shape] = masks.get(shape, 0) | mask
        examples = dict(zip(reversed(shapes), reversed(batch)))

        def example_of(shape):
            example = examples[shape][2]
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
            grp = self.groups[norm] = [0, first, last, example(), 0]
        grp[0] += count
        if first < grp[1]:
            grp[1] = first
        if last > grp[2]:
            grp[2] = last
        grp[4] |= mask

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
                 'example': v[3].decode('utf-8', 'replace').strip(), 'types': list(self.m.names_of(v[4]))}
                for k, v in items]


def _in_parallel(func, args_list):
    """[func(*args) for args in args_list]: the first in this process, the others in forked children that send
    back their result pickled through a pipe. A fork that fails runs its share here; a child's exception is raised
    here (OSError keeps its errno, so a file error is reported as one)."""
    children = []
    try:
        for args in args_list[1:]:
            try:
                pid, rfd = start_child(func, args, _child_error)
            except OSError:  # no process to spare: this share runs here, in turn
                children.append((None, args))
                continue
            children.append((pid, rfd))
        results = [func(*args_list[0])]
        while children:
            pid, pipe_or_args = children.pop(0)
            results.append(func(*pipe_or_args) if pid is None else _child_result(pid, pipe_or_args))
        return results
    finally:
        for pid, pipe_or_args in children:  # only after an exception here (the deadline): stop the children
            if pid is not None:
                os.close(pipe_or_args)
                _stop_child(pid)


def _child_error(exc):
    """What a worker sends back for its exception (an OSError keeps its errno and file name)."""
    if isinstance(exc, OSError):
        return (exc.errno, exc.strerror, exc.filename)
    return '%s: %s' % (exc.__class__.__name__, exc)


def _stop_child(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    os.waitpid(pid, 0)


def _child_result(pid, rfd):
    chunks = []
    done = False
    try:
        while True:
            data = os.read(rfd, 1 << 20)
            if not data:
                break
            chunks.append(data)
        done = True
    finally:
        os.close(rfd)
        if done:
            os.waitpid(pid, 0)
        else:  # interrupted (the deadline): the child must not scan on
            _stop_child(pid)
    if not chunks:
        raise RuntimeError('a log scan worker process ended without a result')
    ok, value = pickle.loads(b''.join(chunks))
    if ok:
        return value
    if isinstance(value, tuple):
        raise OSError(*value)
    raise RuntimeError('a log scan worker failed: %s' % value)


def _minus(key, delta):
    return (datetime.strptime(key.decode('ascii'), KEY_FORMAT) - delta).strftime(KEY_FORMAT).encode()


def _s(key):
    return None if key is None else key.decode('ascii', 'replace')


def _new_file_stats(path):
    return {'path': path, 'status': 'scanned', 'error': None, 'warnings': [], 'size': None, 'compressed': False,
            'bytes_scanned': 0, 'lines_scanned': 0, 'errors': 0, 'first_time': None, 'last_time': None,
            'skipped_outside_window': False, 'seek_used': False, 'seek_offset': 0, 'probes': 0,
            'order_broken': False, 'stopped_early': False, 'long_lines_truncated': 0, 'workers': 1}


def analyze(paths, hours=None, since=None, until=None, timezone='local', categories=None, ignore_case=True,
            timestamp_regex=None, timestamp_format=None, json_time_field=None, max_details=10,
            max_context_lines=20, top_messages=10, include_rotated=True, seek=True, order_tolerance=60,
            max_line_bytes=DEFAULT_MAX_LINE, now=None, block_size=BLOCK_SIZE, probe_size=PROBE_SIZE, workers=0,
            parallel_min_bytes=PARALLEL_MIN_BYTES, timeout=None):
    """Analyse ``paths`` and return the result dictionary (see the module's RETURN documentation).

    ``timeout`` (seconds, None: no limit) bounds the listing and the scan, user patterns included (see
    module_utils/deadline.py): a scan cut by it returns what was counted so far with ``incomplete`` true, a
    warning on the file it was in and the files not reached as ``status: timeout``.

    Raises LogScanError for bad options (its ``option`` names the option to fix)."""
    started = time.time()
    if isinstance(paths, str):
        paths = [paths]
    if not paths:
        raise LogScanError('paths', 'paths must list at least one file or glob')
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
    files = []
    cut = _scan_all(an, paths, include_rotated, files, timeout)
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


def _scan_all(an, paths, include_rotated, files, timeout):
    """List and scan the files into ``files`` (per-file stats) within ``timeout``; True when it cut the scan."""
    current = []  # the file being scanned, and the paths not reached yet
    try:
        with Deadline(timeout):
            families, missing = expand_paths(paths, include_rotated)
            for spec in missing:
                fs = _new_file_stats(spec)
                fs['status'] = 'missing'
                fs['error'] = 'no such file or no glob match: %s' % spec
                files.append(fs)
            current = [None] + [p for family in families for p in family]
            for family in families:
                nexts = dict(zip(family, family[1:]))
                for path in family:
                    fs = _new_file_stats(path)
                    files.append(fs)
                    current[:2] = [fs]
                    _scan_one(an, path, nexts.get(path), fs)
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
            fs = _new_file_stats(path)
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
            bound = _first_key_of(an, newer)
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


def auto_workers():
    """Worker processes for ``workers: 0``: the CPUs this process may run on, at most MAX_AUTO_WORKERS."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_AUTO_WORKERS))


def _first_key_of(an, path):
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
