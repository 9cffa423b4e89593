"""Bare hosts, as a fresh server is: python3, systemd and sshd, no psutil nor database client libraries. The daily
check reports a host that lacks them as not checked, naming the package, and checks the others as usual;
redfire.ops.host_prereqs (site.yml's first play) installs them: check mode changes nothing, the second run
changes nothing, and the Redis client only where the host has Redis checks."""
import json

import pytest

from tests.integration.checklists.conftest import start_hosts, stop_hosts, write_inventory
from tests.integration.checklists.test_checklists import COMMON, newest, playbook, recap

IMPORTS = "python3 -c 'import psutil' && echo psutil; python3 -c 'import redis' && echo redis; true"


@pytest.fixture(scope="module")
def bare_hosts(tmp_path_factory):
    hosts = start_hosts("bare", 2, host_libraries=False)
    inventory = write_inventory(tmp_path_factory.mktemp("inv") / "inventory.yml", hosts, **COMMON)
    yield hosts, inventory
    stop_hosts(hosts)


def libraries(host):
    return host.exec(IMPORTS, check=False).stdout.split()


def test_bare_host_is_not_checked_until_host_prereqs_ran(bare_hosts, tmp_path):
    (ready, bare), inventory = bare_hosts
    assert libraries(ready) == libraries(bare) == []
    # only the first host gets the Redis client: it is asked for where the daily check has Redis checks
    redis_on_ready = json.dumps({"host_prereqs_redis": "{{ inventory_hostname == '%s' }}" % ready.name})

    proc = playbook(inventory, "site.yml", "--tags", "host_prereqs", "--limit", ready.name, "--check", "-e", redis_on_ready)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert recap(proc.stdout)[ready.name]["changed"] == 1 and libraries(ready) == [], proc.stdout[-3000:]

    proc = playbook(inventory, "site.yml", "--tags", "host_prereqs", "--limit", ready.name, "-e", redis_on_ready)
    assert proc.returncode == 0 and recap(proc.stdout)[ready.name]["changed"] == 1, proc.stdout[-4000:]
    assert libraries(ready) == ["psutil", "redis"] and libraries(bare) == []

    proc = playbook(inventory, "daily_check.yml", "-e", "redfire_report_dir=%s" % tmp_path)
    assert proc.returncode == 2, proc.stdout[-4000:]  # a host not checked fails the run, after the report
    report = json.loads(newest(tmp_path, "daily_check", "json").read_text(encoding="utf-8"))
    by_host = {h["name"]: h for h in report["hosts"]}
    assert by_host[ready.name]["not_checked"] is None and by_host[ready.name]["status"] in ("ok", "warning")
    assert {"memory", "disk:/data", "service:redfire-app"} <= {c["name"] for c in by_host[ready.name]["checks"]}
    why = by_host[bare.name]["not_checked"]
    assert why["reason"] == "missing_library", why
    assert why["message"] == "health_check needs psutil on this host: install python3-psutil (redfire.ops.host_prereqs)"
    assert "not checked: %s; see the report" % bare.name in proc.stdout

    proc = playbook(inventory, "site.yml", "--tags", "host_prereqs", "-e", redis_on_ready)
    counts = recap(proc.stdout)
    assert proc.returncode == 0 and counts[bare.name]["changed"] == 1 and counts[ready.name]["changed"] == 0, counts
    assert libraries(bare) == ["psutil"]
    proc = playbook(inventory, "site.yml", "--tags", "host_prereqs", "-e", redis_on_ready)
    assert proc.returncode == 0 and all(c["changed"] == 0 for c in recap(proc.stdout).values()), proc.stdout[-3000:]

    proc = playbook(inventory, "daily_check.yml", "-e", "redfire_report_dir=%s" % (tmp_path / "after"))
    assert proc.returncode == 0, proc.stdout[-4000:]
    report = json.loads(newest(tmp_path / "after", "daily_check", "json").read_text(encoding="utf-8"))
    assert [h["not_checked"] for h in report["hosts"]] == [None, None], report["hosts"]
