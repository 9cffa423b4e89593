"""postgres_exporter and redis_exporter beside a real PostgreSQL and Redis: both services up, each exporter
logged in (pg_up 1, redis_up 1), the secrets only in their 0640 environment files. postgres_exporter behind TLS
and basic auth, redis_exporter (1.45, no basic auth) behind TLS with client certificates (redfire.ops.web_config)."""
import sys
import time
from pathlib import Path

import pytest
import testinfra

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from tests.lib.molecule_hosts import containers  # noqa: E402  pylint: disable=wrong-import-position
from tests.lib.web_probe import (  # noqa: E402  pylint: disable=wrong-import-position
    assert_client_certificate_required, assert_protected, probe)

CONTAINERS = containers("database_exporters")  # one per platform of molecule.yml
PG_PASSWORD = "Mol$ecule-pg_4711"  # as in molecule.yml
REDIS_PASSWORD = "Mol$ecule-redis_4711"
EXPORTERS = {
    # unit: (port, environment file, variable, secret, metric that proves the login)
    "prometheus-postgres-exporter": (9187, "/etc/default/redfire-postgres-exporter", "DATA_SOURCE_NAME",
                                     PG_PASSWORD, "pg_up 1"),
    "prometheus-redis-exporter": (9121, "/etc/default/redfire-redis-exporter", "REDIS_PASSWORD",
                                  REDIS_PASSWORD, "redis_up 1"),
}
# The scenario's scrape credentials (molecule.yml); the host certificate doubles as a client certificate.
USER, PASSWORD = "prometheus", "molecule-scrape-Secret-0815"
PG_WEB = "/etc/redfire-ops/web/postgres_exporter"
REDIS_WEB = "/etc/redfire-ops/web/redis_exporter"
CLIENT = {9187: {"ca": PG_WEB + "/ca.crt", "user": USER, "password": PASSWORD},
          9121: {"ca": REDIS_WEB + "/ca.crt", "cert": REDIS_WEB + "/tls.crt", "key": REDIS_WEB + "/tls.key"}}


@pytest.fixture(scope="module", params=CONTAINERS)
def container(request):
    return request.param


@pytest.fixture(scope="module")
def host(container):
    return testinfra.get_host("podman://" + container)


def journal(host, unit):
    return host.run("journalctl -u %s -n 40 --no-pager" % unit).stdout


def metrics(host, port, wanted, timeout=30):
    """The exporter's page once it holds the wanted line (the first scrape may race the login)."""
    deadline = time.monotonic() + timeout
    page = ""
    while time.monotonic() < deadline:
        page = probe(host, "https://127.0.0.1:%d/metrics" % port, **CLIENT[port]).get("body", "")
        if ("\n" + wanted + "\n") in page:
            return page
        time.sleep(1)
    return page


@pytest.mark.parametrize("unit", sorted(EXPORTERS))
def test_service_running_enabled_and_listening(host, unit):
    port = EXPORTERS[unit][0]
    svc = host.service(unit)
    assert svc.is_running and svc.is_enabled, journal(host, unit)
    assert host.socket("tcp://0.0.0.0:%d" % port).is_listening, journal(host, unit)


@pytest.mark.parametrize("unit", sorted(EXPORTERS))
def test_exporter_logged_in(host, unit):
    port, _path, _var, _secret, wanted = EXPORTERS[unit]
    page = metrics(host, port, wanted)
    assert "\n" + wanted + "\n" in page, page[-2000:] + journal(host, unit)


def test_postgres_metrics_from_the_server(host):
    page = metrics(host, 9187, "pg_up 1")
    assert 'pg_stat_database_numbackends{datid=' in page
    assert 'pg_settings_max_connections' in page


def test_redis_metrics_from_the_server(host):
    page = metrics(host, 9121, "redis_up 1")
    assert "redis_connected_clients" in page and "redis_memory_used_bytes" in page


@pytest.mark.parametrize("unit", sorted(EXPORTERS))
def test_secret_only_in_the_environment_file(host, unit):
    _port, path, var, secret, _wanted = EXPORTERS[unit]
    env = host.file(path)
    assert (env.user, env.group, env.mode) == ("root", "prometheus", 0o640)
    assert "%s='" % var in env.content_string and secret in env.content_string
    # Other users cannot read it (that systemd passes the "$" literally is proven by the login: pg_up/redis_up 1).
    denied = host.run("runuser -u nobody -- cat %s" % path)
    assert denied.rc != 0 and "Permission denied" in denied.stderr, denied
    # ... and nothing else shows it: not the command line, not the unit or its drop-in.
    pid = host.check_output("systemctl show -p MainPID --value %s" % unit)
    assert secret not in host.check_output("tr '\\0' ' ' < /proc/%s/cmdline" % pid)
    unit_text = host.check_output("systemctl cat %s" % unit)
    assert "EnvironmentFile=%s" % path in unit_text
    assert secret not in unit_text


def test_postgres_exporter_protected(host):
    assert_protected(host, "127.0.0.1:9187", "/metrics", PG_WEB + "/ca.crt", USER, PASSWORD, "pg_up")
    config = host.file(PG_WEB + "/web-config.yml")
    assert (config.user, config.group, config.mode) == ("root", "prometheus", 0o640)
    assert PASSWORD not in config.content_string


def test_redis_exporter_requires_a_client_certificate(host):
    assert_client_certificate_required(host, "127.0.0.1:9121", "/metrics", REDIS_WEB + "/ca.crt",
                                       REDIS_WEB + "/tls.crt", REDIS_WEB + "/tls.key", "redis_up")
    key = host.file(REDIS_WEB + "/tls.key")
    assert (key.user, key.group, key.mode) == ("root", "prometheus", 0o640)
