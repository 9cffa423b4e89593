#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: sysctl_profile
short_description: Apply a whole sysctl profile in one task, persisted to one managed sysctl.d file
version_added: 0.1.0
description:
  - Sets many kernel parameters at once. Each key is written to C(/proc/sys), read back and compared (whitespace
    of multi-value keys normalised). If the kernel refuses any key (EINVAL, EPERM, read-only), the live values
    already written are restored, the managed file is left as it was and the task fails naming the key, the value
    and the kernel's reason.
  - The profile is persisted to one managed file (default C(/etc/sysctl.d/90-redfire.conf)) with a header, one
    C(key = value) line per key, sorted, written atomically. The file holds exactly the profile of the last run;
    keys dropped from O(settings) are removed from it and get back the value the other sysctl files give them.
  - "Drift: when the file already holds a key's value but the live value differs, the value is re-applied and the
    key is reported in RV(drift). When the live value is right but the file is missing or differs, only the file
    is written."
  - Warns when a system sysctl file read after the managed one (it sorts later, or it is C(/etc/sysctl.conf)) sets
    one of the keys to another value, because that file wins at boot.
  - Runs no commands; it reads and writes C(/proc/sys) directly.
author:
  - RedFire operations engineering (@redfire)
extends_documentation_fragment:
  - redfire.ops.attributes
attributes:
  check_mode:
    support: full
    details:
      - Every change is computed (validation, live values, drift, file content) without touching anything. Values
        that the kernel would refuse on write (out of range) can only be detected by writing them.
  diff_mode:
    support: full
    details:
      - Shows the managed file before and after; live changes are in RV(changes).
