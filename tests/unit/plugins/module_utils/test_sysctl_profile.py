"""Core of redfire.ops.sysctl_profile on a fake /proc/sys tree (root option)."""
import errno
import os

import pytest

from ansible_collections.redfire.ops.plugins.module_utils import sysctl_profile as sp

START = {
    "net.core.somaxconn": "4096",
    "net.ipv4.tcp_fin_timeout": "60",
    "net.ipv4.tcp_keepalive_time": "7200",
    "net.ipv4.tcp_rmem": "4096\t131072\t6291456",
    "net.ipv4.ip_local_port_range": "32768\t60999",
    "kernel.core_pattern": "core",
    "vm.swappiness": "60",
    "kernel.osrelease": "6.1.0-test",
}
READONLY = ("kernel.osrelease",)


class FakeKernel(sp.ProcSys):
    """A fake tree whose writes can be refused like the kernel does (EINVAL) or silently clamped."""

    def __init__(self, root, reject=None, clamp=None):
        super(FakeKernel, self).__init__(root)
        self.reject = reject or {}
        self.clamp = clamp or {}
        self.writes = []

    def write(self, key, value):
        self.writes.append((key, value))
        if key in self.reject:
            raise OSError(self.reject[key], os.strerror(self.reject[key]))
        if key in self.clamp:
            value = str(min(int(value), self.clamp[key]))
        super(FakeKernel, self).write(key, value)


@pytest.fixture
def root(tmp_path):
    for key, value in START.items():
        path = tmp_path / "proc" / "sys" / sp.key_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n")
        if key in READONLY:
            path.chmod(0o444)
    (tmp_path / "etc" / "sysctl.d").mkdir(parents=True)
    return tmp_path


def live(root, key):
    return (root / "proc" / "sys" / sp.key_path(key)).read_text()


def snapshot(root):
    out = {}
    for dirpath, _dirs, files in os.walk(str(root)):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path) as handle:
                out[path] = (handle.read(), os.stat(path).st_mtime_ns)
    return out


CONF = "/etc/sysctl.d/90-redfire.conf"


def test_profile_applies_verifies_persists_and_converges(root):
    settings = {
        "net.core.somaxconn": ">1024",           # host above the minimum keeps its value
        "net.ipv4.tcp_fin_timeout": 30,
        "net.ipv4.tcp_keepalive_time": ">9000",  # host below the minimum is raised
        "net.ipv4.tcp_rmem": " 4096   131072\t6291456 ",  # equal after whitespace normalisation
        "net.ipv4.ip_local_port_range": ">40000 50000",   # field-wise: 40000 60999
        "kernel.core_pattern": "|/usr/bin/false  %p",
    }
    before = snapshot(root)
    plan = sp.plan_present(settings, CONF, str(root))
    assert snapshot(root) == before, "planning (check mode) must not touch anything"
    assert plan.changes() == [
        {"key": "kernel.core_pattern", "before": "core", "after": "|/usr/bin/false %p"},
        {"key": "net.ipv4.ip_local_port_range", "before": "32768 60999", "after": "40000 60999"},
        {"key": "net.ipv4.tcp_fin_timeout", "before": "60", "after": "30"},
        {"key": "net.ipv4.tcp_keepalive_time", "before": "7200", "after": "9000"},
    ]
    assert plan.file_before is None and plan.drift == [] and plan.skipped == []
    proc = sp.ProcSys(str(root))
    sp.apply_live(plan, proc)
    sp.write_file_plain(plan)
    assert live(root, "net.ipv4.tcp_fin_timeout") == "30\n"
    assert live(root, "net.ipv4.ip_local_port_range") == "40000 60999\n"
    assert live(root, "net.core.somaxconn") == "4096\n"
    text = (root / "etc/sysctl.d/90-redfire.conf").read_text()
    assert text == sp.HEADER + (
        "kernel.core_pattern = |/usr/bin/false %p\n"
        "net.core.somaxconn = 4096\n"
        "net.ipv4.ip_local_port_range = 40000 60999\n"
        "net.ipv4.tcp_fin_timeout = 30\n"
        "net.ipv4.tcp_keepalive_time = 9000\n"
        "net.ipv4.tcp_rmem = 4096 131072 6291456\n")
    again = sp.plan_present(settings, CONF, str(root))
    assert not again.changed and again.changes() == [] and again.file_before == again.file_after


