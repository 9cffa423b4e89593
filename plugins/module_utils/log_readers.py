# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readers of the log scan: binary blocks of a file range (pread), streamed gzip, a read-ahead thread, and the
discovery of the files to scan (globs, rotated siblings oldest first). Pure Python, no Ansible imports."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os
import re
import sys
import threading
import zlib
from collections import namedtuple

_ROTATED_SUFFIX = re.compile(r'^(?:\.(\d+)|-(\d{8}(?:\d{2,6})?))(?:\.gz)?$')

# A rotated sibling's suffix ('.3', '-20240501.gz'): its number (app.log.3) or its date text (app.log-20240501).
RotatedName = namedtuple('RotatedName', 'number date suffix')


def range_blocks(fd, start, stop, size):
    """Blocks of the file descriptor from ``start`` to ``stop`` (None: to the end, as it is when read), by pread:
    workers that share the descriptor do not share a file position."""
    pos = start
    while stop is None or pos < stop:
        data = os.pread(fd, size if stop is None else min(size, stop - pos), pos)
        if not data:
            return
        pos += len(data)
        yield data


def gzip_blocks(f, size, warnings):
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


class ReadAhead(object):
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

def _rotated_name(suffix):
    m = _ROTATED_SUFFIX.match(suffix)
    if not m:
        return None
    if m.group(1) is not None:
        return RotatedName(int(m.group(1)), '', suffix)
    return RotatedName(0, m.group(2), suffix)


def expand_paths(paths, include_rotated=True):
    """Files to scan, oldest first within each rotation family, and the paths that matched nothing.

    Returns (families, missing): families is a list of lists of paths (a base log and its rotated siblings,
    oldest first, the base last). A path that exists is taken literally even when it holds glob characters
    (``app[1].log``). Each directory is listed once, so the work grows with the number of files, not its square."""
    families = []
    missing = []
    seen = set()
    listings = {}  # directory -> {base name: [RotatedName]}
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
                sibs = [sib for sib in rotated.get(name, ()) if path + sib.suffix not in seen]
                # dated siblings (app.log-20240101) first by date, then numbered ones (app.log.3 .. .1: older first)
                dated = sorted([sib for sib in sibs if sib.date], key=lambda sib: sib.date)
                numbered = sorted([sib for sib in sibs if not sib.date], key=lambda sib: -sib.number)
                family = [path + sib.suffix for sib in dated + numbered]
            family.append(path)
            for p in family:
                seen.add(p)
            families.append(family)
    return families, missing


def _rotated_names(folder):
    """{base name: [RotatedName]} of the rotated files in ``folder`` (app.log.1 -> app.log: RotatedName(1, '', '.1'))."""
    try:
        names = os.listdir(folder or '.')
    except OSError:
        return {}
    out = {}
    for name in names:
        for at in range(1, len(name)):
            if name[at] in '.-':
                rotated = _rotated_name(name[at:])
                if rotated is not None:
                    out.setdefault(name[:at], []).append(rotated)
    return out
