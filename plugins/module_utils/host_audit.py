# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Core of redfire.ops.host_audit: validates the options and runs the selected security and backup checks.

No Ansible imports: ``run_audit`` takes the command runner, program lookup, clock and psutil as arguments, so unit
tests run every check against fakes. The checks themselves live in host_audit_security and host_audit_backup.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.redfire.ops.plugins.module_utils import host_audit_backup as backup
from ansible_collections.redfire.ops.plugins.module_utils import host_audit_security as security
from ansible_collections.redfire.ops.plugins.module_utils.check_result import result, worst
from ansible_collections.redfire.ops.plugins.module_utils.host_audit_common import ConfigError, run_command, which

CHECKS = ('sshd', 'security_updates', 'accounts', 'listeners', 'world_writable', 'backups')
DEFAULT_TIMEOUT = 60.0
DEFAULT_PACKAGE_LISTS_MAX_AGE_HOURS = 48.0
DEFAULT_WORLD_WRITABLE_MAX_ENTRIES = 200000
SSHD_POLICY_KEYS = ('permit_root_login', 'password_authentication', 'ciphers', 'macs', 'kex_algorithms', 'sshd_path')


def _number(params, key, minimum=0.0):
    value = params.get(key)
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ConfigError('%s must be a number, got %r' % (key, value))
    if value < minimum or value != value:
        raise ConfigError('%s must be a number >= %s, got %r' % (key, minimum, params.get(key)))
    return value


def normalize(params):
    """The module's parameters as the checks' configuration; ConfigError names the option and what to change."""
    cfg = {
        'timeout': _number(params, 'timeout', 1.0) or DEFAULT_TIMEOUT,
        'refresh_package_lists': bool(params.get('refresh_package_lists')),
        'package_lists_max_age_hours': _number(params, 'package_lists_max_age_hours')
        if params.get('package_lists_max_age_hours') is not None else DEFAULT_PACKAGE_LISTS_MAX_AGE_HOURS,
        'security_updates_warning': _number(params, 'security_updates_warning'),
        'security_updates_critical': _number(params, 'security_updates_critical'),
        'listeners_include_loopback': bool(params.get('listeners_include_loopback')),
        'world_writable_paths': list(params.get('world_writable_paths') or []),
        'world_writable_max_entries': int(_number(params, 'world_writable_max_entries', 1)
                                          or DEFAULT_WORLD_WRITABLE_MAX_ENTRIES),
    }
    if cfg['security_updates_warning'] is None:
        cfg['security_updates_warning'] = 0.0
    if cfg['security_updates_critical'] is not None and cfg['security_updates_critical'] < cfg['security_updates_warning']:
        raise ConfigError('security_updates_critical (%s) must not be below security_updates_warning (%s)'
                          % (cfg['security_updates_critical'], cfg['security_updates_warning']))
    policy = dict(params.get('sshd_policy') or {})
    unknown = sorted(set(policy) - set(SSHD_POLICY_KEYS))
    if unknown:
        raise ConfigError('sshd_policy: unknown key(s) %s; allowed: %s' % (', '.join(unknown), ', '.join(SSHD_POLICY_KEYS)))
    for key in ('permit_root_login', 'ciphers', 'macs', 'kex_algorithms'):
        value = policy.get(key)
        if value is not None and (not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value)):
            raise ConfigError('sshd_policy.%s must be a list of words such as [no, prohibit-password], got %r' % (key, value))
    if policy.get('password_authentication') is not None and not isinstance(policy['password_authentication'], bool):
        raise ConfigError('sshd_policy.password_authentication must be true or false (or null: not checked), got %r'
                          % (policy['password_authentication'],))
    if 'password_authentication' not in policy:
        policy['password_authentication'] = False
    cfg['sshd_policy'] = policy
    allowed = params.get('listeners_allowed')
    cfg['listeners_allowed'] = None if allowed is None else security.parse_allow_list(allowed)
    cfg['backup_sources'] = backup.normalize_sources(params.get('backup_sources'))

    selected = params.get('checks')
    if selected is None:
        selected = list(CHECKS)
    bad = [c for c in selected if c not in CHECKS]
    if bad:
        raise ConfigError('checks: %s not known; choose from %s' % (', '.join(bad), ', '.join(CHECKS)))
    cfg['checks'] = [c for c in CHECKS if c in selected]
    cfg['explicit_checks'] = params.get('checks') is not None
    return cfg


def run_audit(cfg, run=run_command, find=which, now=None, check_mode=False, psutil=None):
    """{checks: [check results], status: worst of them, skipped: [{name, reason}]}."""
    now = time.time() if now is None else now
    timeout = cfg['timeout']
    checks, skipped = [], []
    for check in cfg['checks']:
        if check == 'sshd':
            checks.extend(security.check_sshd(cfg['sshd_policy'], run, find, timeout))
        elif check == 'security_updates':
            checks.extend(security.check_security_updates(cfg, run, find, now, check_mode))
        elif check == 'accounts':
            checks.extend(security.check_accounts())
        elif check == 'listeners':
            if cfg['listeners_allowed'] is None:
                skipped.append({'name': 'listeners', 'reason': 'no listeners_allowed given'})
                continue
            listeners, error = security.gather_listeners(run, find, timeout, psutil)
            if error:
                checks.append(result('listeners', 'listeners', 'unknown', message=error, reason='listeners_unreadable'))
            else:
                checks.extend(security.check_listeners(listeners, cfg['listeners_allowed'],
                                                       cfg['listeners_include_loopback']))
        elif check == 'world_writable':
            if not cfg['world_writable_paths']:
                skipped.append({'name': 'world_writable', 'reason': 'no world_writable_paths given'})
                continue
            checks.extend(security.check_world_writable(cfg['world_writable_paths'], cfg['world_writable_max_entries']))
        elif check == 'backups':
            if not cfg['backup_sources']:
                skipped.append({'name': 'backups', 'reason': 'no backup_sources given'})
                continue
            checks.extend(backup.check_backups(cfg['backup_sources'], run, find, now, timeout))
    status = worst(c['status'] for c in checks)
    problems = ['%s %s: %s' % (c['name'], c['status'], c['message']) for c in checks if c['status'] != 'ok']
    summary = 'HOST AUDIT %s - %d check(s)%s' % (status.upper(), len(checks), ('; ' + '; '.join(problems)) if problems else '')
    return {'checks': checks, 'status': status, 'skipped': skipped, 'summary': summary}