def test_rejected_key_mid_profile_rolls_back_and_leaves_file(root):
    conf = root / "etc/sysctl.d/90-redfire.conf"
    conf.write_text("# old\nnet.core.somaxconn = 4096\n")
    settings = {"net.core.somaxconn": 8192, "net.ipv4.tcp_fin_timeout": 30, "net.ipv4.tcp_keepalive_time": 600}
    proc = FakeKernel(str(root), reject={"net.ipv4.tcp_fin_timeout": errno.EINVAL})
    plan = sp.plan_present(settings, CONF, str(root), proc=proc)
    with pytest.raises(sp.SysctlError) as err:
        sp.apply_live(plan, proc)
    msg = str(err.value)
    assert "net.ipv4.tcp_fin_timeout = 30" in msg and "Invalid argument" in msg and "EINVAL" in msg
    assert "rolled back 1 key(s)" in msg
    # somaxconn was written first, then restored; keepalive never written; file untouched
    assert proc.writes == [("net.core.somaxconn", "8192"), ("net.ipv4.tcp_fin_timeout", "30"),
                           ("net.core.somaxconn", "4096")]
    assert [live(root, k) for k in settings] == ["4096\n", "60\n", "7200\n"]
    assert conf.read_text() == "# old\nnet.core.somaxconn = 4096\n"


def test_value_the_kernel_does_not_keep_is_a_rejection(root):
    proc = FakeKernel(str(root), clamp={"net.core.somaxconn": 65535})
    plan = sp.plan_present({"net.ipv4.tcp_fin_timeout": 20, "net.core.somaxconn": 100000}, CONF, str(root), proc=proc)
    with pytest.raises(sp.SysctlError, match=r"net.core.somaxconn = 100000: the kernel kept '65535'"):
        sp.apply_live(plan, proc)
    assert live(root, "net.core.somaxconn") == "4096\n" and live(root, "net.ipv4.tcp_fin_timeout") == "60\n"


@pytest.mark.parametrize("settings, kwargs, message", [
    ({"net.core.somaxconn": True}, {}, "settings.net.core.somaxconn: the YAML boolean true"),
    ({"net.ipv4.tcp_fin_timeout": 1.5}, {}, "settings.net.ipv4.tcp_fin_timeout: 1.5 is a float"),
    ({"net.core.nosuchkey": 1}, {}, "settings.net.core.nosuchkey: the key does not exist on this kernel"),
    ({"kernel.osrelease": "x"}, {}, "settings.kernel.osrelease: the key is read-only here"),
    ({"net.core.somaxconn": "lots"}, {}, "settings.net.core.somaxconn: 'lots' is not numeric"),
    ({"net.ipv4.tcp_rmem": "4096 87380"}, {}, "settings.net.ipv4.tcp_rmem: '4096 87380' has 2 field(s), this key has 3"),
    ({"net.core.somaxconn": ">lots"}, {}, "settings.net.core.somaxconn: a minimum ('>N') needs integer fields"),
    ({"net.core.somaxconn": "  "}, {}, "settings.net.core.somaxconn: the value is empty"),
    ({"../../etc/passwd": 1}, {}, "is not a sysctl key"),
    ({}, {}, "settings: give at least one key"),
    ({"net.core.somaxconn": 1}, {"path": "/etc/90-redfire.conf"}, "path: /etc/90-redfire.conf is not a .conf file"),
    ({"net.core.somaxconn": 1}, {"path": "/etc/sysctl.d/90-redfire"}, "set force=true"),
    ({"net.core.somaxconn": 1}, {"path": "sysctl.d/x.conf"}, "must be an absolute path"),
])
def test_bad_input_fails_clearly_before_touching_anything(root, settings, kwargs, message):
    before = snapshot(root)
    with pytest.raises(sp.SysctlError) as err:
        sp.plan_present(settings, root=str(root), **kwargs)
    assert message in str(err.value)
    assert snapshot(root) == before


def test_ignore_unsupported_skips_missing_and_read_only_keys(root):
    settings = {"kernel.osrelease": "x", "vm.nosuch": 1, "net.core.somaxconn": 8192}
    plan = sp.plan_present(settings, CONF, str(root), ignore_unsupported=True)
    assert plan.skipped == [
        {"key": "kernel.osrelease", "reason": "kernel.osrelease is read-only here"},
        {"key": "vm.nosuch", "reason": "vm.nosuch does not exist on this kernel"},
    ]
    assert plan.changes() == [{"key": "net.core.somaxconn", "before": "4096", "after": "8192"}]
    assert plan.file_after == sp.HEADER + "net.core.somaxconn = 8192\n"


