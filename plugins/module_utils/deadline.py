# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deadlines that hold whatever the work is, user regular expressions included; regular files only.

A user pattern with catastrophic backtracking (``(a+)+$``) keeps CPython's matcher busy for minutes or forever,
holding the GIL, so no thread can time it out. The matcher does check for signals, though: a ``SIGALRM`` timer
whose handler raises stops it at the deadline. So the work that runs user patterns runs in the main thread
inside a :class:`Deadline`; elsewhere (another thread, no ``SIGALRM``) the deadline is only checked between
steps, by :meth:`Deadline.check`.

Pure Python, no Ansible imports.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import signal
import stat
import threading
import time


class DeadlineExceeded(Exception):
    """The deadline of a :class:`Deadline` passed."""


class Deadline(object):
    """``with Deadline(seconds):`` raises DeadlineExceeded in this thread once ``seconds`` have passed.

    Catch the exception around the ``with`` (it may be raised while the block ends). ``None`` means no limit.
    Deadlines nest: an inner one that ends sooner takes the timer and gives the outer one back when it ends; one
    that would end later leaves the outer timer alone (the outer deadline then stops both)."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.expired = False
        self._end = None
        self._armed = False
        self._previous = None
        self._outer_left = 0.0
        self._armed_at = 0.0

    def __enter__(self):
        if self.seconds is None:
            return self
        seconds = max(float(self.seconds), 0.001)
        self._end = time.monotonic() + seconds
        if hasattr(signal, 'setitimer') and threading.current_thread() is threading.main_thread():
            outer = signal.getitimer(signal.ITIMER_REAL)[0]
            if outer == 0 or seconds < outer:
                self._outer_left = outer
                self._previous = signal.signal(signal.SIGALRM, self._fire)
                self._armed = True
                self._armed_at = time.monotonic()
                signal.setitimer(signal.ITIMER_REAL, seconds)
        return self

    def _fire(self, _signum, _frame):
        self.expired = True
        raise DeadlineExceeded()

    def __exit__(self, *exc):
        if self._armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous)
            self._armed = False
            if self._outer_left:  # give the outer deadline its timer back (if it passed meanwhile, it fires now)
                left = self._outer_left - (time.monotonic() - self._armed_at)
                signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))
        return False

    def remaining(self):
        """Seconds left (None without a limit)."""
        return None if self._end is None else max(0.0, self._end - time.monotonic())

    def check(self):
        """Raise DeadlineExceeded when the deadline has passed (for work outside the main thread)."""
        if self._end is not None and time.monotonic() >= self._end:
            self.expired = True
            raise DeadlineExceeded()


def bounded_search(regex, text, seconds):
    """``regex.search(text)`` (a compiled pattern), stopped after ``seconds``: DeadlineExceeded."""
    with Deadline(seconds):
        return regex.search(text)


_KINDS = ((stat.S_ISDIR, 'a directory'), (stat.S_ISFIFO, 'a FIFO (named pipe)'),
          (stat.S_ISCHR, 'a character device'), (stat.S_ISBLK, 'a block device'), (stat.S_ISSOCK, 'a socket'))


def file_kind(mode):
    """'a FIFO (named pipe)', 'a character device', ... for a stat mode; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, name in _KINDS:
        if test(mode):
            return name
    return 'not a regular file'


class NotRegularFile(OSError):
    """The path is not a regular file (reading a FIFO or a device would block or never end)."""

    def __init__(self, path, kind):
        what = kind
        if os.path.islink(path):
            what = 'a symlink to %s, %s' % (os.path.realpath(path), kind)
        super(NotRegularFile, self).__init__('%s is %s; only regular files are read' % (path, what))
        self.path = path
        self.kind = kind
        self.strerror = str(self)


def open_regular(path):
    """An unbuffered binary file object for ``path`` when it is a regular file (symlinks followed).

    Anything else raises NotRegularFile before it is opened: opening a FIFO blocks until a writer comes, and
    /dev/zero never ends. The check is repeated on the open descriptor (opened non-blocking), so a file swapped
    for a FIFO in between cannot block either."""
    kind = file_kind(os.stat(path).st_mode)
    if kind is not None:
        raise NotRegularFile(path, kind)
    fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_NOCTTY', 0))
    try:
        kind = file_kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise NotRegularFile(path, kind)
        return os.fdopen(fd, 'rb', buffering=0)
    except BaseException:
        os.close(fd)
        raise
