"""The daily check reports each platform fault for the faulty host only (issue 13): three podman systemd hosts
over real SSH, a mixed fleet of Debian 12 and 13, each with the PostgreSQL and Redis of its Debian release, the
first also with the RedFire stand-in backend (lab/redfire_standin, as a systemd unit) on its own PostgreSQL and
Redis, all set up by the lab's own playbook (lab/platform.yml). Then one fault per host, each real:

- app host: the backend's `errors` fault (5xx answers, category errors in its log), then `crash` (the process
  exits, the unit stays failed);
- database host: PostgreSQL stopped;
- cache host: Redis stopped.

One daily check (playbooks/daily_check.yml) over the three: each host's report lists exactly the checks its own
fault breaks, critical, and every other check of that host ok, while the other hosts' checks of the same kind
stay ok."""
import json
import secrets

import pytest
import yaml

from tests.conftest import ROOT, run
from tests.integration.checklists.conftest import write_inventory
from tests.lib import leaks
from tests.lib.monitoring import wait_for

BACKEND_FAULTS = "/etc/redfire/faults/backend"


def playbook(inventory, path, *extra, timeout=600):
    return run(["ansible-playbook", "-i", str(inventory), str(path)] + list(extra), check=False, cwd=str(ROOT), timeout=timeout)


def postgresql_unit(host):
    """The unit of the host's `main` cluster: its version is the distribution's (15 on Debian 12, 17 on 13)."""
    clusters = host.exec("pg_lsclusters --no-header").stdout.split("\n")
    version = next(line.split()[0] for line in clusters if line.split()[1:2] == ["main"])
    return "postgresql@%s-main" % version


@pytest.fixture(scope="module")
def platform(lab_hosts, tmp_path_factory):
    """The three lab hosts (a mixed fleet: Debian 12 and 13) as the lab's platform: all in `database` and `cache`,
    the first in `app`; the daily check's configuration of each as lab/inventory.yml has it."""
    app, database, cache = lab_hosts
    passwords = {name: leaks.password(name, secrets.token_hex(12)) for name in ("lab_postgres_password", "lab_redis_password")}
    inventory_path = tmp_path_factory.mktemp("platform") / "inventory.yml"
    write_inventory(inventory_path, lab_hosts)
    inventory = yaml.safe_load(inventory_path.read_text(encoding="utf-8"))
    everyone = {"hosts": {h.name: {} for h in lab_hosts}}
    inventory["all"]["children"].update({"database": everyone, "cache": everyone, "app": {"hosts": {app.name: {}}}})
    inventory_path.write_text(yaml.safe_dump(inventory), encoding="utf-8")

    # the backend (user redfire) writes /var/log/redfire/app.log itself: not the root-owned file the hosts start with
    app.exec("rm -f /var/log/redfire/app.log")
    # each backend talks to the PostgreSQL and Redis of its own host (the lab's: those of the data host)
    # (passwords in a file, not on the command line); apt on three hosts at once: generous on a busy machine
    lab_vars = inventory_path.with_name("lab_vars.json")
    lab_vars.write_text(json.dumps(dict(passwords, lab_subnet="127.0.0.0/8", lab_data_host="127.0.0.1",
                                        lab_cache_host="127.0.0.1")), encoding="utf-8")
    deployed = playbook(inventory_path, ROOT / "lab" / "platform.yml", "-f", "3", "-e", "@%s" % lab_vars, timeout=1800)
    assert deployed.returncode == 0, deployed.stdout[-6000:]

    # the daily check's configuration, with each host's own PostgreSQL unit
    units = {h.name: postgresql_unit(h) for h in lab_hosts}
    lab = inventory["all"]["children"]["lab"]
    lab["vars"].update({
        # cpu and load of a shared 2-core machine say nothing about the hosts: the checks the faults are about
        "redfire_daily_health_checks": ["services", "ports", "postgresql", "redis"],
        "redfire_daily_ports": [5432, 6379],
        # the faults stop servers, they do not slow them: latency limits that a loaded machine does not reach
        # (the default 0.5 s warning was passed by a SELECT 1 in 0.53 s during a full test run)
        "redfire_daily_postgresql": [{"name": "postgresql", "host": "127.0.0.1", "user": "redfire", "database": "redfire",
                                      "password": passwords["lab_postgres_password"], "warning": 10, "critical": 20}],
        "redfire_daily_redis": [{"name": "redis", "host": "127.0.0.1", "password": passwords["lab_redis_password"],
                                 "warning": 10, "critical": 20}],
        "redfire_daily_timeout": 20,
        "redfire_daily_log_errors_warning": 0, "redfire_daily_log_errors_critical": 3,
    })
    for host in lab_hosts:
        lab["hosts"][host.name]["redfire_daily_services"] = [units[host.name], "redis-server"]
    lab["hosts"][app.name].update({
        "redfire_daily_health_checks": ["services", "ports", "postgresql", "redis", "http"],
        "redfire_daily_services": [units[app.name], "redis-server", "redfire-backend"],
        "redfire_daily_ports": [5432, 6379, 8000],
        "redfire_daily_http": [{"url": "http://127.0.0.1:8000/health", "name": "backend_health"}],
    })
    inventory_path.write_text(yaml.safe_dump(inventory), encoding="utf-8")
    return {"app": app, "database": database, "cache": cache, "inventory": inventory_path, "passwords": passwords,
            "hosts": lab_hosts, "postgresql_units": units}


