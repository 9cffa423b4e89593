"""redfire.ops.rulebook's configure phase in a Debian 12 systemd container (podman exec), web security on: the
webhook's certificate from web_config's private CA in /etc/redfire-ops/web/rulebook, the TLS copy of the collection's
rulebook (found beside the role, rendered by redfire.ops.rulebook_webhook_tls) as the service's rulebook, the token
file 0640; check mode changes nothing and a second run changes nothing. Preflight refuses a rulebook that is not on
the controller before anything changes.

Not run here: the install phase (Java and ansible-rulebook from PyPI into the container's venv: the test images are
offline) and so the service itself; the rendered rulebook is served over TLS by the real ansible-rulebook in
tests/integration/incident/."""
import pytest
import yaml

from tests.conftest import run
from tests.integration.checklists.conftest import assert_check_then_idempotent, start_hosts, stop_hosts
from tests.lib import leaks

TOKEN = leaks.password("rulebook role token", "rulebook-Role-Token-2026")
PASSWORD = leaks.password("rulebook role client password", "rulebook-Client-Secret-2026")
PLAY = """- name: The rulebook's configure phase
  hosts: all
  gather_facts: false
  pre_tasks:
    - name: The service's user, as the install phase creates it
      ansible.builtin.user:
        name: redfire-rulebook
        system: true
        create_home: false
  tasks:
    - name: Preflight
      ansible.builtin.include_role:
        name: redfire.ops.rulebook
        tasks_from: preflight
    - name: Configure
      ansible.builtin.include_role:
        name: redfire.ops.rulebook
        tasks_from: configure
"""


@pytest.fixture(scope="module")
def host():
    hosts = start_hosts("rulebook", 1, connection="podman", platforms=("debian13",))
    yield hosts[0]
    stop_hosts(hosts)


def playbook(tmp_path, host, *extra, **role_vars):
    inventory = {"all": {"hosts": {host.name: dict(host.hostvars(), ansible_python_interpreter="/usr/bin/python3")},
                         "vars": dict({"web_config_client_password": PASSWORD, "web_config_ca_dir": str(tmp_path / "ca"),
                                       "rulebook_token": TOKEN,
                                       "rulebook_inventory": {"all": {"hosts": {"localhost": {"ansible_connection": "local"}}}}},
                                      **role_vars)}}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory), encoding="utf-8")
    (tmp_path / "play.yml").write_text(PLAY, encoding="utf-8")
    return run(["ansible-playbook", "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml")] + list(extra),
               check=False, timeout=600)


def test_configure_serves_the_rulebook_over_tls_and_is_idempotent(host, tmp_path):
    proc = assert_check_then_idempotent(lambda *flags: playbook(tmp_path, host, *flags), host,
                                        "/var/lib/redfire-rulebook/rulebook.yml")
    assert TOKEN not in proc.stdout

    rendered = yaml.safe_load(host.exec("cat /var/lib/redfire-rulebook/rulebook.yml").stdout)
    webhook = rendered[0]["sources"][0]["eda.builtin.webhook"]
    assert webhook["certfile"] == "/etc/redfire-ops/web/rulebook/tls.crt"
    assert webhook["keyfile"] == "/etc/redfire-ops/web/rulebook/tls.key"
    assert webhook["token"] == "{{ REDFIRE_RULEBOOK_TOKEN }}" and "cafile" not in webhook
    assert rendered[0]["rules"][0]["action"]["run_playbook"]["name"] == "redfire.ops.incident_auto"
    # the key readable by the service's group only; the certificate is the private CA's for this host
    modes = host.exec("stat -c '%n %a %U:%G' /etc/redfire-ops/web/rulebook/tls.key /etc/default/redfire-rulebook").stdout
    assert "tls.key 640 root:redfire-rulebook" in modes and "redfire-rulebook 640 root:redfire-rulebook" in modes, modes
    subject = run(["openssl", "x509", "-noout", "-issuer", "-ext", "subjectAltName"],
                  input=host.exec("cat /etc/redfire-ops/web/rulebook/tls.crt").stdout).stdout
    assert "redfire.ops private CA" in subject and "IP Address:127.0.0.1" in subject, subject


def test_preflight_refuses_a_rulebook_not_on_the_controller(host, tmp_path):
    before = host.exec("stat -c %Y /var/lib/redfire-rulebook/rulebook.yml", check=False).stdout
    proc = playbook(tmp_path, host, rulebook_rulebook="/nowhere/alerts.yml")
    assert proc.returncode != 0
    assert 'rulebook_rulebook "/nowhere/alerts.yml" is not a rulebook on the controller' in proc.stdout, proc.stdout[-3000:]
    assert host.exec("stat -c %Y /var/lib/redfire-rulebook/rulebook.yml", check=False).stdout == before
