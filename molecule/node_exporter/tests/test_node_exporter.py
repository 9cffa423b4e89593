"""node_exporter in the systemd container: service, listener, metrics and the textfile collector."""
import pytest
import testinfra

CONTAINER = "redfire-molecule-node_exporter-1"
PORT = 9100
SERVICE = "prometheus-node-exporter"
TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"
FETCH = ("python3 -c 'import sys,urllib.request;"
         "sys.stdout.write(urllib.request.urlopen(\"http://127.0.0.1:%d/metrics\", timeout=5).read().decode())'" % PORT)


@pytest.fixture(scope="module")
def host():
    # podman exec is much faster than testinfra's ansible backend.
    return testinfra.get_host("podman://" + CONTAINER)


def journal(host):
    return host.run("journalctl -u %s -n 40 --no-pager" % SERVICE).stdout


def test_service_running_and_enabled(host):
    svc = host.service(SERVICE)
    assert svc.is_running, journal(host)
    assert svc.is_enabled, journal(host)


def test_command_line_from_role(host):
    cmdline = host.check_output("tr '\\0' ' ' < /proc/$(systemctl show -p MainPID --value %s)/cmdline" % SERVICE)
    assert "--web.listen-address=0.0.0.0:%d" % PORT in cmdline
    assert "--collector.textfile.directory=%s" % TEXTFILE_DIR in cmdline
    assert "--collector.processes" in cmdline and "--no-collector.wifi" in cmdline
    assert host.socket("tcp://0.0.0.0:%d" % PORT).is_listening, journal(host)


def test_metrics_served(host):
    metrics = host.check_output(FETCH)
    assert "\nnode_load1 " in metrics
    assert "node_processes_threads" in metrics  # the enabled 'processes' collector
    assert 'node_scrape_collector_success{collector="wifi"}' not in metrics


def test_textfile_metric_appears(host):
    probe = 'redfire_molecule_probe{source="molecule"} 42'
    path = TEXTFILE_DIR + "/molecule_probe.prom"
    host.check_output("printf '%%s\\n' '%s' > %s.tmp && mv %s.tmp %s" % (probe, path, path, path))
    try:
        assert probe in host.check_output(FETCH)
    finally:
        host.check_output("rm -f " + path)
    assert probe not in host.check_output(FETCH)
