"""promtool unit tests of the prometheus role's rules, on the files the role renders.

The rules are rendered by the role itself (tests/lib/render_monitoring.yml runs its preflight and configure
tasks with prometheus_service_manage=false into a temporary directory); `promtool test rules` then runs
the test files in prometheus_rules/ against them: every shipped alert fires and does not fire (the Watchdog,
always firing, fires early and late instead).
"""
import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, run

TESTS = Path(__file__).resolve().parent / "prometheus_rules"
RENDER = ROOT / "tests" / "lib" / "render_monitoring.yml"


def promtool():
    path = shutil.which("promtool")
    assert path, "promtool not found: install the Debian package 'prometheus' (./scripts/setup test)"
    return path


def render_rules(tmp_path, **role_vars):
    conf = tmp_path / "prometheus"
    extra = {"render_roles": ["prometheus"], "prometheus_config_dir": str(conf),
             "prometheus_storage_path": str(tmp_path / "data"), **role_vars}
    varfile = tmp_path / "vars.json"
    varfile.write_text(json.dumps(extra))
    run(["ansible-playbook", "-i", "localhost,", "-e", "ansible_python_interpreter=%s" % sys.executable,
         "-e", "@%s" % varfile, str(RENDER)])
    return conf / "rules"


def promtool_test(rules_dir, test_file):
    shutil.copy(TESTS / test_file, rules_dir / test_file)
    proc = run([promtool(), "test", "rules", test_file], check=False, cwd=rules_dir)
    assert proc.returncode == 0 and "SUCCESS" in proc.stdout, proc.stdout + proc.stderr
    return proc


def shipped_alert_names(rules_file):
    data = yaml.safe_load(Path(rules_file).read_text(encoding="utf-8"))
    return {r["alert"] for g in data["groups"] for r in g["rules"] if "alert" in r}


DEFAULT_TESTS = ["alerts_test.yml", "alerts_platform_test.yml", "alerts_host_test.yml", "alerts_checklist_test.yml"]


def test_every_alert_fires_and_stays_quiet_with_defaults(tmp_path):
    rules = render_rules(tmp_path)
    assert {p.name for p in rules.iterdir()} == {"redfire_recording.rules.yml", "redfire_alerts.rules.yml",
                                                 "redfire_business_alerts.rules.yml"}
    proc = run([promtool(), "check", "rules", *sorted(map(str, rules.iterdir()))])
    assert "SUCCESS: 23 rules found" in proc.stdout and "SUCCESS: 40 rules found" in proc.stdout, proc.stdout
    for test_file in DEFAULT_TESTS:
        promtool_test(rules, test_file)

    # every shipped alert has a firing case and a quiet case in the test files
    firing, quiet = set(), set()
    for test_file in DEFAULT_TESTS:
        cases = yaml.safe_load((TESTS / test_file).read_text(encoding="utf-8"))
        for group in cases["tests"]:
            for case in group.get("alert_rule_test", []):
                (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    alerts = shipped_alert_names(rules / "redfire_alerts.rules.yml")
    assert len(alerts) == 39
    assert alerts == firing == quiet | {"Watchdog"}
    assert "Watchdog" not in quiet


def test_variables_reach_the_rules(tmp_path):
    rules = render_rules(
        tmp_path, prometheus_alert_language="en", prometheus_alert_cpu_percent=95, prometheus_alert_api_p95_seconds=5,
        prometheus_alert_api_slow_for="1m", prometheus_alert_levels={"APISlowResponse": "emergency"},
        prometheus_alert_rules_disabled=["RedFireOrderFlowStalled"], prometheus_alert_postgres_connections_percent=50,
        prometheus_alert_postgres_connections_for="1m", prometheus_alert_filesystem_fill_hours=1,
        prometheus_alert_filesystem_fill_window="10m", prometheus_alert_process_memory_bytes=104857600,
        prometheus_redfire_jobs=[{"job_name": "trade.api", "targets": ["127.0.0.1:8000"]}])
    assert "RedFireOrderFlowStalled" not in shipped_alert_names(rules / "redfire_alerts.rules.yml")
    promtool_test(rules, "alerts_en_test.yml")


@pytest.mark.parametrize("test_file,changed,alert", [
    ("alerts_test.yml", {"prometheus_alert_cpu_percent": 91}, "HighCPUUsage"),
    ("alerts_platform_test.yml", {"prometheus_alert_redis_memory_percent": 96}, "RedisMemoryHigh"),
    ("alerts_host_test.yml", {"prometheus_alert_inodes_free_percent": 4}, "HostInodesLow"),
])
def test_rule_tests_detect_a_changed_threshold(tmp_path, test_file, changed, alert):
    """The promtool tests are sharp: rules rendered with another threshold fail them."""
    rules = render_rules(tmp_path, **changed)
    shutil.copy(TESTS / test_file, rules / test_file)
    proc = run([promtool(), "test", "rules", test_file], check=False, cwd=rules)
    assert proc.returncode != 0
    assert "alertname: %s" % alert in proc.stdout + proc.stderr
