# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup checks of redfire.ops.host_audit, per source: PostgreSQL dumps, generic files, restic and borg repositories.

Each source gives ``backup_age:<name>`` and, for file sources, ``backup_size:<name>``; dumps also give
``backup_integrity:<name>``. A missing client (restic, borg, pg_restore) is ``unknown`` with ``reason:
client_missing``, never a failure of the module. No Ansible imports: unit tests pass a fake ``run``/``which``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import datetime
import glob
import gzip
import json
import os
import re
import shlex
import time
import zlib

from ansible_collections.redfire.ops.plugins.module_utils.check_result import result, status_of
from ansible_collections.redfire.ops.plugins.module_utils.host_audit_common import ConfigError, age_hours, command_error

BackupFile = collections.namedtuple('BackupFile', 'path size mtime')

SOURCE_TYPES = ('postgresql', 'files', 'restic', 'borg')
DEFAULT_PATTERNS = {'postgresql': ('*.dump', '*.sql.gz', '*.sql'), 'files': ('*',)}
DEFAULTS = {
    'warning_age_hours': 26.0,   # a nightly job that ran a little late is fine; one missed night is not
    'critical_age_hours': 50.0,
    'min_size_bytes': 1,
    'size_change_percent': 50.0,  # newest dump shrank or grew by more than this against the previous one
}
# The last line pg_dump writes in plain format: a plain dump without it was cut off.
PLAIN_TRAILER = b'-- PostgreSQL database dump complete'
SOURCE_KEYS = ('name', 'type', 'path', 'patterns', 'repository', 'password_file', 'passphrase_file') + tuple(DEFAULTS)


def normalize_sources(sources):
    """Validated copies of ``backup_sources`` with defaults filled in; ConfigError names the bad item."""
    out, names = [], set()
    for i, raw in enumerate(sources or []):
        where = 'backup_sources[%d]' % i
        if not isinstance(raw, dict):
            raise ConfigError('%s must be a dict with name and type, got %r' % (where, raw))
        unknown = sorted(set(raw) - set(SOURCE_KEYS))
        if unknown:
            raise ConfigError('%s: unknown key(s) %s; allowed: %s' % (where, ', '.join(unknown), ', '.join(SOURCE_KEYS)))
        spec = dict(DEFAULTS)
        spec.update(dict((k, v) for k, v in raw.items() if v is not None))
        kind = spec.get('type')
        if kind not in SOURCE_TYPES:
            raise ConfigError('%s.type must be one of %s, got %r' % (where, ', '.join(SOURCE_TYPES), kind))
        name = str(spec.get('name') or '')
        if not re.match(r'^[A-Za-z0-9_.:-]+$', name):
            raise ConfigError('%s.name must be a word (letters, digits, _ . : -), got %r' % (where, spec.get('name')))
        if name in names:
            raise ConfigError('%s.name %r is used twice: give each source its own name' % (where, name))
        names.add(name)
        if kind in ('postgresql', 'files'):
            if not spec.get('path'):
                raise ConfigError('%s (%s): path is required (the directory of the %s)'
                                  % (where, name, 'dumps' if kind == 'postgresql' else 'backup files'))
            patterns = spec.get('patterns') or DEFAULT_PATTERNS[kind]
            if isinstance(patterns, str):
                patterns = [patterns]
            if not isinstance(patterns, (list, tuple)) or not all(isinstance(p, str) and p for p in patterns):
                raise ConfigError('%s.patterns must be a list of glob patterns such as "*.dump", got %r' % (where, patterns))
            spec['patterns'] = list(patterns)
        elif not spec.get('repository'):
            raise ConfigError('%s (%s): repository is required for a %s source' % (where, name, kind))
        for key in DEFAULTS:
            try:
                spec[key] = float(spec[key])
                if spec[key] < 0:
                    raise ValueError(spec[key])
            except (TypeError, ValueError):
                raise ConfigError('%s.%s must be a number >= 0, got %r' % (where, key, raw.get(key)))
        if spec['critical_age_hours'] < spec['warning_age_hours']:
            raise ConfigError('%s: critical_age_hours (%s) must not be below warning_age_hours (%s)'
                              % (where, spec['critical_age_hours'], spec['warning_age_hours']))
        out.append(spec)
    return out


def backup_files(spec):
    """Regular files matching the source's patterns, newest first."""
    files = {}
    for pattern in spec['patterns']:
        for path in glob.glob(os.path.join(spec['path'], pattern)):
            try:
                info = os.stat(path)
            except OSError:
                continue
            if os.path.isfile(path):
                files[path] = BackupFile(path, info.st_size, info.st_mtime)
    return sorted(files.values(), key=lambda f: (f.mtime, f.path), reverse=True)


