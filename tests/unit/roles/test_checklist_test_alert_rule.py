"""The periodic checklist's test alert rule (roles/checklist/files/checklist_test_alert.rules.yml) under
`promtool test rules`: it fires, with the run's id, while the checklist's series is set, and not once it is gone."""
import shutil

from tests.conftest import ROOT, run

RULES = ROOT / "roles" / "checklist" / "files" / "checklist_test_alert.rules.yml"
TEST = """rule_files: [%s]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'redfire_checklist_test_alert{redfire_test_id="20261202T040000-1", instance="mon:9100", job="node"}'
        values: '1 1 stale'  # the file removed: the next scrape marks the series stale
    alert_rule_test:
      - eval_time: 1m
        alertname: RedfireChecklistTest
        exp_alerts:
          - exp_labels: {severity: warning, redfire_test_id: 20261202T040000-1}
            exp_annotations:
              summary: RedFire periodic checklist alerting test 20261202T040000-1 (no action needed)
      - eval_time: 3m
        alertname: RedfireChecklistTest
        exp_alerts: []
"""


def test_the_rule_fires_while_the_series_is_set(tmp_path):
    promtool = shutil.which("promtool")
    assert promtool, "promtool not found: install the Debian package 'prometheus' (./scripts/setup test)"
    test_file = tmp_path / "checklist_test_alert.test.yml"
    test_file.write_text(TEST % RULES, encoding="utf-8")
    proc = run([promtool, "test", "rules", str(test_file)], check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout
