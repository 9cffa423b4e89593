"""The compat layer's smoke run, once per supported ansible-core other than the development one (2.16, the oldest,
and the newest; scripts/run_tests.py runs it with that version's venv: REDFIRE_VENV_BIN, REDFIRE_TARGET_PYTHON):
ansible-doc reads every plugin and role, each module runs ad hoc on the oldest managed-host Python that version
supports, and the daily check runs against a systemd container."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, project_env, run
from tests.lib.containers import SystemdContainer

TARGET_PYTHON = os.environ.get("REDFIRE_TARGET_PYTHON") or sys.executable
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if not p.name.startswith("_"))
FILTERS = sorted(p.stem for p in (ROOT / "plugins" / "filter").glob("*.yml"))
SYSCTL_FILE = "/etc/sysctl.d/99-redfire-compat-smoke.conf"  # only in check mode: never written
ROLES = sorted(p.parent.parent.name for p in (ROOT / "roles").glob("*/meta/argument_specs.yml"))


def test_the_venv_is_the_one_asked_for():
    """The layer must not silently run the development ansible-core."""
    want = os.environ.get("REDFIRE_CORE_VERSION")
    assert want, "run through scripts/run_tests.py compat (REDFIRE_CORE_VERSION unset)"
    out = run(["ansible", "--version"]).stdout
    assert out.startswith("ansible [core %s." % want), out[:200]
    version = run([TARGET_PYTHON, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]).stdout.strip()
    assert version == os.environ.get("REDFIRE_TARGET_PYTHON_VERSION"), version


@pytest.mark.parametrize("kind, names", [("module", MODULES), ("filter", FILTERS), ("role", ROLES)])
def test_ansible_doc_reads_every_plugin_and_role(kind, names):
    assert len(names) >= {"module": 4, "filter": 20, "role": 16}[kind], names
    proc = run(["ansible-doc", "--json", "-t", kind] + ["redfire.ops." + n for n in names])
    docs = json.loads(proc.stdout)
    assert sorted(docs) == sorted("redfire.ops." + n for n in names), sorted(docs)
    # warnings about the dependencies' own support (community.crypto 3 wants 2.17+) are theirs; none may be ours
    ours = [line for line in proc.stderr.splitlines() if "ERROR" in line or ("WARNING" in line and "redfire" in line)]
    assert not ours, proc.stderr[-2000:]


def adhoc(module, args, *extra):
    env = project_env(ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json")
    proc = subprocess.run(["ansible", "localhost", "-c", "local", "-e", "ansible_python_interpreter=" + TARGET_PYTHON,
                           "-m", "redfire.ops." + module, "-a", json.dumps(args)] + list(extra),
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_each_module_runs_on_the_target_python(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("2026-12-01 10:00:00 ERROR DatabaseError: connection refused\n"
                   "2026-12-01 10:00:01 INFO fine\n")
    health = adhoc("health_check", {"checks": ["cpu", "memory", "load", "logs"], "cpu_sample": 0.2,
                                    "logs": {"paths": [str(log)], "hours": 100000}})
    assert health["status"] in ("ok", "warning", "critical") and health["changed"] is False, health
    assert {c["kind"] for c in health["checks"]} >= {"cpu", "memory", "load", "log_errors"}, health["checks"]
    logs = adhoc("log_analysis", {"paths": [str(log)], "since": "2026-12-01 00:00:00", "until": "2026-12-02 00:00:00"})
    assert logs["error_counts"]["database_error"] == 1 and logs["changed"] is False, logs
    current = Path("/proc/sys/vm/swappiness").read_text().strip()
    sysctl = adhoc("sysctl_profile", {"settings": {"vm.swappiness": int(current)}, "path": SYSCTL_FILE},
                   "--check")
    # the profile asks for the running value: nothing to set, only the file to write (check mode: not written)
    assert sysctl["changes"] == {} if isinstance(sysctl["changes"], dict) else sysctl["changes"] == [], sysctl
    assert sysctl["file_changed"] is True and not Path(SYSCTL_FILE).exists(), sysctl
    audit = adhoc("host_audit", {"checks": ["accounts"]})
    assert audit["changed"] is False and any(c["kind"] == "accounts" or c["name"].startswith("accounts")
                                             for c in audit["checks"]), audit


def test_daily_check_against_a_container(tmp_path):
    reports = tmp_path / "reports"
    with SystemdContainer("compat", host_libraries=True) as box:
        inventory = tmp_path / "inventory.json"
        inventory.write_text(json.dumps({"all": {"children": {
            "app": {"hosts": {box.name: {"ansible_connection": "containers.podman.podman",
                                         "ansible_python_interpreter": "/usr/bin/python3"}}},
            "control": {"hosts": {"localhost": {"ansible_connection": "local",
                                                "ansible_python_interpreter": sys.executable}}}}}}))
        extra = {"redfire_report_dir": str(reports), "redfire_daily_health_checks": ["memory", "disk", "services"],
                 "redfire_daily_services": ["systemd-journald"], "redfire_daily_log_dirs": []}
        proc = run(["ansible-playbook", "-i", str(inventory), "-e", json.dumps(extra),
                    str(ROOT / "playbooks" / "daily_check.yml")], check=False, cwd=str(tmp_path))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Traceback" not in out, out[-4000:]
    report = json.loads(next(reports.glob("*.json")).read_text())
    assert box.name in json.dumps(report) and "systemd-journald" in json.dumps(report), json.dumps(report)[:3000]
