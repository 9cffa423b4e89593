"""Bad input fails in the roles' preflight, before anything is written, with a message naming what to change."""
import json
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.conftest import project_env
from tests.lib.monitoring import RENDER_PLAYBOOK, render

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
    # Grafana and the RedFire frontend both default to :3000: on the Prometheus host that job would scrape Grafana.
    "frontend_on_grafana_default_port": (
        ["prometheus"], {"prometheus_redfire_jobs": [{"job_name": "redfire-frontend", "targets": ["localhost:3000"]}]},
        ["point at this host on port 3000, where Grafana listens", "localhost:3000", "grafana_http_port"]),
    "frontend_on_moved_grafana_port": (
        ["prometheus"], {"grafana_http_port": 3300,
                         "prometheus_redfire_jobs": [{"job_name": "redfire-frontend", "targets": ["127.0.0.1:3300"]}]},
        ["point at this host on port 3300, where Grafana listens", "127.0.0.1:3300"]),
    "trading_hours_unknown_key": (
        ["alertmanager"], {"alertmanager_trading_hours": [{"weekday": ["monday"]}]},
        ["alertmanager_trading_hours must be a list of Alertmanager time intervals", "weekdays"]),
    "ratio_above_one": (
        ["prometheus"], {"prometheus_alert_http_error_ratio": 5},
        ["prometheus_alert_http_error_ratio is a ratio between 0 and 1 (got 5)"]),
    "scrape_timeout_above_interval": (
        ["prometheus"], {"prometheus_scrape_interval": "15s", "prometheus_scrape_timeout": "1m"},
        ["prometheus_scrape_timeout (1m) is longer than prometheus_scrape_interval (15s)"]),
    "disk_warning_above_critical": (
        ["prometheus"], {"prometheus_alert_disk_warning_percent": 97, "prometheus_alert_disk_critical_percent": 95},
        ["prometheus_alert_disk_warning_percent (97) is above", "prometheus_alert_disk_critical_percent (95)"]),
    "prometheus_extra_flag_against_a_variable": (
        ["prometheus"], {"prometheus_extra_flags": ["--web.listen-address=0.0.0.0:9999"]},
        ["prometheus_extra_flags has --web.listen-address", "prometheus_listen_address"]),
    "alertmanager_extra_flag_against_a_variable": (
        ["alertmanager"], {"alertmanager_extra_flags": ["--storage.path=/tmp/am"]},
        ["alertmanager_extra_flags has --storage.path", "alertmanager_storage_path"]),
    "blackbox_extra_flag_against_a_variable": (
        ["blackbox_exporter"], {"blackbox_exporter_extra_flags": ["--web.listen-address=:9999"]},
        ["blackbox_exporter_extra_flags has --web.listen-address", "blackbox_exporter_listen_address"]),
    "blackbox_extra_flag_config_file": (
        ["blackbox_exporter"], {"blackbox_exporter_extra_flags": ["--config.file=/tmp/other.yml"]},
        ["blackbox_exporter_extra_flags has --config.file", "blackbox_exporter_config_file"]),
    "blackbox_extra_flag_not_a_long_flag": (
        ["blackbox_exporter"], {"blackbox_exporter_extra_flags": ["log.level=debug"]},
        ["every item of blackbox_exporter_extra_flags must be a long flag", "log.level=debug"]),
    # the only warning/critical pair among the roles' variables: compared as numbers, not as whole numbers
    "disk_warning_fractionally_above_critical": (
        ["prometheus"], {"prometheus_alert_disk_warning_percent": 95.5, "prometheus_alert_disk_critical_percent": 95},
        ["prometheus_alert_disk_warning_percent (95.5) is above", "prometheus_alert_disk_critical_percent (95)"]),
    # the render play has gather_facts false: the download URL needs the architecture, gathered by preflight
    "prometheus_tarball_without_gathered_facts": (
        ["prometheus"], {"prometheus_install_method": "tarball", "prometheus_checksum": "abc"},
        ["prometheus_checksum must be the sha256", "linux-"]),
    "alertmanager_tarball_without_gathered_facts": (
        ["alertmanager"], {"alertmanager_install_method": "tarball", "alertmanager_checksum": "abc"},
        ["alertmanager_checksum must be the sha256", "linux-"]),
    "blackbox_tarball_without_gathered_facts": (
        ["blackbox_exporter"], {"blackbox_exporter_install_method": "tarball", "blackbox_exporter_checksum": "abc"},
        ["blackbox_exporter_checksum must be the sha256", "linux-"]),
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


