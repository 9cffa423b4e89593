"""Every role works in a play with gather_facts false: its preflight gathers the few facts it needs (os_family
for the Debian-only package installs, the architecture for the release tarballs, the kernel for tuning) instead
of failing on an undefined fact or assuming Debian. Runs each preflight in check mode on this machine."""
import json
import platform
import sys

import pytest
import yaml

from tests.conftest import run
from tests.lib import leaks

SHA = "a" * 64
ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
TARBALL_ROLES = ["prometheus", "alertmanager", "blackbox_exporter", "node_exporter", "postgres_exporter", "pushgateway",
                 "redis_exporter"]
ROLES = {
    **{role: {role + "_install_method": "tarball", role + "_checksum": SHA} for role in TARBALL_ROLES},
    "grafana": {"grafana_install": True, "grafana_admin_password": leaks.password("grafana admin password", "s3cret-Passw0rd")},
    "elasticsearch": {"elasticsearch_install": True, "elasticsearch_api_password": leaks.password("elasticsearch password", "es-Secret-42"),
                      "elasticsearch_tls_enabled": False},
    "logstash": {"logstash_install": True, "logstash_elasticsearch_hosts": ["http://127.0.0.1:9200"]},
    "filebeat": {"filebeat_install": True},
    "tuning": {},
}
# a valid extra flag passes the flag checks (the ones a role variable owns are refused: test_monitoring_preflight)
ROLES["blackbox_exporter"]["blackbox_exporter_extra_flags"] = ["--log.level=debug"]
ROLES["postgres_exporter"]["postgres_exporter_dsn"] = "postgresql://exporter:pw@127.0.0.1:5432/postgres"


@pytest.mark.parametrize("role", sorted(ROLES))
def test_preflight_gathers_the_facts_it_needs(tmp_path, role):
    result = tmp_path / "facts.json"
    seen = {"os_family": "{{ ansible_facts['os_family'] | default('undefined') }}",
            "architecture": "{{ ansible_facts['architecture'] | default('undefined') }}",
            "kernel": "{{ ansible_facts['kernel'] | default('undefined') }}"}
    if role in TARBALL_ROLES:
        seen["download_url"] = "{{ %s_download_url }}" % role
    play = [{"name": "No facts", "hosts": "localhost", "connection": "local", "gather_facts": False,
             # web_config's preflight (TLS and basic auth, on by default) needs the client password
             "vars": {"ansible_python_interpreter": sys.executable, "web_config_client_password": leaks.password("client password", "no-facts-Secret-2718")},
             "tasks": [{"name": "Preflight of " + role,
                        "ansible.builtin.include_role": {"name": "redfire.ops." + role, "tasks_from": "preflight",
                                                         "public": True},
                        "vars": ROLES[role]},
                       {"name": "What the role saw", "delegate_to": "localhost", "check_mode": False,
                        "ansible.builtin.copy": {"content": seen,
                                                 "dest": str(result), "mode": "0600"}}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    proc = run(["ansible-playbook", "--check", "-i", "localhost,", str(tmp_path / "play.yml")], check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "Traceback" not in out and "undefined" not in out.lower(), out[-3000:]
    facts = json.loads(result.read_text())
    assert facts["os_family"] == "Debian" and facts["architecture"] == platform.machine(), facts
    if role == "tuning":
        assert facts["kernel"] == platform.release(), facts
    if role in TARBALL_ROLES:
        assert "linux-%s" % ARCH in facts["download_url"], facts
