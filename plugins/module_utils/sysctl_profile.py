# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure-Python core of redfire.ops.sysctl_profile.

A profile (key -> value) is planned first (nothing is touched), then applied to /proc/sys with
read-back verification and rollback, and rendered to one managed sysctl.d file.  Everything is
looked up below a `root` directory so tests run on a fake /proc/sys tree.  No Ansible imports:
the module, unit tests and benchmarks call this directly.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import os
import re
import stat

from ansible_collections.redfire.ops.plugins.module_utils.deadline import NotRegularFile, file_kind, open_regular

HEADER = (
    "# Managed by Ansible: redfire.ops.sysctl_profile. Local changes are overwritten.\n"
    "# Keys given with a minimum ('>N') record the value kept on this host (never lower than N).\n"
)

# systemd-sysctl's search path, in priority order (a file name found earlier masks later ones).
SYSCTL_DIRS = ("/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d")
# procps `sysctl --system` reads this one last.
SYSCTL_CONF = "/etc/sysctl.conf"

_KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:@+/-]*$")
_INT_RE = re.compile(r"^-?[0-9]+$")


class SysctlError(Exception):
    """Bad input or a kernel refusal; the message is meant for the user as is."""


def normalise(value):
    """Collapse whitespace (multi-value keys read back with tabs) to single spaces."""
    return " ".join(str(value).split())


def key_path(key):
    """Path of a key relative to /proc/sys. With '/' in the key, dots are literal (eth0.100)."""
    key = key.lstrip("-")
    if "/" in key:
        return key.strip("/")
    return key.replace(".", "/")


def check_key(key):
    if not isinstance(key, str) or not _KEY_RE.match(key) or ".." in key or "//" in key \
            or key.endswith((".", "/")):
        raise SysctlError("settings: %r is not a sysctl key (expected e.g. net.core.somaxconn)" % (key,))
    return key


def parse_value(key, value):
    """Validate one settings value. Returns (normalised value, minimum flag)."""
    if isinstance(value, bool):
        raise SysctlError(
            "settings.%s: the YAML boolean %s is not a sysctl value; quote it or use an integer (1 or 0)"
            % (key, str(value).lower()))
    if isinstance(value, int):
        return str(value), False
    if not isinstance(value, str):
        raise SysctlError("settings.%s: %r is a %s; give a string or an integer"
                          % (key, value, type(value).__name__))
    text = normalise(value)
    minimum = text.startswith(">")
    if minimum:
        text = normalise(text[1:])
        if not text or not all(_INT_RE.match(f) for f in text.split()):
            raise SysctlError("settings.%s: a minimum ('>N') needs integer fields, got %r" % (key, value))
    if not text:
        raise SysctlError("settings.%s: the value is empty" % key)
    return text, minimum


def _is_numeric(text):
    fields = text.split()
    return bool(fields) and all(_INT_RE.match(f) for f in fields)


def at_least(live, wanted):
    """Field-wise maximum of two integer values of equal arity (tuned's '>' semantics)."""
    lf, wf = live.split(), wanted.split()
    if len(lf) != len(wf) or not _is_numeric(live):
        return wanted
    return " ".join(str(max(int(a), int(b))) for a, b in zip(lf, wf))


