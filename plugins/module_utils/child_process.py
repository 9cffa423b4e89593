# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One function in a forked child process, its result sent back pickled through a pipe.

Used where a thread cannot be stopped: log_analysis's worker scans and health_check's log scan (user patterns
hold the GIL while they backtrack, a read can hang on a dead mount; a child process can be killed either way).
Pure Python, no Ansible imports.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import pickle


def start_child(func, args, error_value):
    """Fork; the child sends ``(True, func(*args))``, or ``(False, error_value(exc))`` when func raises, pickled
    through a pipe, and leaves without running the parent's exit handlers. Returns ``(pid, read end)`` to the
    parent; raises OSError (no pipe or process to spare) with nothing left open."""
    rfd, wfd = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(rfd)
        os.close(wfd)
        raise
    if pid == 0:
        code = 0
        try:
            os.close(rfd)
            try:
                out = pickle.dumps((True, func(*args)), 2)
            except BaseException as exc:  # pylint: disable=broad-except
                out = pickle.dumps((False, error_value(exc)), 2)
            view = memoryview(out)
            while view:
                view = view[os.write(wfd, view):]
        except BaseException:  # pylint: disable=broad-except
            code = 1
        finally:
            os._exit(code)
    os.close(wfd)
    return pid, rfd
