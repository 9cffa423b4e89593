"""The monitoring stack in the systemd container: services, every scrape target up (through Prometheus's
API), the role's rules loaded, Alertmanager's config protected, rule changes reloaded in place, and an
invalid rule refused while the running Prometheus keeps the old rules. Every endpoint behind TLS and basic auth
(redfire.ops.web_config): plain HTTP refused, 401 without or with a wrong password, an untrusting client fails."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import testinfra

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from tests.lib.molecule_hosts import containers  # noqa: E402  pylint: disable=wrong-import-position
from tests.lib.web_probe import assert_protected, probe  # noqa: E402  pylint: disable=wrong-import-position

CONTAINERS = containers("monitoring")  # one per platform of molecule.yml
SCENARIO = Path(__file__).resolve().parents[1]
SERVICES = ["prometheus", "prometheus-alertmanager", "prometheus-blackbox-exporter", "prometheus-node-exporter"]
# The scenario's test credentials (converge.yml) and the CA the role installed for Prometheus.
USER, PASSWORD = "prometheus", "molecule-scrape-Secret-0815"
CA = "/etc/prometheus/web/ca.crt"
ENDPOINTS = {"prometheus": ("127.0.0.1:9090", "prometheus_build_info"),
             "alertmanager": ("127.0.0.1:9093", "alertmanager_build_info"),
             "blackbox_exporter": ("127.0.0.1:9115", "blackbox_exporter_build_info"),
             "node_exporter": ("127.0.0.1:9100", "node_load1")}
EXPECTED_JOBS = {"prometheus", "node_exporter", "alertmanager", "blackbox_exporter", "blackbox_http_2xx", "blackbox_tcp_connect"}


@pytest.fixture(scope="module", params=CONTAINERS)
def container(request):
    return request.param


@pytest.fixture(scope="module")
def host(container):
    # podman exec is much faster than testinfra's ansible backend.
    return testinfra.get_host("podman://" + container)


def journal(host, unit):
    return host.run("journalctl -u %s -n 40 --no-pager" % unit).stdout


def api(host, path, port=9090):
    result = probe(host, "https://127.0.0.1:%d%s" % (port, path), CA, USER, PASSWORD)
    assert result["status"] == 200, result
    return json.loads(result["body"])


def wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, value))


def main_pid(host, unit):
    return int(host.check_output("systemctl show -p MainPID --value %s" % unit))


def rule_groups(host):
    return {g["name"] for g in api(host, "/api/v1/rules")["data"]["groups"]}


def converge(container, tmp_path, extra_rule_files):
    """Run the scenario's converge playbook again with extra rule files (an inventory of our own over podman)."""
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"node_exporter": {"hosts": {container: {
        "ansible_connection": "containers.podman.podman", "ansible_python_interpreter": "/usr/bin/python3"}}}}))
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"molecule_extra_rule_files": [str(SCENARIO / "files" / f) for f in extra_rule_files],
                                 # the CA of this scenario's run (converge.yml reads the same variable)
                                 "web_config_ca_dir": os.environ["MOLECULE_EPHEMERAL_DIRECTORY"] + "/ca"}))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CALLBACK_RESULT_FORMAT="yaml")
    env.pop("ANSIBLE_CONFIG", None)
    bindir = Path(sys.executable).parent
    return subprocess.run([str(bindir / "ansible-playbook"), "-i", str(inventory), "-e", "@%s" % extra,
                           str(SCENARIO / "converge.yml")], env=env, capture_output=True, text=True, timeout=600, check=False)


def test_services_running_and_enabled(host):
    for unit in SERVICES:
        svc = host.service(unit)
        assert svc.is_running and svc.is_enabled, journal(host, unit)


def test_every_target_up_through_prometheus(host, container):
    def all_up():
        active = api(host, "/api/v1/targets")["data"]["activeTargets"]
        health = {(t["labels"]["job"], t["labels"]["instance"]): t["health"] for t in active}
        jobs = {job for job, _instance in health}
        # every job of the collection's endpoints over TLS (the HTTP probe's target is the plain app endpoint)
        assert all(t["scrapeUrl"].startswith("https://") for t in active), [t["scrapeUrl"] for t in active]
        return health if jobs == EXPECTED_JOBS and set(health.values()) == {"up"} else None
    health = wait(all_up, 90, "all targets up")
    # node_exporter targets come from the inventory group through file_sd
    assert ("node_exporter", container + ":9100") in health
    probes = api(host, "/api/v1/query?query=probe_success")["data"]["result"]
    assert {(r["metric"]["job"], r["value"][1]) for r in probes} == {("blackbox_http_2xx", "1"), ("blackbox_tcp_connect", "1")}


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_endpoint_protected(host, name):
    address, metric = ENDPOINTS[name]
    assert_protected(host, address, "/metrics", CA, USER, PASSWORD, metric)


def test_role_rules_loaded_and_recording_rules_evaluate(host, container):
    assert {"redfire_recording", "redfire-node", "redfire-app", "redfire-monitoring"} <= rule_groups(host)
    # (the package's own default config scraped localhost:9100 as job "node" before the role replaced it)
    query = "/api/v1/query?query=instance:redfire_node_cpu_usage:percent%7Bjob%3D%22node_exporter%22%7D"
    cpu = wait(lambda: api(host, query)["data"]["result"], 90, "CPU recording rule")
    assert [r["metric"]["instance"] for r in cpu] == [container + ":9100"]
    assert 0 <= float(cpu[0]["value"][1]) <= 100


def test_alertmanager_config_protected_and_single_node(host):
    conf = host.file("/etc/prometheus/alertmanager.yml")
    assert (conf.user, conf.group, conf.mode) == ("root", "prometheus", 0o640)
    cmdline = host.check_output("tr '\\0' ' ' < /proc/%d/cmdline" % main_pid(host, "prometheus-alertmanager"))
    assert "--cluster.listen-address= " in cmdline + " "
    assert not host.socket("tcp://0.0.0.0:9094").is_listening
    status = api(host, "/api/v2/status", port=9093)
    assert "molecule-Secret-4711" not in status["config"]["original"]  # Alertmanager masks it as <secret>
    assert "redfire-email" in status["config"]["original"]


def test_rule_change_reloads_in_place_and_invalid_rule_is_refused(host, container, tmp_path):
    pid = main_pid(host, "prometheus")
    good = converge(container, tmp_path, ["extra_good.rules.yml"])
    assert good.returncode == 0, good.stdout[-4000:]
    # The reload task ran (changed, not skipped) for the new rule file
    after = good.stdout.split("TASK [redfire.ops.component_service : Reload prometheus]", 1)
    assert len(after) == 2, good.stdout[-4000:]
    assert after[1].lstrip("* \n").startswith("changed:"), after[1][:500]
    wait(lambda: "molecule-extra" in rule_groups(host), 30, "new rule group loaded")
    assert main_pid(host, "prometheus") == pid, "Prometheus was restarted, not reloaded"
    assert api(host, "/api/v1/query?query=prometheus_config_last_reload_successful")["data"]["result"][0]["value"][1] == "1"

    bad = converge(container, tmp_path, ["extra_good.rules.yml", "extra_bad.rules.yml"])
    assert bad.returncode != 0, bad.stdout[-4000:]
    assert "failed to validate" in bad.stdout, bad.stdout[-4000:]
    assert not host.file("/etc/prometheus/rules/extra_bad.rules.yml").exists
    time.sleep(2)
    groups = rule_groups(host)
    assert "molecule-extra" in groups and "molecule-broken" not in groups
    assert main_pid(host, "prometheus") == pid