class ProcSys(object):
    """Reads and writes /proc/sys below `root`."""

    def __init__(self, root="/"):
        self.root = root or "/"
        self.base = os.path.join(self.root, "proc", "sys")
        # A fake tree holds regular files that must be truncated; procfs needs a plain write.
        self._flags = os.O_WRONLY if _is_proc(self.base) else os.O_WRONLY | os.O_TRUNC

    def path(self, key):
        return os.path.join(self.base, key_path(key))

    def state(self, key):
        """(value or None, reason-unsupported or None)."""
        path = self.path(key)
        try:
            st = os.stat(path)
        except OSError:
            return None, "does not exist on this kernel"
        if os.path.isdir(path):
            return None, "is a directory, not a key"
        if not stat.S_ISREG(st.st_mode):  # a FIFO in a fake tree would block the read
            return None, "is %s, not a key" % file_kind(st.st_mode)
        try:
            value = self.read(key)
        except OSError as exc:
            return None, "cannot be read (%s)" % exc.strerror
        # Mode bits catch read-only keys (also in a fake tree as root); access() catches
        # read-only mounts such as /proc/sys inside a container.
        if not st.st_mode & 0o222 or not os.access(path, os.W_OK):
            return value, "is read-only here"
        return value, None

    def read(self, key):
        with open(self.path(key), "r") as handle:
            return normalise(handle.read())

    def write(self, key, value):
        """Write one value; raise OSError as the kernel reports it."""
        fd = os.open(self.path(key), self._flags)
        try:
            data = (value + "\n").encode("utf-8")
            if os.write(fd, data) != len(data):
                raise OSError(errno.EIO, "short write")
        finally:
            os.close(fd)


def _is_proc(path):
    return os.path.realpath(path).startswith("/proc/")


