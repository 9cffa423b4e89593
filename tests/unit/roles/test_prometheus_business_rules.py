"""promtool unit tests of the prometheus role's business rules (风险指标, 用户活跃度) and of the order status values as
role variables, on the files the role renders (tests/lib/render_monitoring.yml); preflight refuses bad status lists.
"""
import json
import shutil
import sys

import pytest
import yaml

from tests.conftest import run
from tests.unit.roles.test_prometheus_rules import TESTS, promtool, promtool_test, render_rules, shipped_alert_names

OTHER_STATUSES = {"prometheus_order_success_statuses": ["filled", "filled.partial"],
                  "prometheus_order_failure_statuses": ["rejected", "expired"],
                  "prometheus_order_cancel_statuses": ["cancelled", "withdrawn"]}
BUSINESS_ALERTS = {"RedFireExposureNearLimit", "RedFireRiskRejectionsHigh", "RedFireActiveUsersCollapse",
                   "RedFireFailedLoginBurst"}


@pytest.fixture(scope="module")
def default_rules(tmp_path_factory):
    return render_rules(tmp_path_factory.mktemp("defaults"))


@pytest.fixture(scope="module")
def custom_rules(tmp_path_factory):
    """Rendered with other thresholds, English annotations and other order status values (one render for both: each
    costs an ansible-playbook run)."""
    return render_rules(tmp_path_factory.mktemp("custom"), prometheus_alert_language="en",
                        prometheus_alert_exposure_ratio=0.95, prometheus_alert_exposure_for="5m",
                        prometheus_alert_risk_rejection_ratio=0.4, prometheus_alert_failed_logins_per_minute=2000,
                        prometheus_alert_active_users_drop_ratio=0.3, prometheus_alert_active_users_baseline_window="30m",
                        prometheus_alert_active_users_min=5, **OTHER_STATUSES)


def test_business_alerts_fire_and_stay_quiet_with_defaults(default_rules):
    assert shipped_alert_names(default_rules / "redfire_business_alerts.rules.yml") == BUSINESS_ALERTS
    # promtool lints too (a duplicate record name and label set prints FAILED with exit code 0)
    proc = run([promtool(), "check", "rules", *sorted(map(str, default_rules.glob("*.rules.yml")))])
    assert "FAILED" not in proc.stdout + proc.stderr and "SUCCESS: 4 rules found" in proc.stdout, proc.stdout
    promtool_test(default_rules, "business_test.yml")
    cases = yaml.safe_load((TESTS / "business_test.yml").read_text(encoding="utf-8"))
    firing = {c["alertname"] for g in cases["tests"] for c in g["alert_rule_test"] if c["exp_alerts"]}
    quiet = {c["alertname"] for g in cases["tests"] for c in g["alert_rule_test"] if not c["exp_alerts"]}
    assert firing == quiet == BUSINESS_ALERTS


def test_business_variables_and_language_reach_the_rules(custom_rules):
    promtool_test(custom_rules, "business_en_test.yml")
    # and the defaults' test fails on these rules (the tests are sharp)
    shutil.copy(TESTS / "business_test.yml", custom_rules / "business_test.yml")
    proc = run([promtool(), "test", "rules", "business_test.yml"], check=False, cwd=custom_rules)
    assert proc.returncode != 0 and "alertname: RedFireExposureNearLimit" in proc.stdout + proc.stderr


def test_order_status_values_are_role_variables(custom_rules, default_rules):
    promtool_test(custom_rules, "order_statuses_test.yml")
    # a value is a literal, not a regex: escaped for the regex and then for the PromQL string
    text = (custom_rules / "redfire_recording.rules.yml").read_text(encoding="utf-8")
    assert r'status=~"filled|filled\\.partial"' in text, text
    # with the default values (success, failed, cancelled) the same application reads as failing
    shutil.copy(TESTS / "order_statuses_test.yml", default_rules / "order_statuses_test.yml")
    proc = run([promtool(), "test", "rules", "order_statuses_test.yml"], check=False, cwd=default_rules)
    assert proc.returncode != 0 and "job:redfire_order_success:ratio_rate5m" in proc.stdout + proc.stderr


BAD_STATUS_LISTS = {
    "empty": ({"prometheus_order_success_statuses": []}, "prometheus_order_success_statuses must be a non-empty list"),
    "quote": ({"prometheus_order_cancel_statuses": ['can"celled']}, "prometheus_order_cancel_statuses must be a non-empty list"),
    "text": ({"prometheus_order_failure_statuses": "failed"}, "prometheus_order_failure_statuses must be a non-empty list"),
    "shared": ({"prometheus_order_failure_statuses": ["failed", "success"]}, 'The status value(s) ["success"] are in more than one'),
}


def test_preflight_refuses_bad_status_lists(tmp_path):
    """Each bad case through the role's preflight in one playbook run (a block and rescue per case)."""
    results = tmp_path / "results.json"
    base = {"prometheus_config_dir": str(tmp_path / "conf"), "prometheus_storage_path": str(tmp_path / "data"),
            "prometheus_service_manage": False}
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": sys.executable},
             "tasks": [{"name": "case %s" % name, "block": [
                 {"ansible.builtin.include_role": {"name": "redfire.ops.prometheus", "tasks_from": "preflight"},
                  "vars": dict(base, **bad)},
                 {"ansible.builtin.set_fact": {"results": "{{ results | default({}) | combine({'%s': 'accepted'}) }}" % name}}],
                 "rescue": [{"ansible.builtin.set_fact": {
                     "results": "{{ results | default({}) | combine({'%s': ansible_failed_result}) }}" % name}}]}
                 for name, (bad, dummy) in BAD_STATUS_LISTS.items()]
             + [{"ansible.builtin.copy": {"content": "{{ results | to_json }}", "dest": str(results), "mode": "0600"}}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    run(["ansible-playbook", "-i", "localhost,", str(tmp_path / "play.yml")])
    got = json.loads(results.read_text())
    for name, (dummy, message) in BAD_STATUS_LISTS.items():
        assert isinstance(got[name], dict), (name, got[name])  # not 'accepted'
        failed = [r for r in got[name].get("results", [got[name]]) if r.get("failed")]
        assert any(message in r.get("msg", "") for r in failed), (name, [r.get("msg") for r in failed])
    assert not (tmp_path / "conf").exists(), "preflight failed, yet files were written"
