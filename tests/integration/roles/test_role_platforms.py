"""The one platform policy (redfire.ops.platform_verdict through component_install's `platform` tasks) in every
installing role's preflight, with the host facts of four platforms given as extra vars: Debian 12 and 13 (tested) pass
quietly; Ubuntu 24.04 passes and says no test ran there; a Rocky Linux host is refused before anything changes, with
a message that names what is supported and what to set; with the tarball method the exporter roles let it pass,
saying that it is untested. Each platform is one check-mode playbook run over all the roles on this machine."""
import json
import sys

import pytest
import yaml

from tests.conftest import run
from tests.lib import leaks
from tests.integration.roles.test_roles_without_facts import ROLES, TARBALL_ROLES

PACKAGE_ROLES = ["grafana", "elasticsearch", "logstash", "filebeat"]
ALL_ROLES = TARBALL_ROLES + PACKAGE_ROLES + ["rulebook", "host_prereqs"]
BASE = {"architecture": "x86_64", "kernel": "6.1.0", "memtotal_mb": 8192, "fqdn": "host.example.test",
        "discovered_interpreter_python": sys.executable}
PLATFORMS = {
    "debian12": {"os_family": "Debian", "distribution": "Debian", "distribution_major_version": "12",
                 "distribution_version": "12.8", "distribution_release": "bookworm"},
    "debian13": {"os_family": "Debian", "distribution": "Debian", "distribution_major_version": "13",
                 "distribution_version": "13.2", "distribution_release": "trixie"},
    "ubuntu2404": {"os_family": "Debian", "distribution": "Ubuntu", "distribution_major_version": "24",
                   "distribution_version": "24.04", "distribution_release": "noble"},
    "rocky9": {"os_family": "RedHat", "distribution": "Rocky", "distribution_major_version": "9",
               "distribution_version": "9.4", "distribution_release": "Blue Onyx"},
}
RULEBOOK = {"rulebook_token": "platform-test-token-0123456789",
            "rulebook_inventory": {"all": {"hosts": {"app1": {"ansible_host": "127.0.0.1"}}}}}


def role_vars(role, method):
    values = dict(ROLES.get(role) or (RULEBOOK if role == "rulebook" else {}))
    if role in TARBALL_ROLES:
        values[role + "_install_method"] = method
    return values


def run_preflights(tmp_path, platform, method):
    """{role: failure message or ''} and the run's output, for every installing role's preflight."""
    results = tmp_path / ("%s-%s.json" % (platform, method))
    roles = ALL_ROLES
    tasks = []
    for role in roles:
        tasks.append({"name": "Preflight of " + role, "block": [
            {"name": "Run the preflight of " + role,
             "ansible.builtin.include_role": {"name": "redfire.ops." + role, "tasks_from": "preflight"},
             "vars": role_vars(role, method)},
            {"name": "Record that it passed", "ansible.builtin.set_fact": {"seen": "{{ seen | combine({'%s': ''}) }}" % role}},
        ], "rescue": [
            {"name": "Record why it failed",
             "ansible.builtin.set_fact": {"seen": "{{ seen | combine({'%s': ansible_failed_result.msg}) }}" % role}},
        ]})
    tasks.append({"name": "Write what each preflight said", "check_mode": False,
                  "ansible.builtin.copy": {"content": "{{ seen | to_json }}", "dest": str(results), "mode": "0600"}})
    play = [{"name": "Platform " + platform, "hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": sys.executable, "seen": {},
                      "web_config_client_password": leaks.password("platform client password", "platform-Secret-2718")},
             "tasks": tasks}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    facts = dict(BASE, **PLATFORMS[platform])
    proc = run(["ansible-playbook", "--check", "-i", "localhost,", str(tmp_path / "play.yml"),
                "-e", json.dumps({"ansible_facts": facts})], check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Traceback" not in out, out[-3000:]
    return json.loads(results.read_text()), out


@pytest.mark.parametrize("platform", ["debian12", "debian13"])
def test_tested_debian_passes_without_a_word(tmp_path, platform):
    seen, out = run_preflights(tmp_path, platform, "package")
    assert seen == {role: "" for role in seen} and len(seen) == len(ALL_ROLES), seen
    assert "Untested platform" not in out


def test_ubuntu_passes_and_says_it_is_untested(tmp_path):
    seen, out = run_preflights(tmp_path, "ubuntu2404", "package")
    assert seen == {role: "" for role in seen} and len(seen) == len(ALL_ROLES), seen
    for role in seen:
        assert ("Untested platform: %s is tested on Debian 12 (bookworm), Debian 13 (trixie); this host runs Ubuntu 24.04 (noble)" % role) in out


@pytest.mark.parametrize("method", ["package", "tarball"])
def test_another_os_family_is_refused_before_anything_changes(tmp_path, method):
    seen, out = run_preflights(tmp_path, "rocky9", method)
    assert len(seen) == len(ALL_ROLES), seen
    for role, message in seen.items():
        if method == "tarball" and role in TARBALL_ROLES:
            assert message == "", (role, message)
            assert ("Untested platform: %s is tested on Debian 12 (bookworm), Debian 13 (trixie); this host runs Rocky 9.4 (Blue Onyx), "
                    "RedHat family: the tarball install" % role) in out
            continue
        assert message.startswith("%s installs Debian packages with apt" % role), (role, message)
        assert "tested on Debian 12 (bookworm), Debian 13 (trixie); this host runs Rocky 9.4 (Blue Onyx), RedHat family." in message
        if role in TARBALL_ROLES:
            assert "Set %s_install_method: tarball" % role in message
        elif role in PACKAGE_ROLES or role == "host_prereqs":
            assert "set %s_install: false" % role in message
        else:
            assert message.endswith("Leave this host out of the play."), message
    # refused in preflight: the install tasks were never reached
    assert "TASK [redfire.ops.component_install : Install" not in out and "ansible.builtin.apt" not in out