def parse_conf(text):
    """Parse sysctl.conf syntax into an ordered list of (key, value)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        key, dummy, value = line.partition("=")
        key = key.strip().lstrip("-")
        if key:
            out.append((key, normalise(value)))
    return out


def render_conf(values):
    """Managed file text: header, then `key = value` sorted by key."""
    return HEADER + "".join("%s = %s\n" % (k, values[k]) for k in sorted(values))


def _read_text(path, option=None):
    """Text of a regular file (symlinks followed), None when missing. Bytes that are not UTF-8 (a Latin-1 comment)
    are replaced: only keys and values matter. A FIFO or a device is refused before it is opened (reading it
    would block or never end): SysctlError naming the path and what it is, prefixed by ``option``."""
    try:
        with open_regular(path) as handle:
            return handle.read().decode("utf-8", "replace")
    except NotRegularFile as exc:
        raise SysctlError("%s%s" % ("%s: " % option if option else "", exc))
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise SysctlError("%scannot read %s: %s" % ("%s: " % option if option else "", path, exc.strerror))


def _read_system_file(path, warnings):
    """Text of another sysctl file; one that is not a regular file or cannot be read is a warning, not a failure."""
    try:
        return _read_text(path) or ""
    except SysctlError as exc:
        warnings.append("%s: skipped, so its values are not known here" % exc)
        return ""


def system_files(root="/"):
    """sysctl config files in the order they are applied at boot (later wins): list of (name, path)."""
    seen = {}
    for directory in SYSCTL_DIRS:
        full = os.path.join(root, directory.lstrip("/"))
        try:
            names = os.listdir(full)
        except OSError:
            continue
        for name in names:
            if name.endswith(".conf") and name not in seen:
                seen[name] = os.path.join(full, name)
    ordered = [(name, seen[name]) for name in sorted(seen)]
    conf = os.path.join(root, SYSCTL_CONF.lstrip("/"))
    if os.path.isfile(conf):
        real = set(os.path.realpath(p) for dummy, p in ordered)
        if os.path.realpath(conf) not in real:
            ordered.append(("sysctl.conf", conf))
    return ordered


def managed_path(path, root="/", force=False):
    """Check the managed file path; returns the path below root.

    A symlink is refused, not followed: writing through it would replace the link with a regular file (Debian's
    /etc/sysctl.d/99-sysctl.conf links to /etc/sysctl.conf) or write where the link points. So is anything else
    that is not a regular file, and a glob: the module manages exactly one file."""
    if not path or not isinstance(path, str) or not os.path.isabs(path):
        raise SysctlError("path: %r must be an absolute path such as /etc/sysctl.d/90-redfire.conf" % (path,))
    if any(c in path for c in "*?["):
        raise SysctlError("path: %s is a glob; give the one file to manage, such as /etc/sysctl.d/90-redfire.conf"
                          % path)
    norm = os.path.normpath(path)
    if not force:
        if os.path.dirname(norm) != "/etc/sysctl.d" or not norm.endswith(".conf"):
            raise SysctlError(
                "path: %s is not a .conf file directly in /etc/sysctl.d, so it would not be read at boot; "
                "use a path like /etc/sysctl.d/90-redfire.conf or set force=true" % path)
    full = os.path.join(root or "/", norm.lstrip("/"))
    if os.path.islink(full):
        raise SysctlError("path: %s is a symlink to %s; writing it would replace the link with a regular file. "
                          "Give a path that is not a link, or remove the link first" % (path, os.path.realpath(full)))
    try:
        kind = file_kind(os.stat(full).st_mode)
    except OSError:
        kind = None  # missing: it will be created
    if kind is not None:
        raise SysctlError("path: %s is %s, not a regular file; give the path of a .conf file" % (path, kind))
    return full


class Plan(object):
    """What would change. `live` is a list of (key, before, after) writes to /proc/sys."""

    def __init__(self):
        self.live = []
        self.skipped = []
        self.drift = []
        self.removed = []
        self.warnings = []
        self.file = None
        self.file_before = None
        self.file_after = None

    @property
    def file_changed(self):
        return self.file_before != self.file_after

    @property
    def changed(self):
        return bool(self.live) or self.file_changed

    def changes(self):
        return [{"key": k, "before": b, "after": a} for k, b, a in self.live]


def _boot_values(root, exclude, keys, warnings):
    """Value each key (by path) gets at boot from the system files other than `exclude`."""
    wanted = dict((key_path(k), k) for k in keys)
    found = {}
    for dummy, path in system_files(root):
        if os.path.realpath(path) == os.path.realpath(exclude):
            continue
        text = _read_system_file(path, warnings)
        for key, value in parse_conf(text):
            if key_path(key) in wanted:
                found[wanted[key_path(key)]] = value
    return found


def _later_overrides(root, file_path, values, exclude=None):
    """Warnings for later-sorting system files that set one of our keys (they win at boot)."""
    name = os.path.basename(file_path)
    ours = dict((key_path(k), k) for k in values)
    warnings = []
    files = system_files(root)
    boot_dirs = set(os.path.realpath(os.path.join(root, d.lstrip("/"))) for d in SYSCTL_DIRS)
    if os.path.realpath(os.path.dirname(file_path)) not in boot_dirs or not name.endswith(".conf"):
        warnings.append("%s is not in a sysctl.d directory read at boot: the values apply now but "
                        "not after a reboot" % file_path)
    for other, path in files:
        if (other <= name and other != "sysctl.conf") or os.path.realpath(path) == os.path.realpath(file_path):
            continue
        for key, value in parse_conf(_read_system_file(path, warnings)):
            if key_path(key) in ours:
                k = ours[key_path(key)]
                if normalise(value) != values[k]:
                    warnings.append("%s sets %s = %s and is read after %s, so it wins at boot (we set %s)"
                                    % (path, k, value, name, values[k]))
    return warnings


def plan_present(settings, path="/etc/sysctl.d/90-redfire.conf", root="/", ignore_unsupported=False,
                 force=False, proc=None):
    """Decide everything for state=present without touching the system."""
    if not isinstance(settings, dict) or not settings:
        raise SysctlError("settings: give at least one key, e.g. {'net.core.somaxconn': 65535}")
    proc = proc or ProcSys(root)
    plan = Plan()
    plan.file = managed_path(path, root, force)
    plan.file_before = _read_text(plan.file, "path")
    file_values = dict(parse_conf(plan.file_before or ""))
    wanted = {}
    for key in sorted(settings):
        check_key(key)
        wanted[key] = parse_value(key, settings[key])
    targets = {}
    for key in sorted(wanted):
        value, minimum = wanted[key]
        live, unsupported = proc.state(key)
        if unsupported:
            if ignore_unsupported:
                plan.skipped.append({"key": key, "reason": "%s %s" % (key, unsupported)})
                continue
            raise SysctlError("settings.%s: the key %s; remove it or set ignore_unsupported=true"
                              % (key, unsupported))
        if _is_numeric(live) and not _is_numeric(value):
            raise SysctlError("settings.%s: %r is not numeric but this key is (current value %r)"
                              % (key, value, live))
        if _is_numeric(live) and len(live.split()) != len(value.split()):
            raise SysctlError("settings.%s: %r has %d field(s), this key has %d (current value %r)"
                              % (key, value, len(value.split()), len(live.split()), live))
        target = at_least(live, value) if minimum else value
        targets[key] = target
        if live != target:
            plan.live.append((key, live, target))
            if normalise(file_values.get(key, "")) == target:
                plan.drift.append(key)
    plan.file_after = render_conf(targets) if targets else None
    # Keys we managed before but no longer do go back to what the other system files say.
    dropped = sorted(k for k in file_values if k not in targets and k not in wanted)
    _plan_reload(plan, proc, root, dropped)
    plan.warnings.extend(_later_overrides(root, plan.file, targets))
    plan.warnings[:] = list(dict.fromkeys(plan.warnings))
    return plan


def plan_absent(keys, path="/etc/sysctl.d/90-redfire.conf", root="/", force=False, proc=None):
    """Remove `keys` (all keys when empty) from the managed file; reload their boot values."""
    proc = proc or ProcSys(root)
    plan = Plan()
    plan.file = managed_path(path, root, force)
    plan.file_before = _read_text(plan.file, "path")
    file_values = dict(parse_conf(plan.file_before or ""))
    for key in keys or []:
        check_key(key)
    drop = sorted(keys) if keys else sorted(file_values)
    remaining = dict((k, v) for k, v in file_values.items() if k not in drop)
    plan.file_after = render_conf(remaining) if remaining else None
    _plan_reload(plan, proc, root, [k for k in drop if k in file_values])
    return plan


def _plan_reload(plan, proc, root, keys):
    if not keys:
        return
    boot = _boot_values(root, plan.file, keys, plan.warnings)
    for key in keys:
        target = boot.get(key)
        live, unsupported = proc.state(key)
        plan.removed.append({"key": key, "reload": target})
        if target is None or unsupported or live == normalise(target):
            continue
        plan.live.append((key, live, normalise(target)))


def apply_live(plan, proc):
    """Write the planned live values, verify each by reading it back, roll back on any refusal."""
    done = []
    for key, before, after in plan.live:
        reason = None
        try:
            proc.write(key, after)
            got = proc.read(key)
            if got != after:
                reason = "the kernel kept %r" % got
        except (IOError, OSError) as exc:
            reason = "%s (%s)" % (exc.strerror or exc, errno.errorcode.get(exc.errno, exc.errno))
        if reason is None:
            done.append((key, before))
            continue
        failed = _rollback(proc, done + [(key, before)])
        msg = ("the kernel rejected %s = %s: %s; rolled back %d key(s) already written, %s left unchanged"
               % (key, after, reason, len(done), plan.file))
        if failed:
            msg += "; ROLLBACK FAILED for " + ", ".join(failed)
        raise SysctlError(msg)


def _rollback(proc, written):
    failed = []
    for key, before in reversed(written):
        try:
            if proc.read(key) != before:
                proc.write(key, before)
        except (IOError, OSError) as exc:
            failed.append("%s (%s)" % (key, exc.strerror))
    return failed


def write_file_plain(plan):
    """Write/remove the managed file without Ansible (benchmarks, tests); the module uses atomic_move."""
    if plan.file_after is None:
        if plan.file_before is not None:
            os.unlink(plan.file)
        return
    tmp = plan.file + ".tmp-%d" % os.getpid()
    with open(tmp, "w") as handle:
        handle.write(plan.file_after)
    os.chmod(tmp, 0o644)
    os.rename(tmp, plan.file)
