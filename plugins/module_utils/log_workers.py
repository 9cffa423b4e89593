# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Worker processes of the log scan: shares of a large file scanned by forked children (through
module_utils/child_process.py, shared with health_check), their results back through a pipe. Pure Python."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import pickle
import signal
from collections import namedtuple

from ansible_collections.redfire.ops.plugins.module_utils.child_process import start_child

MAX_AUTO_WORKERS = 4

# A share of the work: a forked child (pid and the read end of its pipe) or, when no fork was possible, the
# arguments to run it with here (pid None).
Child = namedtuple('Child', 'pid pipe args')
# A child's OSError as it crosses the pipe (errno and file name kept).
ChildOSError = namedtuple('ChildOSError', 'errno strerror filename')


def in_parallel(func, args_list):
    """[func(*args) for args in args_list]: the first in this process, the others in forked children that send
    back their result pickled through a pipe. A fork that fails runs its share here; a child's exception is raised
    here (OSError keeps its errno, so a file error is reported as one)."""
    children = []
    try:
        for args in args_list[1:]:
            try:
                pid, rfd = start_child(func, args, _child_error)
            except OSError:  # no process to spare: this share runs here, in turn
                children.append(Child(None, None, args))
                continue
            children.append(Child(pid, rfd, None))
        results = [func(*args_list[0])]
        while children:
            child = children.pop(0)
            results.append(func(*child.args) if child.pid is None else _child_result(child.pid, child.pipe))
        return results
    finally:
        for child in children:  # only after an exception here (the deadline): stop the children
            if child.pid is not None:
                os.close(child.pipe)
                _stop_child(child.pid)


def _child_error(exc):
    """What a worker sends back for its exception (an OSError keeps its errno and file name)."""
    if isinstance(exc, OSError):
        return ChildOSError(exc.errno, exc.strerror, exc.filename)
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


def auto_workers():
    """Worker processes for ``workers: 0``: the CPUs this process may run on, at most MAX_AUTO_WORKERS."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_AUTO_WORKERS))
