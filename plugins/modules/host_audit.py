#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: host_audit
short_description: Audit a host's security settings and backups (the periodic checklist's host checks)
version_added: 0.1.0
description:
  - Runs the periodic checklist's host checks and reports each as a check result of the collection's one result
    model (the same keys as M(redfire.ops.health_check), plus a machine-readable RV(checks[].reason) and
    RV(checks[].details)); the overall RV(status) is the worst of them (C(ok) < C(warning) < C(unknown) < C(critical)).
  - C(sshd) reads the SSH server's effective configuration with C(sshd -T), so C(Include) files and defaults count,
    and holds C(PermitRootLogin), C(PasswordAuthentication) and the ciphers, MACs and key exchange algorithms
    against O(sshd_policy). The message names the file that sets a violating C(PermitRootLogin).
  - C(security_updates) counts pending updates from the package manager's security source (APT simulates a
    C(dist-upgrade) and keeps the packages whose candidate comes from a C(*-security) suite; dnf uses
    C(updateinfo --security)) and reports the age of the package lists it was computed from (C(package_lists),
    a warning above O(package_lists_max_age_hours)). The lists are refreshed only with O(refresh_package_lists).
  - C(accounts) reports accounts with UID 0 besides root and accounts with an empty password (C(/etc/passwd),
    C(/etc/shadow)).
  - C(listeners) compares listening TCP and UDP sockets, with their owning process (psutil, or C(ss)), against
    O(listeners_allowed). C(world_writable) lists world-writable files, and directories without the sticky bit,
    under O(world_writable_paths).
  - C(backups) checks each of O(backup_sources) - PostgreSQL dumps (newest age and size against thresholds, size
    change against the previous dump, integrity with C(pg_restore --list) and a full read of the data for custom-format dumps, a full
    decompression and pg_dump's closing line for C(.sql.gz) and C(.sql)), generic backup files (age and size), and
    restic or borg repositories (latest snapshot or archive age). A client that is not installed gives C(unknown)
    with C(reason=client_missing), never a failed task.
  - Checks that need configuration (C(listeners), C(world_writable), C(backups)) without it are listed in
    RV(skipped) with the reason, never failed.
  - Commands run in the C locale and their error output is reported. An info module, C(changed) is always
    V(false); in check mode the package lists are not refreshed.
author:
  - RedFire operations engineering (@redfire)
options:
  checks:
    description: The checks to run; all by default.
    type: list
    elements: str
    choices: [sshd, security_updates, accounts, listeners, world_writable, backups]
  sshd_policy:
    description: What the SSH server's effective configuration must satisfy.
    type: dict
    suboptions:
      permit_root_login:
        description: Allowed values of C(PermitRootLogin); anything else is C(critical). C(without-password) and
          C(prohibit-password) are the same.
        type: list
        elements: str
        default: ["no", prohibit-password]
      password_authentication:
        description: The required C(PasswordAuthentication); a mismatch is a C(warning).
        type: bool
        default: false
      ciphers:
        description: Allowed ciphers; any other effective cipher is a C(warning). Without it, known-weak ciphers
          (CBC, 3DES, arcfour, blowfish) are.
        type: list
        elements: str
      macs:
        description: Allowed MACs; without it, known-weak MACs (MD5, RIPEMD-160, truncated SHA-1) are a C(warning).
        type: list
        elements: str
      kex_algorithms:
        description: Allowed key exchange algorithms; without it, the SHA-1 Diffie-Hellman groups are a C(warning).
        type: list
        elements: str
      sshd_path:
        description: The C(sshd) program (name or absolute path).
        type: str
        default: sshd
  refresh_package_lists:
    description: Refresh the package lists (C(apt-get update)) before counting security updates. Not in check mode.
    type: bool
    default: false
  package_lists_max_age_hours:
    description: Package lists older than this are a C(warning) (the update count would be too low).
    type: float
    default: 48
  security_updates_warning:
    description: More pending security updates than this is a C(warning).
    type: float
    default: 0
  security_updates_critical:
    description: More pending security updates than this is C(critical); unset, never critical.
    type: float
  listeners_allowed:
    description:
      - Listening sockets that are expected. Each item is a port (V(22)), a protocol and port (V(tcp/22)), an
        address and port (V(127.0.0.1:5432)) or a dict with C(port) and any of C(proto) (tcp, udp), C(address),
        C(process) (the owning process name). Any other listener is C(critical).
      - Without it, the C(listeners) check is skipped.
    type: list
    elements: raw
  listeners_include_loopback:
    description: Hold listeners on loopback addresses against O(listeners_allowed) too; by default they are ignored.
    type: bool
    default: false
  world_writable_paths:
    description: Directories to scan for world-writable entries (symlinks not followed, one file system each).
    type: list
    elements: path
  world_writable_max_entries:
    description: Entries scanned per directory at most; a scan cut short without a finding is C(unknown).
    type: int
    default: 200000
  backup_sources:
    description: Backup sources to check, each a dict.
    type: list
    elements: dict
    suboptions:
      name:
        description: The source's name, in the check names (C(backup_age:NAME)).
        type: str
        required: true
      type:
        description: What the source is.
        type: str
        required: true
        choices: [postgresql, files, restic, borg]
      path:
        description: Directory of the dumps or backup files (C(postgresql), C(files)).
        type: path
      patterns:
        description: Glob patterns of backup files in O(backup_sources[].path).
          Default C(*.dump), C(*.sql.gz), C(*.sql) for C(postgresql) and C(*) for C(files).
        type: list
        elements: str
      repository:
        description: The restic or borg repository.
        type: str
      password_file:
        description: File holding the restic repository password (C(RESTIC_PASSWORD_FILE)).
        type: path
      passphrase_file:
        description: File holding the borg passphrase (read through C(BORG_PASSCOMMAND)).
        type: path
      warning_age_hours:
        description: Newest backup older than this is a C(warning).
        type: float
        default: 26
      critical_age_hours:
        description: Newest backup older than this is C(critical).
        type: float
        default: 50
      min_size_bytes:
        description: Newest backup smaller than this is C(critical).
        type: float
        default: 1
      size_change_percent:
        description: Newest backup's size changed by more than this percentage against the previous one is a C(warning).
        type: float
        default: 50
  timeout:
    description: Seconds each command (sshd, apt-get, pg_restore, restic, borg) may take; a refresh gets at least 300.
    type: float
    default: 60
extends_documentation_fragment:
  - redfire.ops.attributes
  - redfire.ops.attributes.INFO_MODULE
notes:
  - Run it as root (C(become)); C(sshd -T), C(/etc/shadow) and the owners of other users' sockets need it.
  - Tested on Debian 12 (systemd containers) with OpenSSH 9.2, APT and PostgreSQL 15 clients, and on Python 3.8
    (ansible-core 2.16) and 3.9 (2.21) by the compat tests; the dnf, restic and borg
    paths are tested with fake programs only.
seealso:
  - module: redfire.ops.health_check
'''

EXAMPLES = r'''
- name: Audit security settings and backups
  redfire.ops.host_audit:
    sshd_policy:
      permit_root_login: ["no"]
      password_authentication: false
    listeners_allowed: [22, "tcp/9100", {port: 5432, address: 127.0.0.1, process: postgres}]
    world_writable_paths: [/etc, /usr/local/bin]
    backup_sources:
      - name: orders_db
        type: postgresql
        path: /var/backups/postgresql
        warning_age_hours: 26
      - name: offsite
        type: restic
        repository: sftp:backup@vault:/srv/restic
        password_file: /root/.restic-password
  become: true
  register: audit

- name: Fail on a root login that the policy forbids (decide on reason, never on the message)
  ansible.builtin.assert:
    that: audit.checks | selectattr('reason', 'equalto', 'root_login_allowed') | list | length == 0

- name: Count security updates against fresh package lists
  redfire.ops.host_audit:
    checks: [security_updates]
    refresh_package_lists: true
  become: true
'''

RETURN = r'''
status:
  description: Worst status of all checks (C(ok) < C(warning) < C(unknown) < C(critical)); C(ok) without checks.
  returned: always
  type: str
  sample: critical
checks:
  description: One result per check, in the collection's result model (module_utils/check_result).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: 'C(sshd:permit_root_login), C(sshd:password_authentication), C(sshd:ciphers), C(sshd:macs),
        C(sshd:kex_algorithms) (or C(sshd) when it cannot be read), C(package_lists), C(security_updates),
        C(accounts:uid0), C(accounts:empty_password), C(listeners), C(world_writable:PATH), C(backup_age:NAME),
        C(backup_size:NAME), C(backup_integrity:NAME).'
      type: str
      returned: always
    kind:
      description: The family of the check (C(sshd), C(package_lists), C(security_updates), C(accounts), C(listeners),
        C(world_writable), C(backup_age), C(backup_size), C(backup_integrity)).
      type: str
      returned: always
    status:
      description: C(ok), C(warning), C(critical) or C(unknown).
      type: str
      returned: always
    value:
      description: The measured value (hours, bytes, a count, the effective setting) or null.
      type: raw
      returned: always
    unit:
      description: C(h), C(B) or empty.
      type: str
      returned: always
    warning:
      description: Warning threshold or null.
      type: float
      returned: always
    critical:
      description: Critical threshold or null.
      type: float
      returned: always
    message:
      description: What was found, for people; never parse it.
      type: str
      returned: always
    reason:
      description:
        - Machine-readable reason of the status. C(ok) when the check passed; otherwise one of C(sshd_missing),
          C(sshd_config_unreadable), C(root_login_allowed), C(password_authentication_enabled),
          C(password_authentication_disabled), C(disallowed_algorithms), C(no_package_lists), C(package_lists_stale),
          C(no_security_source), C(simulation_failed), C(no_package_manager), C(pending_security_updates),
          C(passwd_unreadable), C(shadow_unreadable), C(extra_uid0_accounts), C(empty_password),
          C(listeners_unreadable), C(unexpected_listener), C(path_missing), C(world_writable_files),
          C(scan_limit_reached), C(no_backup), C(backup_too_old), C(backup_too_small), C(backup_size_changed),
          C(backup_unreadable), C(client_missing), C(backup_corrupt), C(backup_truncated), C(repository_unreadable),
          C(unparsable_output).
      type: str
      returned: always
    details:
      description: Machine-readable extras, for instance C(set_in) (files setting a keyword), C(disallowed),
        C(packages), C(accounts), C(unexpected) (listeners with proto, address, port, process, pid), C(paths),
        C(previous_size) and C(change_percent), C(format).
      type: dict
      returned: when the check has them
  sample:
    - {name: sshd:permit_root_login, kind: sshd, status: critical, value: "yes", unit: "", warning: null, critical: null,
       message: "PermitRootLogin yes (policy allows no, prohibit-password) set in /etc/ssh/sshd_config.d/50-root.conf",
       reason: root_login_allowed, details: {allowed: ["no", prohibit-password], set_in: [/etc/ssh/sshd_config.d/50-root.conf]}}
skipped:
  description: Checks selected but without configuration, with the reason.
  returned: always
  type: list
  elements: dict
  sample: [{name: listeners, reason: no listeners_allowed given}]
summary:
  description: One line with the overall status and every check that is not ok.
  returned: always
  type: str
  sample: "HOST AUDIT CRITICAL - 9 check(s); listeners critical: unexpected listeners: tcp 0.0.0.0:8999 (python3 pid 77)"
'''

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.redfire.ops.plugins.module_utils import host_audit as core
from ansible_collections.redfire.ops.plugins.module_utils.host_audit_common import ConfigError

try:
    import psutil
except ImportError:
    psutil = None


def argument_spec():
    return dict(
        checks=dict(type='list', elements='str', choices=list(core.CHECKS)),
        sshd_policy=dict(type='dict', options=dict(
            permit_root_login=dict(type='list', elements='str', default=['no', 'prohibit-password']),
            password_authentication=dict(type='bool', default=False),
            ciphers=dict(type='list', elements='str'),
            macs=dict(type='list', elements='str'),
            kex_algorithms=dict(type='list', elements='str'),
            sshd_path=dict(type='str', default='sshd'),
        )),
        refresh_package_lists=dict(type='bool', default=False),
        package_lists_max_age_hours=dict(type='float', default=core.DEFAULT_PACKAGE_LISTS_MAX_AGE_HOURS),
        security_updates_warning=dict(type='float', default=0),
        security_updates_critical=dict(type='float'),
        listeners_allowed=dict(type='list', elements='raw'),
        listeners_include_loopback=dict(type='bool', default=False),
        world_writable_paths=dict(type='list', elements='path'),
        world_writable_max_entries=dict(type='int', default=core.DEFAULT_WORLD_WRITABLE_MAX_ENTRIES),
        backup_sources=dict(type='list', elements='dict', options=dict(
            name=dict(type='str', required=True),
            type=dict(type='str', required=True, choices=['postgresql', 'files', 'restic', 'borg']),
            path=dict(type='path'),
            patterns=dict(type='list', elements='str'),
            repository=dict(type='str'),
            password_file=dict(type='path', no_log=False),
            passphrase_file=dict(type='path', no_log=False),
            warning_age_hours=dict(type='float', default=26),
            critical_age_hours=dict(type='float', default=50),
            min_size_bytes=dict(type='float', default=1),
            size_change_percent=dict(type='float', default=50),
        )),
        timeout=dict(type='float', default=core.DEFAULT_TIMEOUT),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        cfg = core.normalize(module.params)
    except ConfigError as exc:
        module.fail_json(msg=str(exc), changed=False)
    try:
        res = core.run_audit(cfg, check_mode=module.check_mode, psutil=psutil)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg='host audit failed unexpectedly: %s' % exc, exception=traceback.format_exc(), changed=False)
    res['changed'] = False
    module.exit_json(**res)


if __name__ == '__main__':
    main()
