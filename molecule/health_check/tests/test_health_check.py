"""health_check's textfile, served by node_exporter in the systemd container."""
import re
import sys
from pathlib import Path

import pytest
import testinfra

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from tests.lib.molecule_hosts import containers  # noqa: E402  pylint: disable=wrong-import-position
from tests.lib.web_probe import probe  # noqa: E402  pylint: disable=wrong-import-position

CONTAINERS = containers("health_check")  # one per platform of molecule.yml
TEXTFILE = "/var/lib/prometheus/node-exporter/redfire_health.prom"
# node_exporter behind TLS and basic auth, with the scenario's test credentials (molecule.yml host_vars)
URL, CA = "https://127.0.0.1:9100/metrics", "/etc/redfire-ops/web/node_exporter/ca.crt"
USER, PASSWORD = "prometheus", "molecule-scrape-Secret-0815"


@pytest.fixture(scope="module", params=CONTAINERS)
def container(request):
    return request.param


@pytest.fixture(scope="module")
def host(container):
    return testinfra.get_host("podman://" + container)


def test_textfile_written_atomically(host):
    f = host.file(TEXTFILE)
    assert f.is_file and f.mode == 0o644
    leftovers = host.check_output("ls -A /var/lib/prometheus/node-exporter")
    assert [n for n in leftovers.split() if n.endswith(".tmp")] == []


def test_node_exporter_serves_health_series(host):
    result = probe(host, URL, CA, USER, PASSWORD)
    assert result["status"] == 200, result
    metrics = result["body"]
    status = dict(re.findall(r'^redfire_health_check_status\{check="([^"]+)",kind="[^"]+"\} (\d)$', metrics, re.M))
    assert status["service:prometheus-node-exporter"] == "0", status
    assert status["service:systemd-journald"] == "0"
    assert status["service:redfire-molecule-missing"] == "2"
    assert status["port:9100"] == "0" and status["node_exporter"] == "0" and status["disk:/"] in "012"
    assert status["log_errors"] == "1" and status["log_size"] == "0"  # two error lines: above warning 0
    assert re.search(r'^redfire_health_check_value\{check="log_errors",kind="log_errors",unit=""\} 2$', metrics, re.M)
    assert re.search(r'^redfire_health_check_value\{check="memory",kind="memory",unit="%"\} [0-9.e+]+$', metrics, re.M)
    assert re.search(r"^redfire_health_check_overall_status 2$", metrics, re.M)
    assert re.search(r"^redfire_health_check_last_run_timestamp_seconds [0-9.e+]+$", metrics, re.M)
    # the textfile collector read the file without error
    assert re.search(r'^node_textfile_scrape_error 0$', metrics, re.M)


def test_host_prereqs_installed_psutil_only(host):
    """The bare image had none of the libraries; the daily check configures no PostgreSQL or Redis checks here."""
    assert host.package("python3-psutil").is_installed
    assert not host.package("python3-psycopg2").is_installed and not host.package("python3-redis").is_installed
    assert host.run("python3 -c 'import psutil'").rc == 0