def render_with_inventory(tmp_path, inventory, role_vars):
    """Render prometheus with an inventory of our own (the groups the default jobs come from)."""
    inv = tmp_path / "inventory.json"
    inv.write_text(json.dumps(inventory))
    varfile = tmp_path / "vars.json"
    varfile.write_text(json.dumps({"render_roles": ["prometheus"], **role_vars}))
    cmd = ["ansible-playbook", "-i", str(inv), "-l", "localhost", "-e", "ansible_python_interpreter=%s" % sys.executable,
           "-e", "@%s" % varfile, str(RENDER_PLAYBOOK)]
    return subprocess.run(cmd, env=project_env(), capture_output=True, text=True, timeout=300, check=False)


def test_default_jobs_come_from_the_app_group_and_never_scrape_grafana(tmp_path):
    """The RedFire jobs' default targets are the `app` hosts (none: no job), never the Prometheus host's :3000;
    postgres and redis targets come from the `database` and `cache` groups by file_sd."""
    conf = tmp_path / "etc"
    base = {"prometheus_config_dir": str(conf)}
    alone = render_with_inventory(tmp_path, {"all": {"hosts": {"localhost": {"ansible_connection": "local"}}}}, base)
    assert alone.returncode == 0, alone.stdout[-3000:]
    config = yaml.safe_load((conf / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert "redfire-frontend" not in jobs and "redfire-backend" not in jobs
    assert ":3000" not in (conf / "prometheus.yml").read_text()

    inventory = {"all": {"hosts": {"localhost": {"ansible_connection": "local"}}, "children": {
        "app": {"hosts": {"app1": {"ansible_host": "10.250.0.5"}, "app2": {}}},
        "database": {"hosts": {"db1": {"ansible_host": "10.250.0.6"}}},
        "cache": {"hosts": {"cache1": {}}}}}}
    shutil.rmtree(conf)
    full = render_with_inventory(tmp_path, inventory, base)
    assert full.returncode == 0, full.stdout[-3000:]
    config = yaml.safe_load((conf / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["redfire-backend"]["static_configs"] == [{"targets": ["10.250.0.5:8000", "app2:8000"]}]
    assert jobs["redfire-frontend"]["static_configs"] == [{"targets": ["10.250.0.5:3000", "app2:3000"]}]
    for job, target, host in (("postgres", "10.250.0.6:9187", "db1"), ("redis", "cache1:9121", "cache1")):
        assert jobs[job]["file_sd_configs"] == [{"files": [str(conf / "file_sd" / (job + ".yml"))]}]
        assert yaml.safe_load((conf / "file_sd" / (job + ".yml")).read_text()) == [
            {"targets": [target], "labels": {"host": host}}]


SECRETS = ["AmSecretPw1", "WebhookT0ken9", "ExtraT0ken7"]
SECRET_CASES = {
    # an extra receiver with a bad name, an email receiver without smarthost: both checks fail on items that
    # hold passwords and tokens, shown at -vvv
    "receiver_name": {"alertmanager_receivers_extra": [
        {"name": "redfire-null", "email_configs": [{"to": "a@b.test", "auth_password": "AmSecretPw1"}],
         "webhook_configs": [{"url": "https://hooks.test/x?token=ExtraT0ken7"}]}]},
    "email_smarthost": {"alertmanager_receivers_extra": [
        {"name": "ops-mail", "email_configs": [{"to": "a@b.test", "auth_password": "AmSecretPw1"}]},
        {"name": "ops-hook", "webhook_configs": [{"url": "https://hooks.test/x?token=ExtraT0ken7"}]}],
        "alertmanager_severity_receivers": {"critical": ["ops-mail", "ops-hook"]}},
    "webhook_url": {"alertmanager_webhook_url": "hxxps://hooks.test/alert?token=WebhookT0ken9"},
}


@pytest.mark.parametrize("case", sorted(SECRET_CASES))
def test_preflight_prints_no_secret_even_at_vvv(tmp_path, case):
    conf = tmp_path / "etc"
    role_vars = {"prometheus_config_dir": str(conf / "prometheus"), "alertmanager_config_dir": str(conf / "alertmanager"),
                 **SECRET_CASES[case]}
    proc = render(tmp_path, ["alertmanager"], role_vars, project_env(ANSIBLE_VERBOSITY=3), check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "preflight.yml" in out, out[-3000:]
    for secret in SECRETS:
        assert secret not in out, "%s printed:\n%s" % (secret, out[-3000:])
    assert not conf.exists(), "preflight failed but files were written"
