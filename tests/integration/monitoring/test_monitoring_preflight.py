"""Bad input fails in the roles' preflight, before anything is written, with a message naming what to change."""
import pytest

from tests.conftest import project_env
from tests.lib.monitoring import render

CASES = {
    "target_without_port": (
        ["prometheus"], {"prometheus_redfire_jobs": [{"job_name": "redfire-backend", "targets": ["localhost"]}]},
        ['Target \\"localhost\\" is not host:port', "prometheus_redfire_jobs"]),
    "duplicate_job_name": (
        ["prometheus"], {"prometheus_redfire_jobs": [{"job_name": "api", "targets": ["a:8000"]},
                                                     {"job_name": "api", "targets": ["b:8000"]}]},
        ['Scrape job name \\"api\\" is used more than once']),
    "receiver_not_defined": (
        ["alertmanager"], {"alertmanager_severity_receivers": {"critical": ["pager-duty"]}},
        ['Receiver \\"pager-duty\\" is referenced by routes (critical) but not defined', "alertmanager_receivers_extra"]),
    "email_without_smarthost": (
        ["alertmanager"], {"alertmanager_email_to": ["ops@redfire.test"], "alertmanager_email_from": "am@redfire.test"},
        ["alertmanager_email_smarthost", "smarthost=\\\"\\\""]),
    "threshold_not_a_number": (
        ["prometheus"], {"prometheus_alert_cpu_percent": "eighty"},
        ['prometheus_alert_cpu_percent must be a number (got \\"eighty\\")']),
    "trading_hours_unknown_key": (
        ["alertmanager"], {"alertmanager_trading_hours": [{"weekday": ["monday"]}]},
        ["alertmanager_trading_hours must be a list of Alertmanager time intervals", "weekdays"]),
    "ratio_above_one": (
        ["prometheus"], {"prometheus_alert_http_error_ratio": 5},
        ["prometheus_alert_http_error_ratio is a ratio between 0 and 1 (got 5)"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_fails_in_preflight(tmp_path, case):
    roles, bad_vars, messages = CASES[case]
    conf = tmp_path / "etc"
    role_vars = {"prometheus_config_dir": str(conf / "prometheus"), "alertmanager_config_dir": str(conf / "alertmanager"),
                 "blackbox_exporter_config_file": str(conf / "blackbox.yml"), **bad_vars}
    proc = render(tmp_path, roles, role_vars, project_env(), check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "preflight.yml" in out, out[-3000:]
    for msg in messages:
        assert msg in out, "%r not in output:\n%s" % (msg, out[-3000:])
    assert "Traceback" not in out
    assert not conf.exists(), "preflight failed but files were written"
