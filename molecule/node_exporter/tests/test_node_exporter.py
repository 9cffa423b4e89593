"""node_exporter in the systemd container: service, listener, metrics over TLS with basic auth (the web config of
redfire.ops.web_config, private CA) and the textfile collector."""
import sys
from pathlib import Path

import pytest
import testinfra

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from tests.lib.molecule_hosts import containers  # noqa: E402  pylint: disable=wrong-import-position
from tests.lib.web_probe import assert_protected, probe  # noqa: E402  pylint: disable=wrong-import-position

CONTAINERS = containers("node_exporter")  # one per platform of molecule.yml
PORT = 9100
SERVICE = "prometheus-node-exporter"
TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"
WEB_DIR = "/etc/redfire-ops/web/node_exporter"
CA = WEB_DIR + "/ca.crt"
# The scenario's test credentials (molecule.yml host_vars).
USER, PASSWORD = "prometheus", "molecule-scrape-Secret-0815"
URL = "https://127.0.0.1:%d/metrics" % PORT


@pytest.fixture(scope="module", params=CONTAINERS)
def container(request):
    return request.param


@pytest.fixture(scope="module")
def host(container):
    # podman exec is much faster than testinfra's ansible backend.
    return testinfra.get_host("podman://" + container)


def journal(host):
    return host.run("journalctl -u %s -n 40 --no-pager" % SERVICE).stdout


def metrics(host):
    result = probe(host, URL, CA, USER, PASSWORD)
    assert result["status"] == 200, result
    return result["body"]


def test_service_running_and_enabled(host):
    svc = host.service(SERVICE)
    assert svc.is_running, journal(host)
    assert svc.is_enabled, journal(host)


def test_command_line_from_role(host):
    cmdline = host.check_output("tr '\\0' ' ' < /proc/$(systemctl show -p MainPID --value %s)/cmdline" % SERVICE)
    assert "--web.listen-address=0.0.0.0:%d" % PORT in cmdline
    assert "--collector.textfile.directory=%s" % TEXTFILE_DIR in cmdline
    assert "--web.config.file=%s/web-config.yml" % WEB_DIR in cmdline
    assert "--collector.processes" in cmdline and "--no-collector.wifi" in cmdline
    assert host.socket("tcp://0.0.0.0:%d" % PORT).is_listening, journal(host)


def test_endpoint_protected_and_metrics_served(host):
    body = assert_protected(host, "127.0.0.1:%d" % PORT, "/metrics", CA, USER, PASSWORD, "\nnode_load1 ")
    assert "node_processes_threads" in body  # the enabled 'processes' collector
    assert 'node_scrape_collector_success{collector="wifi"}' not in body
    # the certificate names the host's addresses too, not only loopback
    address = host.check_output("hostname -I").split()[0]
    assert probe(host, "https://%s:%d/metrics" % (address, PORT), CA, USER, PASSWORD)["status"] == 200


def test_web_files_protected_and_hashed(host):
    for name in ("web-config.yml", "tls.key"):
        f = host.file("%s/%s" % (WEB_DIR, name))
        assert (f.user, f.group, f.mode) == ("root", "prometheus", 0o640), name
    config = host.file(WEB_DIR + "/web-config.yml").content_string
    assert PASSWORD not in config and '"prometheus": "$2b$' in config
    assert host.file(WEB_DIR + "/tls.crt").mode == 0o644


def test_textfile_metric_appears(host):
    probe_line = 'redfire_molecule_probe{source="molecule"} 42'
    path = TEXTFILE_DIR + "/molecule_probe.prom"
    host.check_output("printf '%%s\\n' '%s' > %s.tmp && mv %s.tmp %s" % (probe_line, path, path, path))
    try:
        assert probe_line in metrics(host)
    finally:
        host.check_output("rm -f " + path)
    assert probe_line not in metrics(host)