def age_result(spec, newest_mtime, now, what):
    name = 'backup_age:%s' % spec['name']
    warn, crit = spec['warning_age_hours'], spec['critical_age_hours']
    age = age_hours(now, newest_mtime)
    status = status_of(age, warn, crit)
    limit = {'critical': ' > critical %sh' % crit, 'warning': ' > warning %sh' % warn}.get(status, '')
    return result(name, 'backup_age', status, age, 'h', warn, crit, 'newest %s %sh old%s' % (what, age, limit),
                  reason='ok' if status == 'ok' else 'backup_too_old')


def size_result(spec, files):
    newest = files[0]
    name = 'backup_size:%s' % spec['name']
    details = {'path': newest.path, 'previous_size': None, 'change_percent': None}
    if newest.size < spec['min_size_bytes']:
        return result(name, 'backup_size', 'critical', newest.size, 'B', None, spec['min_size_bytes'],
                      '%s is %d bytes < minimum %d' % (newest.path, newest.size, spec['min_size_bytes']),
                      reason='backup_too_small', details=details)
    if len(files) > 1 and files[1].size > 0:
        change = round((newest.size - files[1].size) * 100.0 / files[1].size, 1)
        details.update(previous_size=files[1].size, change_percent=change)
        if abs(change) > spec['size_change_percent']:
            return result(name, 'backup_size', 'warning', newest.size, 'B', spec['size_change_percent'], None,
                          '%s is %d bytes, %+.1f%% against the previous %s (%d bytes) > %s%%'
                          % (newest.path, newest.size, change, files[1].path, files[1].size, spec['size_change_percent']),
                          reason='backup_size_changed', details=details)
        what = ', %+.1f%% against the previous' % change
    else:
        what = ', no previous backup to compare'
    return result(name, 'backup_size', 'ok', newest.size, 'B', None, spec['min_size_bytes'],
                  '%s is %d bytes%s' % (newest.path, newest.size, what), reason='ok', details=details)


def dump_format(path):
    with open(path, 'rb') as fh:
        head = fh.read(5)
    if head == b'PGDMP':
        return 'custom'
    if head[:2] == b'\x1f\x8b':
        return 'gzip'
    return 'plain'


def _tail_of_gzip(path, keep=4096):
    """Decompress the whole stream (a CRC or length error raises) and return its last bytes."""
    tail = b''
    with gzip.open(path, 'rb') as fh:
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                return tail
            tail = (tail + chunk)[-keep:]


def _tail_of_file(path, keep=4096):
    with open(path, 'rb') as fh:
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - keep))
        return fh.read()


def integrity_result(spec, newest, run, which, timeout):
    name = 'backup_integrity:%s' % spec['name']
    try:
        fmt = dump_format(newest.path)
    except (IOError, OSError) as exc:
        return result(name, 'backup_integrity', 'unknown', message='cannot read %s: %s' % (newest.path, exc),
                      reason='backup_unreadable')
    details = {'path': newest.path, 'format': fmt}
    if fmt == 'custom':
        pg_restore = which('pg_restore')
        if pg_restore is None:
            return result(name, 'backup_integrity', 'unknown',
                          message='pg_restore not found: cannot test %s (install postgresql-client)' % newest.path,
                          reason='client_missing', details=details)
        out = run([pg_restore, '--list', newest.path], timeout)
        if out.rc != 0:
            return result(name, 'backup_integrity', 'critical', message='pg_restore --list %s failed: %s'
                          % (newest.path, command_error(out)), reason='backup_corrupt', details=details)
        entries = len([ln for ln in out.stdout.splitlines() if ln and not ln.startswith(';')])
        details['entries'] = entries
        # The table of contents sits at the start of the archive: --list reads a dump cut off in its data as fine.
        # Restoring into a script on /dev/null reads every data block as well.
        out = run([pg_restore, '--file=/dev/null', newest.path], timeout)
        if out.rc != 0:
            return result(name, 'backup_integrity', 'critical', entries, '', None, None,
                          'pg_restore lists %d entries of %s but cannot read its data: %s'
                          % (entries, newest.path, command_error(out)), reason='backup_corrupt', details=details)
        return result(name, 'backup_integrity', 'ok', entries, '', None, None,
                      'pg_restore reads all %d entries of %s' % (entries, newest.path), reason='ok', details=details)
    try:
        tail = _tail_of_gzip(newest.path) if fmt == 'gzip' else _tail_of_file(newest.path)
    except (IOError, OSError, EOFError, zlib.error) as exc:
        return result(name, 'backup_integrity', 'critical', message='%s is not a valid gzip stream: %s' % (newest.path, exc),
                      reason='backup_corrupt', details=details)
    if PLAIN_TRAILER not in tail:
        return result(name, 'backup_integrity', 'critical',
                      message='%s does not end with pg_dump\'s "dump complete" line: the dump was cut off' % newest.path,
                      reason='backup_truncated', details=details)
    return result(name, 'backup_integrity', 'ok', message='%s%s ends with pg_dump\'s "dump complete" line'
                  % (newest.path, ' decompresses and' if fmt == 'gzip' else ''), reason='ok', details=details)


