"""A password change of the endpoints (issue 19) in a Debian 12 systemd container with node_exporter and Prometheus as
site.yml deploys them (its node_exporter play, then the monitoring play's prometheus role; Prometheus scrapes both
over TLS with basic auth every 2 s), judged by Prometheus's own raw `up` samples:

- a plain site.yml run with a new password leaves targets refused (down) for several scrapes in a row: node_exporter
  takes the new password in its play, Prometheus sends it only from the monitoring play on (the check can fail);
- redfire.ops.web_password_rollout with the next password: no target down for more than one scrape, the new password
  works and the old one is refused, no staged file left behind;
- the rollout in check mode with yet another password changes nothing; a second rollout with the same password
  changes nothing."""
import base64
import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml

from tests.conftest import ROOT, run
from tests.integration.checklists.conftest import start_hosts, stop_hosts
from tests.integration.checklists.test_checklists import recap
from tests.lib import leaks

PASSWORDS = [leaks.password("rollout password %d" % i, "rollout-Secret-%d-2026-abcdef" % i) for i in range(4)]
# site.yml's phases of the two endpoints (the other monitoring roles are the same mechanism: molecule/monitoring)
DEPLOY_TAGS = "host_prereqs,node_exporter,prometheus_install,prometheus_configure,prometheus_run"
TAGS = "node_exporter_configure,prometheus_configure"
ENDPOINT_PORTS = (9090, 9100)
STAGED = "find /etc/redfire-ops/web /etc/prometheus -name '*.next'"


@pytest.fixture(scope="module")
def host():
    hosts = start_hosts("rollout", 1, connection="podman")
    yield hosts[0]
    stop_hosts(hosts)


def deploy(tmp_path, host, playbook, password, *extra):
    node = {host.name: dict(host.hostvars(), ansible_python_interpreter="/usr/bin/python3")}
    # node_exporter: the group whose hosts Prometheus scrapes for node metrics
    variables = {"web_config_client_password": password, "web_config_ca_dir": str(tmp_path.parent / "ca"),
                 "web_config_cert_extra_names": [host.address()], "redfire_site_grafana": False,
                 "prometheus_scrape_interval": "2s", "prometheus_scrape_timeout": "2s",
                 "prometheus_evaluation_interval": "1s", "prometheus_redfire_jobs": [],
                 "alertmanager_webhook_url": "http://127.0.0.1:9095/alerts"}
    inventory = {"all": {"children": {"monitoring": {"hosts": node}, "node_exporter": {"hosts": node}}, "vars": variables}}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory), encoding="utf-8")
    return run(["ansible-playbook", "-i", str(tmp_path / "inventory.yml"), str(ROOT / "playbooks" / playbook)] + list(extra),
               check=False, timeout=900)


def get(host, tmp_path, path, password, port=9090):
    request = urllib.request.Request("https://%s:%d%s" % (host.address(), port, path))
    request.add_header("Authorization", "Basic " + base64.b64encode(("prometheus:" + password).encode()).decode())
    context = ssl.create_default_context(cafile=str(tmp_path.parent / "ca" / "ca.crt"))
    with urllib.request.urlopen(request, timeout=5, context=context) as answer:
        return answer.status, answer.read()


# Inside the container: Alertmanager and the Pushgateway listen on loopback. The password comes on stdin, never
# on a command line.
STATUS = """import base64, json, ssl, sys, urllib.error, urllib.request
q = json.load(sys.stdin)
r = urllib.request.Request("https://127.0.0.1:%d/metrics" % q["port"])
r.add_header("Authorization", "Basic " + base64.b64encode(("prometheus:" + q["password"]).encode()).decode())
try:
    print(urllib.request.urlopen(r, timeout=5, context=ssl.create_default_context(cafile=q["ca"])).status)
except urllib.error.HTTPError as exc:
    print(exc.code)
"""


def status(host, password, port):
    """The HTTP status of /metrics on that port, asked from the host itself with that password."""
    ca = "/etc/redfire-ops/web/node_exporter/ca.crt"
    proc = run(["podman", "exec", "-i", host.name, "python3", "-c", STATUS], check=False,
               input=json.dumps({"port": port, "password": password, "ca": ca}))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return int(proc.stdout.strip())


