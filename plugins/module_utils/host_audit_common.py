# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the host audit cores share: running a command (LANG=C, stderr read, bounded), finding a program, bad input.

No Ansible imports: unit tests hand the cores a fake ``run`` and a fake ``which``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import os
import subprocess

# rc is None when the command could not start or timed out; stderr then says why.
CommandOutput = collections.namedtuple('CommandOutput', 'rc stdout stderr')

SEARCH_PATH = ('/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin')


class ConfigError(Exception):
    """Bad input; ``str(exc)`` names the option and says what to change."""


def run_command(argv, timeout, env=None):
    """Run ``argv`` in the C locale (stable output to parse), never through a shell, bounded by ``timeout``."""
    full_env = dict(os.environ, LANG='C', LC_ALL='C')
    full_env.update(env or {})
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              env=full_env, timeout=timeout, universal_newlines=True, check=False)
    except subprocess.TimeoutExpired:
        return CommandOutput(None, '', '%s timed out after %ss' % (argv[0], timeout))
    except OSError as exc:
        return CommandOutput(None, '', '%s: %s' % (argv[0], exc))
    return CommandOutput(proc.returncode, proc.stdout, proc.stderr)


def which(name):
    """Absolute path of program ``name`` (PATH plus the sbin directories a non-login shell may lack), or None."""
    if os.path.isabs(name):
        return name if os.access(name, os.X_OK) else None
    dirs = [d for d in os.environ.get('PATH', '').split(os.pathsep) if d] + list(SEARCH_PATH)
    for directory in dirs:
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def first_line(text, default=''):
    """First non-empty line of ``text`` (for messages), at most 300 characters."""
    for line in (text or '').splitlines():
        if line.strip():
            return line.strip()[:300]
    return default


def command_error(output):
    """Why a command failed, in one line."""
    return first_line(output.stderr) or first_line(output.stdout) or 'exit %s' % output.rc


def age_hours(now, mtime):
    return round(max(0.0, now - mtime) / 3600.0, 2)