def check_file_source(spec, run, which, now, timeout):
    files = backup_files(spec)
    what = 'dump' if spec['type'] == 'postgresql' else 'backup file'
    if not files:
        return [result('backup_age:%s' % spec['name'], 'backup_age', 'critical', None, 'h', spec['warning_age_hours'],
                       spec['critical_age_hours'], 'no %s matching %s in %s' % (what, ', '.join(spec['patterns']), spec['path']),
                       reason='no_backup', details={'path': spec['path']})]
    results = [age_result(spec, files[0].mtime, now, '%s %s' % (what, files[0].path)), size_result(spec, files)]
    if spec['type'] == 'postgresql':
        results.append(integrity_result(spec, files[0], run, which, timeout))
    return results


def parse_timestamp(text):
    """Seconds since the epoch of an RFC 3339 time (restic: nanoseconds, offset) or a naive local time (borg)."""
    match = re.match(r'^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$', text.strip())
    if not match:
        raise ValueError('unrecognised time %r' % text)
    moment = datetime.datetime.strptime(match.group(1), '%Y-%m-%dT%H:%M:%S')
    fraction = float('0.' + match.group(2)) if match.group(2) else 0.0
    zone = match.group(3)
    if zone is None:  # borg 1.x writes local time without an offset
        return time.mktime(moment.timetuple()) + fraction
    if zone == 'Z':
        offset = 0
    else:
        sign = -1 if zone[0] == '-' else 1
        digits = zone[1:].replace(':', '')
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    epoch = datetime.datetime(1970, 1, 1)
    return (moment - epoch).total_seconds() - offset + fraction


def check_repository(spec, run, which, now, timeout):
    """restic or borg: the age of the latest snapshot/archive."""
    kind = spec['type']
    name = 'backup_age:%s' % spec['name']
    client = which(kind)
    if client is None:
        return [result(name, 'backup_age', 'unknown', None, 'h', spec['warning_age_hours'], spec['critical_age_hours'],
                       '%s client not installed: cannot read repository %s' % (kind, spec['repository']),
                       reason='client_missing')]
    env = {}
    if kind == 'restic':
        env['RESTIC_REPOSITORY'] = spec['repository']
        if spec.get('password_file'):
            env['RESTIC_PASSWORD_FILE'] = spec['password_file']
        argv = [client, 'snapshots', '--json', '--no-lock']
    else:
        if spec.get('passphrase_file'):
            env['BORG_PASSCOMMAND'] = 'cat %s' % shlex.quote(spec['passphrase_file'])
        env['BORG_RELOCATED_REPO_ACCESS_IS_OK'] = 'yes'
        argv = [client, 'list', '--json', '--last', '1', spec['repository']]
    out = run(argv, timeout, env)
    if out.rc != 0:
        return [result(name, 'backup_age', 'unknown', None, 'h', spec['warning_age_hours'], spec['critical_age_hours'],
                       '%s cannot read repository %s: %s' % (kind, spec['repository'], command_error(out)),
                       reason='repository_unreadable')]
    try:
        data = json.loads(out.stdout)
        items = data if kind == 'restic' else data.get('archives', [])
        times = [parse_timestamp(item.get('time') or item.get('start')) for item in items]
    except (ValueError, AttributeError, TypeError) as exc:
        return [result(name, 'backup_age', 'unknown', None, 'h', spec['warning_age_hours'], spec['critical_age_hours'],
                       'cannot parse %s output: %s' % (kind, exc), reason='unparsable_output')]
    if not times:
        return [result(name, 'backup_age', 'critical', None, 'h', spec['warning_age_hours'], spec['critical_age_hours'],
                       '%s repository %s has no %s' % (kind, spec['repository'], 'snapshot' if kind == 'restic' else 'archive'),
                       reason='no_backup')]
    return [age_result(spec, max(times), now, '%s %s of %s' % (kind, 'snapshot' if kind == 'restic' else 'archive',
                                                               spec['repository']))]


def check_backups(sources, run, which, now, timeout):
    results = []
    for spec in sources:
        if spec['type'] in ('postgresql', 'files'):
            results.extend(check_file_source(spec, run, which, now, timeout))
        else:
            results.extend(check_repository(spec, run, which, now, timeout))
    return results