options:
  settings:
    description:
      - Keys and values, one entry per key (see the examples). Keys use dots, or slashes when a component
        contains a dot (C(net/ipv4/conf/eth0.100/rp_filter)).
      - Values are integers or strings; multi-value keys are strings such as C("4096 87380 6291456"). YAML
        booleans are rejected (quote them, or use 1 or 0).
      - A value starting with C(>) is a minimum (like tuned's C(>)), e.g. C(">65535"). A host whose live value is
        higher keeps it (field-wise for multi-value keys), and the file records the value kept.
      - A numeric key only accepts numbers with the same number of fields as the kernel's value.
      - Required (and not empty) with O(state=present). With O(state=absent) only the keys matter (values are
        ignored); without O(settings) every key of the managed file is removed.
    type: dict
  state:
    description:
      - V(present) applies the profile and writes the managed file.
      - V(absent) removes the keys from the managed file (the file is deleted when no key is left) and sets them
        live to the value the remaining sysctl files give them (left as they are when no file sets them).
    type: str
    choices: [present, absent]
    default: present
  path:
    description:
      - The managed file. It must be a C(.conf) file directly in C(/etc/sysctl.d) unless O(force=true).
      - A glob, a symlink (not followed, since writing would replace the link with a regular file), a FIFO or a device
        is refused before anything changes.
      - Interpreted below O(root).
    type: path
    default: /etc/sysctl.d/90-redfire.conf
  force:
    description:
      - Allow O(path) outside C(/etc/sysctl.d) (such a file is not read at boot; the module warns).
    type: bool
    default: false
  ignore_unsupported:
    description:
      - Keys that do not exist on this kernel or are read-only here (for example C(vm.*) in a container) are
        listed in RV(skipped_keys) and left out of the file, instead of failing the task.
    type: bool
    default: false
  backup:
    description:
      - Keep a timestamped copy of the managed file before changing it.
    type: bool
    default: false
  root:
    description:
      - Directory treated as C(/) for C(/proc/sys), the sysctl.d directories and O(path). Meant for tests on a fake
        tree; leave the default on real hosts.
    type: path
    default: /
notes:
  - Tested on managed hosts running Debian 12 (bookworm) with its Python 3.11, Debian 13 (trixie) with its Python 3.13, and on Python 3.8 (with ansible-core
    2.16) and 3.9 (with ansible-core 2.21) by the collection's compat tests; other distributions are untested.
  - Compared with M(ansible.posix.sysctl), this module sets a whole profile in one task, supports diff mode,
    minimum values, drift reporting and rollback, and writes a plain sysctl.d file.
seealso:
  - module: ansible.posix.sysctl
  - name: sysctl.d(5)
    description: Order in which systemd-sysctl reads the configuration files.
    link: https://www.freedesktop.org/software/systemd/man/latest/sysctl.d.html
'''

EXAMPLES = r'''
- name: Apply the RedFire host profile
  redfire.ops.sysctl_profile:
    settings:
      vm.swappiness: 10
      net.core.somaxconn: ">65535"
      net.ipv4.tcp_fin_timeout: 30
      net.ipv4.tcp_keepalive_time: 1200
      net.ipv4.tcp_rmem: "4096 87380 6291456"
    ignore_unsupported: true
    backup: true
  register: profile

- name: Show keys that were re-applied because the live value had drifted
  ansible.builtin.debug:
    var: profile.drift

- name: Remove the profile again (keys go back to what the other sysctl files say)
  redfire.ops.sysctl_profile:
    state: absent
'''

RETURN = r'''
changes:
  description: Live values written (or that would be written in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{"key": "net.core.somaxconn", "before": "4096", "after": "65535"}]
  contains:
    key:
      description: The key.
      type: str
    before:
      description: Live value before, whitespace normalised.
      type: str
    after:
      description: Live value after.
      type: str
skipped_keys:
  description:
    - Keys left out with O(ignore_unsupported=true), with the reason.
    - Not named C(skipped) because Ansible reads a true C(skipped) in a result as "the task was skipped".
  returned: always
  type: list
  elements: dict
  sample: [{"key": "vm.swappiness", "reason": "vm.swappiness is read-only here"}]
drift:
  description: Keys whose file value was already right but whose live value differed, and were re-applied.
  returned: always
  type: list
  elements: str
  sample: ["net.ipv4.tcp_fin_timeout"]
removed:
  description: Keys removed from the managed file, with the value the other sysctl files give them (C(null) when none).
  returned: always
  type: list
  elements: dict
  sample: [{"key": "net.core.somaxconn", "reload": "4096"}]
file:
  description: The managed file (below O(root)).
  returned: always
  type: str
  sample: /etc/sysctl.d/90-redfire.conf
file_changed:
  description: Whether the managed file was (or would be) written or removed.
  returned: always
  type: bool
backup_file:
  description: The backup of the managed file.
  returned: when O(backup=true) and the file changed
  type: str
  sample: /etc/sysctl.d/90-redfire.conf.12345.2026-11-25@22:30:00~
diff:
  description: The managed file before and after.
  returned: when diff mode is on
  type: dict
'''

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.redfire.ops.plugins.module_utils.sysctl_profile import (
    Plan, ProcSys, SysctlError, apply_live, plan_absent, plan_present)


def write_file(module, plan):
    """Atomic write (or removal) of the managed file; returns the backup path or None."""
    backup = None
    if module.params["backup"] and plan.file_before is not None:
        backup = module.backup_local(plan.file)
    if plan.file_after is None:
        os.unlink(plan.file)
        return backup
    directory = os.path.dirname(plan.file)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, tmp = tempfile.mkstemp(prefix=".sysctl_profile.", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(plan.file_after)
        os.chmod(tmp, 0o644)
        module.atomic_move(tmp, plan.file)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return backup


def main():
    module = AnsibleModule(
        argument_spec=dict(
            settings=dict(type="dict"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            path=dict(type="path", default="/etc/sysctl.d/90-redfire.conf"),
            force=dict(type="bool", default=False),
            ignore_unsupported=dict(type="bool", default=False),
            backup=dict(type="bool", default=False),
            root=dict(type="path", default="/"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    proc = ProcSys(p["root"])
    try:
        if p["state"] == "present":
            plan = plan_present(p["settings"], p["path"], p["root"], p["ignore_unsupported"], p["force"], proc)
        else:
            plan = plan_absent(list(p["settings"] or {}), p["path"], p["root"], p["force"], proc)
    except SysctlError as exc:
        module.fail_json(msg=to_native(exc))

    for warning in plan.warnings:
        module.warn(warning)
    result = dict(changed=plan.changed, changes=plan.changes(), skipped_keys=plan.skipped, drift=plan.drift,
                  removed=plan.removed, file=plan.file, file_changed=plan.file_changed)
    if module._diff:
        result["diff"] = dict(before=plan.file_before or "", after=plan.file_after or "",
                              before_header=plan.file, after_header=plan.file)
    if module.check_mode or not plan.changed:
        module.exit_json(**result)

    try:
        apply_live(plan, proc)
    except SysctlError as exc:
        result.update(changed=False, changes=[], file_changed=False)
        module.fail_json(msg=to_native(exc), **result)
    if plan.file_changed:
        try:
            backup = write_file(module, plan)
        except (IOError, OSError) as exc:
            # Keep live and file consistent: undo the live writes as well.
            msg = "writing %s failed: %s" % (plan.file, to_native(exc))
            try:
                apply_live(_reverse(plan), proc)
                msg += "; live values restored"
            except SysctlError as undo:
                msg += "; restoring live values failed too: %s" % to_native(undo)
            module.fail_json(msg=msg)
        if backup:
            result["backup_file"] = backup
    module.exit_json(**result)


def _reverse(plan):
    undo = Plan()
    undo.file = plan.file
    undo.live = [(k, a, b) for k, b, a in reversed(plan.live)]
    return undo


if __name__ == "__main__":
    main()
