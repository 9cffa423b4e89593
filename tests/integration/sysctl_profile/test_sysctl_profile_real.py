"""redfire.ops.sysctl_profile on this machine's real /proc/sys.

Only harmless TCP keys are touched; the fixture saves their values and restores them afterwards. The managed
file goes to a temporary directory (force=true): /etc/sysctl.d of this machine is checked to be unchanged.
"""
import json
import os
import sys
import textwrap

import pytest

from ansible_collections.redfire.ops.plugins.module_utils import sysctl_profile as sp
from tests.conftest import run

KEYS = ("net.core.somaxconn", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_time")


def proc_value(key):
    with open("/proc/sys/" + sp.key_path(key)) as handle:
        return handle.read().strip()


def proc_write(key, value):
    with open("/proc/sys/" + sp.key_path(key), "w") as handle:
        handle.write(value)


def etc_sysctl_d():
    out = {}
    for name in sorted(os.listdir("/etc/sysctl.d")):
        path = os.path.join("/etc/sysctl.d", name)
        out[name] = open(path, "rb").read() if os.path.isfile(path) else None
    return out


@pytest.fixture
def saved():
    if not os.access("/proc/sys/net/ipv4/tcp_fin_timeout", os.W_OK):
        pytest.fail("/proc/sys is not writable here: these tests need root on a host (not a container)")
    original = dict((k, proc_value(k)) for k in KEYS)
    etc_before = etc_sysctl_d()
    yield original
    for key, value in original.items():
        proc_write(key, value)
    assert dict((k, proc_value(k)) for k in KEYS) == original
    assert etc_sysctl_d() == etc_before, "/etc/sysctl.d of this machine must never be modified"


def targets(original):
    """Values different from the current ones, within the kernel's ranges."""
    fin = int(original["net.ipv4.tcp_fin_timeout"])
    keep = int(original["net.ipv4.tcp_keepalive_time"])
    return {
        "net.core.somaxconn": ">%d" % (int(original["net.core.somaxconn"]) + 1000),
        "net.ipv4.tcp_fin_timeout": fin + 7 if fin < 100 else fin - 7,
        "net.ipv4.tcp_keepalive_time": keep - 100 if keep > 200 else keep + 100,
    }


def test_core_applies_verifies_rolls_back_on_real_kernel(saved, tmp_path):
    conf = str(tmp_path / "90-redfire-test.conf")
    want = targets(saved)
    proc = sp.ProcSys("/")
    # A value the kernel refuses (EINVAL) after two keys were written: both are restored, no file.
    bad = dict(want, **{"net.ipv4.tcp_keepalive_time": 99999999999})
    plan = sp.plan_present(bad, conf, "/", force=True, proc=proc)
    with pytest.raises(sp.SysctlError) as err:
        sp.apply_live(plan, proc)
    assert "net.ipv4.tcp_keepalive_time = 99999999999: Invalid argument (EINVAL)" in str(err.value)
    assert "rolled back 2 key(s)" in str(err.value)
    assert dict((k, proc_value(k)) for k in KEYS) == saved
    assert not os.path.exists(conf)
    # Bad inputs fail before anything is written.
    for settings, message in (
            ({"net.core.somaxconn": "many"}, "settings.net.core.somaxconn: 'many' is not numeric"),
            ({"net.core.no_such_key": 1}, "settings.net.core.no_such_key: the key does not exist"),
            ({"kernel.osrelease": "x"}, "settings.kernel.osrelease: the key is read-only here"),
            ({"net.core.somaxconn": False}, "settings.net.core.somaxconn: the YAML boolean false")):
        with pytest.raises(sp.SysctlError, match=message):
            sp.plan_present(settings, conf, "/", force=True)
    with pytest.raises(sp.SysctlError, match="set force=true"):
        sp.plan_present(want, str(tmp_path / "x.conf"), "/")
    assert dict((k, proc_value(k)) for k in KEYS) == saved


PLAYBOOK = textwrap.dedent("""\
    - name: sysctl_profile on the real kernel
      hosts: localhost
      gather_facts: false
      module_defaults:
        redfire.ops.sysctl_profile:
          path: "{{ conf }}"
          force: true
      tasks:
        - name: Check mode
          redfire.ops.sysctl_profile:
            settings: "{{ want }}"
          check_mode: true
          register: checked
        - name: Live values untouched by check mode
          ansible.builtin.slurp:
            src: /proc/sys/net/ipv4/tcp_fin_timeout
          register: fin_after_check
        - name: Apply
          redfire.ops.sysctl_profile:
            settings: "{{ want }}"
          diff: true
          register: applied
        - name: Apply again
          redfire.ops.sysctl_profile:
            settings: "{{ want }}"
          register: again
        - name: Drift the live value behind the module's back
          ansible.builtin.shell: echo 61 > /proc/sys/net/ipv4/tcp_fin_timeout  # noqa: no-changed-when
        - name: Apply after drift
          redfire.ops.sysctl_profile:
            settings: "{{ want }}"
          register: drifted
        - name: Remove the profile
          redfire.ops.sysctl_profile:
            state: absent
          register: removed
        - name: Record
          ansible.builtin.copy:
            content: "{{ {'checked': checked, 'fin_after_check': fin_after_check.content | b64decode,
                          'applied': applied, 'again': again, 'drifted': drifted, 'removed': removed} | to_json }}"
            dest: "{{ results }}"
            mode: "0644"
    """)


def test_module_check_apply_idempotent_drift_absent_on_real_kernel(saved, tmp_path):
    want = targets(saved)
    if want["net.ipv4.tcp_fin_timeout"] == 61:
        want["net.ipv4.tcp_fin_timeout"] = 62
    conf = tmp_path / "90-redfire-test.conf"
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    (tmp_path / "vars.json").write_text(json.dumps({"want": want, "conf": str(conf),
                                                    "results": str(tmp_path / "results.json")}))
    run(["ansible-playbook", "-i", "localhost,", "-c", "local", str(tmp_path / "site.yml"),
         "-e", "ansible_python_interpreter=%s" % sys.executable, "-e", "@%s" % (tmp_path / "vars.json")])
    res = json.loads((tmp_path / "results.json").read_text())
    somax = str(int(saved["net.core.somaxconn"]) + 1000)
    expected = [
        {"key": "net.core.somaxconn", "before": saved["net.core.somaxconn"], "after": somax},
        {"key": "net.ipv4.tcp_fin_timeout", "before": saved["net.ipv4.tcp_fin_timeout"],
         "after": str(want["net.ipv4.tcp_fin_timeout"])},
        {"key": "net.ipv4.tcp_keepalive_time", "before": saved["net.ipv4.tcp_keepalive_time"],
         "after": str(want["net.ipv4.tcp_keepalive_time"])},
    ]
    assert res["checked"]["changed"] and res["checked"]["changes"] == expected
    assert res["fin_after_check"].strip() == saved["net.ipv4.tcp_fin_timeout"]
    assert res["applied"]["changes"] == expected and res["applied"]["diff"]["before"] == ""
    assert any("not in a sysctl.d directory read at boot" in w for w in res["applied"].get("warnings", []))
    assert res["again"]["changed"] is False
    assert res["drifted"]["drift"] == ["net.ipv4.tcp_fin_timeout"]
    assert res["drifted"]["changes"] == [{"key": "net.ipv4.tcp_fin_timeout", "before": "61",
                                          "after": str(want["net.ipv4.tcp_fin_timeout"])}]
    assert res["removed"]["changed"] and not conf.exists()
    assert [r["key"] for r in res["removed"]["removed"]] == list(KEYS)