def test_drift_reapplied_and_missing_file_rewritten(root):
    conf = root / "etc/sysctl.d/90-redfire.conf"
    conf.write_text(sp.HEADER + "net.ipv4.tcp_fin_timeout = 30\n")
    plan = sp.plan_present({"net.ipv4.tcp_fin_timeout": 30}, CONF, str(root))
    assert plan.drift == ["net.ipv4.tcp_fin_timeout"] and not plan.file_changed
    sp.apply_live(plan, sp.ProcSys(str(root)))
    conf.unlink()
    plan = sp.plan_present({"net.ipv4.tcp_fin_timeout": 30}, CONF, str(root))
    assert plan.drift == [] and plan.changes() == [] and plan.file_changed and plan.changed


def test_later_sorting_files_win_at_boot_warning(root):
    sysctl_d = root / "etc/sysctl.d"
    (sysctl_d / "10-early.conf").write_text("net.core.somaxconn = 1\n")
    (sysctl_d / "99-late.conf").write_text("# comment\n-net/core/somaxconn=1024\nnet.ipv4.tcp_fin_timeout = 30\n")
    (root / "etc/sysctl.conf").write_text("net.ipv4.tcp_keepalive_time = 100\n")
    plan = sp.plan_present({"net.core.somaxconn": 8192, "net.ipv4.tcp_fin_timeout": 30,
                            "net.ipv4.tcp_keepalive_time": 600}, CONF, str(root))
    late = str(sysctl_d / "99-late.conf")
    assert plan.warnings == [
        "%s sets net.core.somaxconn = 1024 and is read after 90-redfire.conf, so it wins at boot (we set 8192)" % late,
        "%s sets net.ipv4.tcp_keepalive_time = 100 and is read after 90-redfire.conf, so it wins at boot (we set 600)"
        % (root / "etc/sysctl.conf"),
    ]
    forced = sp.plan_present({"net.ipv4.tcp_fin_timeout": 30}, "/srv/x.conf", str(root), force=True)
    assert forced.warnings == ["%s is not in a sysctl.d directory read at boot: the values apply now but "
                               "not after a reboot" % (root / "srv/x.conf")]


def test_absent_and_dropped_keys_reload_remaining_system_values(root):
    (root / "usr/lib/sysctl.d").mkdir(parents=True)
    (root / "usr/lib/sysctl.d/50-default.conf").write_text("net.core.somaxconn = 2048\nnet.ipv4.tcp_fin_timeout = 45\n")
    # same name in /etc masks the /usr/lib file completely
    (root / "usr/lib/sysctl.d/60-masked.conf").write_text("net.ipv4.tcp_fin_timeout = 99\n")
    (root / "etc/sysctl.d/60-masked.conf").write_text("# masked\n")
    proc = sp.ProcSys(str(root))
    full = {"net.core.somaxconn": 8192, "net.ipv4.tcp_fin_timeout": 30, "net.ipv4.tcp_keepalive_time": 600}
    plan = sp.plan_present(full, CONF, str(root))
    sp.apply_live(plan, proc)
    sp.write_file_plain(plan)
    # dropping a key from the profile removes it from the file and reloads it
    plan = sp.plan_present({"net.ipv4.tcp_fin_timeout": 30, "net.ipv4.tcp_keepalive_time": 600}, CONF, str(root))
    assert plan.removed == [{"key": "net.core.somaxconn", "reload": "2048"}]
    assert plan.changes() == [{"key": "net.core.somaxconn", "before": "8192", "after": "2048"}]
    sp.apply_live(plan, proc)
    sp.write_file_plain(plan)
    # absent for one key, then for all
    plan = sp.plan_absent(["net.ipv4.tcp_fin_timeout"], CONF, str(root))
    assert plan.changes() == [{"key": "net.ipv4.tcp_fin_timeout", "before": "30", "after": "45"}]
    assert plan.file_after == sp.HEADER + "net.ipv4.tcp_keepalive_time = 600\n"
    sp.apply_live(plan, proc)
    sp.write_file_plain(plan)
    plan = sp.plan_absent([], CONF, str(root))
    assert plan.removed == [{"key": "net.ipv4.tcp_keepalive_time", "reload": None}]
    assert plan.changes() == [] and plan.file_after is None and plan.changed
    sp.write_file_plain(plan)
    assert not (root / "etc/sysctl.d/90-redfire.conf").exists()
    assert not sp.plan_absent([], CONF, str(root)).changed
