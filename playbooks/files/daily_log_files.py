# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""List the log files of the daily check on a managed host, without a module run.

The daily check runs this with the host's python3 through ansible.builtin.raw (playbooks/tasks/host_health.yml):
as a module, ansible.builtin.find cost about 0.15 s of CPU per host on the host alone (AnsiballZ compiling
ansible.module_utils from a zip), more than the listing itself by far.

Argument: JSON {"paths": [directories], "patterns": [shell globs on the file name]}. Prints JSON in the shape of
ansible.builtin.find's result as the daily check uses it: {"files": [{"path", "size"}], "skipped_paths":
{directory: reason}} -- regular files only (no symlinks, no hidden files), no recursion, a directory that is
missing or unreadable in skipped_paths. Read-only.
"""
from __future__ import absolute_import, division, print_function

import fnmatch
import json
import os
import stat
import sys

__metaclass__ = type


def list_files(paths, patterns):
    files = []
    skipped = {}
    for directory in paths:
        try:
            names = sorted(os.listdir(directory))
        except OSError as exc:
            skipped[directory] = '%s was skipped: %s' % (directory, exc.strerror or exc)
            continue
        for name in names:
            if name.startswith('.') or not any(fnmatch.fnmatchcase(name, p) for p in patterns):
                continue
            path = os.path.join(directory, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue  # removed meanwhile
            if stat.S_ISREG(st.st_mode):
                files.append({'path': path, 'size': st.st_size, 'mtime': st.st_mtime})
    return {'files': files, 'skipped_paths': skipped, 'matched': len(files)}


def main(argv):
    try:
        spec = json.loads(argv[1])
        paths, patterns = spec['paths'], spec['patterns']
        if not isinstance(paths, list) or not isinstance(patterns, list):
            raise ValueError('paths and patterns must be lists')
    except (IndexError, KeyError, TypeError, ValueError) as exc:
        print(json.dumps({'failed': True, 'msg': 'daily_log_files.py: bad argument: %s' % exc}))
        return 2
    print(json.dumps(list_files(paths, patterns)))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