def _backend_error_lines(host):
    return int(host.exec("grep -c ' ERROR ' /var/log/redfire/app.log || true").stdout.strip() or 0)


def test_daily_check_reports_each_platform_fault_for_its_host_only(platform, tmp_path):
    app, database, cache = platform["app"], platform["database"], platform["cache"]
    # healthy before the faults: every unit the faults will touch runs, the backend answers its health check
    units = platform["postgresql_units"]
    for host in platform["hosts"]:
        assert host.exec("systemctl is-active %s redis-server" % units[host.name]).stdout.split() == ["active", "active"]
    assert '"status": "ok"' in app.exec("python3 -c 'import urllib.request; "
                                        "print(urllib.request.urlopen(\"http://127.0.0.1:8000/health\").read().decode())'").stdout
    errors_before = _backend_error_lines(app)

    # the faults: backend errors then a crash on the app host, PostgreSQL down, Redis down
    app.exec("printf 'errors\\n' > %s" % BACKEND_FAULTS)
    wait_for(lambda: _backend_error_lines(app) >= errors_before + 5, 60, interval=1, what="the backend's error lines")
    app.exec("printf 'crash\\n' > %s" % BACKEND_FAULTS)
    wait_for(lambda: app.exec("systemctl is-failed redfire-backend", check=False).stdout.strip() == "failed", 60,
             interval=1, what="the crashed backend's unit failed")
    database.exec("systemctl stop %s" % units[database.name])
    cache.exec("systemctl stop redis-server")

    proc = playbook(platform["inventory"], ROOT / "playbooks" / "daily_check.yml", "-f", "3",
                    "-e", "redfire_report_dir=%s" % tmp_path)
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert "REDFIRE_REPORT_STATUS=critical" in proc.stdout
    report = json.loads(sorted(tmp_path.glob("daily_check-*.json"))[-1].read_text(encoding="utf-8"))
    checks = {h["name"]: {c["name"]: c for c in h["checks"]} for h in report["hosts"]}
    assert set(checks) == {h.name for h in platform["hosts"]}

    expected = {
        app.name: {"service:redfire-backend", "port:8000", "backend_health", "log_errors"},
        database.name: {"service:" + units[database.name], "port:5432", "postgresql"},
        cache.name: {"service:redis-server", "port:6379", "redis"},
    }
    for host, broken in expected.items():
        failing = {name for name, c in checks[host].items() if c["status"] != "ok"}
        assert failing == broken, (host, {n: (c["status"], c["message"]) for n, c in checks[host].items() if n in failing ^ broken})
        assert all(checks[host][name]["status"] == "critical" for name in broken), (host, checks[host])
        # the host's other checks ran, and are ok: PostgreSQL and Redis answered on the hosts where they run
        assert {"postgresql", "redis", "service:" + units[host], "service:redis-server", "log_size"} <= set(checks[host])
    assert {(p["host"], p["check"]) for p in report["problems"]} == {(h, c) for h, broken in expected.items() for c in broken}
    # the error lines the `errors` fault wrote, counted by category
    assert checks[app.name]["log_errors"]["value"] >= 5 and "_error=" in checks[app.name]["log_errors"]["message"], \
        checks[app.name]["log_errors"]
    for secret in platform["passwords"].values():
        for text in [proc.stdout, proc.stderr] + [p.read_text(encoding="utf-8") for p in tmp_path.iterdir()]:
            assert secret not in text