def samples_since(host, tmp_path, password, since):
    """job/instance -> the raw `up` samples ("0"/"1") scraped after `since` (Prometheus's own record)."""
    seconds = int(time.time() - since) + 2
    body = json.loads(get(host, tmp_path, "/api/v1/query?query=up%%5B%ds%%5D" % seconds, password)[1])
    return {"%s/%s" % (r["metric"]["job"], r["metric"]["instance"]): [v for t, v in r["values"] if t >= since]
            for r in body["data"]["result"]}


def longest_down(samples):
    longest = current = 0
    for value in samples:
        current = current + 1 if value == "0" else 0
        longest = max(longest, current)
    return longest


def endpoints_up(host, tmp_path, password):
    """job/instance -> "1"/"0" of the scrapes of the endpoints Prometheus scrapes now (not the series of the
    package's own first configuration, nor the monitoring roles this test does not deploy), or {}."""
    try:
        targets = json.loads(get(host, tmp_path, "/api/v1/targets?state=active", password)[1])["data"]["activeTargets"]
    except (OSError, urllib.error.URLError, ValueError):
        return {}
    return {"%s/%s" % (t["labels"]["job"], t["labels"]["instance"]): "1" if t["health"] == "up" else "0"
            for t in targets if urllib.parse.urlsplit(t["scrapeUrl"]).port in ENDPOINT_PORTS}


def wait_all_up(host, tmp_path, password, timeout=90):
    deadline = time.monotonic() + timeout
    seen = {}
    while time.monotonic() < deadline:
        seen = endpoints_up(host, tmp_path, password)
        if {int(t.rsplit(":", 1)[1]) for t in seen} == set(ENDPOINT_PORTS) and set(seen.values()) == {"1"}:
            return seen
        time.sleep(1)
    raise AssertionError("not every endpoint up with the current password within %ss: %s" % (timeout, seen))


def test_a_password_change_rolls_out_with_no_target_down_for_more_than_one_scrape(host, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rollout")
    first, plain, rolled, unused = PASSWORDS
    proc = deploy(tmp, host, "site.yml", first, "--tags", DEPLOY_TAGS)
    assert proc.returncode == 0, proc.stdout[-6000:]
    targets = set(wait_all_up(host, tmp, first))

    # the control: a plain site run gives node_exporter the password minutes (here seconds) before Prometheus
    started = time.time()
    proc = deploy(tmp, host, "site.yml", plain, "--tags", TAGS)
    assert proc.returncode == 0, proc.stdout[-6000:]
    wait_all_up(host, tmp, plain)
    time.sleep(2)
    plain_down = {t: longest_down(s) for t, s in samples_since(host, tmp, plain, started).items() if t in targets}
    assert max(plain_down.values()) >= 3, plain_down

    started = time.time()
    proc = deploy(tmp, host, "web_password_rollout.yml", rolled, "--tags", TAGS)
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert "Swap in the staged web configs and client password" in proc.stdout
    time.sleep(3)
    rolled_samples = {t: s for t, s in samples_since(host, tmp, rolled, started).items() if t in targets}
    rolled_down = {t: longest_down(s) for t, s in rolled_samples.items()}
    assert set(rolled_down) == targets and all(len(s) >= 5 for s in rolled_samples.values()), rolled_samples
    assert max(rolled_down.values()) <= 1, (rolled_down, plain_down)
    assert set(endpoints_up(host, tmp, rolled).values()) == {"1"}
    for port in ENDPOINT_PORTS:
        assert status(host, rolled, port) == 200, port
        assert status(host, plain, port) == 401, port
    assert host.exec(STAGED, check=False).stdout.strip() == ""
    mode = host.exec("stat -c '%a %U:%G' /etc/redfire-ops/web/node_exporter/web-config.yml /etc/prometheus/web_client_password")
    assert mode.stdout.split("\n")[:2] == ["640 root:prometheus", "640 root:prometheus"], mode.stdout

    # check mode with another password: nothing staged, nothing swapped
    proc = deploy(tmp, host, "web_password_rollout.yml", unused, "--tags", TAGS, "--check")
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert host.exec(STAGED, check=False).stdout.strip() == ""
    assert status(host, rolled, 9100) == 200

    # the same password again: nothing to do
    proc = deploy(tmp, host, "web_password_rollout.yml", rolled, "--tags", TAGS)
    assert proc.returncode == 0 and recap(proc.stdout)[host.name]["changed"] == 0, proc.stdout[-4000:]
