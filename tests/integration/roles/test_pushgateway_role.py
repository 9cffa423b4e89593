"""redfire.ops.pushgateway in a Debian 12 systemd container (podman exec): check mode changes nothing, a first run
installs Debian's prometheus-pushgateway through component_install and runs it through component_service with TLS
and basic auth (web_config, the run's own CA) and the persistence file; a second run changes nothing. Then a push
with the client's password reaches it over HTTPS, and without the password it is refused."""
import base64
import ssl
import urllib.error
import urllib.request

import pytest
import yaml

from tests.integration.checklists.conftest import assert_check_then_idempotent, start_hosts, stop_hosts
from tests.conftest import run
from tests.lib import leaks

PASSWORD = leaks.password("pushgateway password", "pushgateway-Secret-2026")
PLAY = """- name: Pushgateway
  hosts: all
  gather_facts: false
  roles:
    - role: redfire.ops.pushgateway
"""


@pytest.fixture(scope="module")
def host():
    hosts = start_hosts("pgw", 1, connection="podman", platforms=("debian13",))
    yield hosts[0]
    stop_hosts(hosts)


def playbook(tmp_path, host, *extra):
    # the certificate names the address this test reaches the container at
    inventory = {"all": {"hosts": {host.name: dict(host.hostvars(), ansible_python_interpreter="/usr/bin/python3")},
                         "vars": {"web_config_client_password": PASSWORD, "web_config_ca_dir": str(tmp_path / "ca"),
                                  "web_config_cert_extra_names": [host.address()]}}}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory), encoding="utf-8")
    (tmp_path / "play.yml").write_text(PLAY, encoding="utf-8")
    return run(["ansible-playbook", "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml")] + list(extra),
               check=False, timeout=600)


def push(url, ca, auth=True, body=b"redfire_test_metric 1\n"):
    request = urllib.request.Request(url, data=body, method="PUT")
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(("prometheus:" + PASSWORD).encode()).decode())
    with urllib.request.urlopen(request, timeout=5, context=ssl.create_default_context(cafile=ca)) as answer:
        return answer.status


def test_pushgateway_role_installs_secures_and_is_idempotent(host, tmp_path):
    assert_check_then_idempotent(lambda *flags: playbook(tmp_path, host, *flags), host, "/usr/bin/prometheus-pushgateway")

    state = host.exec("systemctl is-active prometheus-pushgateway; systemctl show -p ExecStart prometheus-pushgateway",
                      check=False)
    assert state.stdout.startswith("active"), state.stdout + host.exec(
        "journalctl -u prometheus-pushgateway --no-pager | tail -30", check=False).stdout
    assert "--persistence.file=/var/lib/prometheus/pushgateway.data" in state.stdout
    assert "--web.config.file=/etc/redfire-ops/web/pushgateway/web-config.yml" in state.stdout
    ca = str(tmp_path / "ca" / "ca.crt")
    url = "https://%s:9091/metrics/job/redfire_checklist/checklist/daily_check" % host.address()
    assert push(url, ca) in (200, 202)
    with pytest.raises(urllib.error.HTTPError) as refused:
        push(url, ca, auth=False)
    assert refused.value.code == 401
