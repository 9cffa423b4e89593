"""redfire.ops.host_audit on two real systemd containers (Debian 12): one clean, one with a stale backup, a corrupt
custom-format dump, old package lists, `PermitRootLogin yes` in an Include file, an unexpected listener, an extra
UID-0 account, an account without a password and a world-writable file. Each problem must be reported, with its
machine-readable reason, for the dirty host only. Dumps are made by a real PostgreSQL 15 with pg_dump."""
import json
import textwrap
import threading

import yaml

from tests.conftest import ROOT, project_env, run
from tests.lib.containers import SystemdContainer
from tests.lib.datastores import make_dumps
from tests.lib.monitoring import wait_for

BACKUPS = "/var/backups/postgresql"
FILES = "/var/backups/app"


def put(box, local, remote, age):
    run(["podman", "cp", str(local), "%s:%s" % (box.name, remote)])
    box.exec("touch -d '%s' %s" % (age, remote))


def prepare_dirty(box, custom, corrupt):
    # pg_restore is not in the image: the integrity test of a custom-format dump needs it.
    # The image's package lists first (no download of lists); refreshed only if the mirror moved on since.
    install = "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-client"
    if box.exec(install, check=False).returncode != 0:
        box.exec("apt-get update -q && " + install)
    box.exec("mkdir -p %s %s" % (BACKUPS, FILES))
    put(box, custom, BACKUPS + "/orders-1.dump", "25 hours ago")
    put(box, corrupt, BACKUPS + "/orders-2.dump", "1 hour ago")
    box.exec("echo data > %s/app.tar && touch -d '80 hours ago' %s/app.tar" % (FILES, FILES))
    box.exec("touch -d '30 days ago' /var/lib/apt/lists/*")
    box.exec("echo 'PermitRootLogin yes' > /etc/ssh/sshd_config.d/50-root.conf")
    box.exec("echo 'toor:x:0:0:backdoor:/root:/bin/sh' >> /etc/passwd && useradd -M guest && passwd -d guest")
    box.exec("touch /etc/redfire-open.conf && chmod 666 /etc/redfire-open.conf")
    box.exec("systemd-run --unit audit-http python3 -m http.server 8999")
    wait_for(lambda: ":8999 " in box.exec("ss -H -ltn", check=False).stdout, 60, interval=0.5,
             what="the unexpected listener on :8999")


def prepare_clean(box, gz):
    box.exec("mkdir -p %s %s" % (BACKUPS, FILES))
    put(box, gz, BACKUPS + "/orders-1.sql.gz", "25 hours ago")
    put(box, gz, BACKUPS + "/orders-2.sql.gz", "1 hour ago")
    box.exec("echo data > %s/app.tar" % FILES)
    box.exec("touch /var/lib/apt/lists/*")


AUDIT_ARGS = {
    "sshd_policy": {"permit_root_login": ["no", "prohibit-password"], "password_authentication": False},
    "listeners_allowed": ["tcp/22"],
    "world_writable_paths": ["/etc"],
    "package_lists_max_age_hours": 48,
    "backup_sources": [
        {"name": "orders_db", "type": "postgresql", "path": BACKUPS},
        {"name": "app_files", "type": "files", "path": FILES, "patterns": ["*.tar"]},
    ],
}

PLAYBOOK = textwrap.dedent("""\
    - name: Host audit
      hosts: all
      gather_facts: false
      tasks:
        - name: Audit
          redfire.ops.host_audit: "{{ audit_args }}"
          register: audit
        - name: Audit in check mode, asking for a refresh
          redfire.ops.host_audit: "{{ audit_args | combine({'refresh_package_lists': true}) }}"
          check_mode: true
          register: audit_check
        - name: Bad input
          redfire.ops.host_audit:
            listeners_allowed: ["tcp/ssh"]
          register: bad
          ignore_errors: true
    """)


def task_results(stdout, name):
    plays = json.loads(stdout)["plays"]
    task = [t for t in plays[0]["tasks"] if t["task"]["name"] == name][0]
    return task["hosts"]


def test_each_problem_is_reported_for_its_host_only(tmp_path):
    custom, gz, corrupt = make_dumps(tmp_path)
    with SystemdContainer("audit-clean") as clean, SystemdContainer("audit-dirty") as dirty:
        errors = []

        def prepare(func, *args):
            try:
                func(*args)
            except BaseException as exc:  # pylint: disable=broad-except  # re-raised below, in the test's thread
                errors.append(exc)

        # The dirty host's apt-get install is the slow part: prepare the clean host meanwhile.
        worker = threading.Thread(target=prepare, args=(prepare_dirty, dirty, custom, corrupt))
        worker.start()
        prepare(prepare_clean, clean, gz)
        worker.join()
        assert not errors, errors

        hv = {"ansible_connection": "containers.podman.podman", "ansible_python_interpreter": "/usr/bin/python3",
              "audit_args": AUDIT_ARGS}
        inventory = tmp_path / "inventory.yml"
        inventory.write_text(yaml.safe_dump({"all": {"hosts": {clean.name: hv, dirty.name: hv}}}))
        playbook = tmp_path / "audit.yml"
        playbook.write_text(PLAYBOOK)
        proc = run(["ansible-playbook", "-i", str(inventory), str(playbook)], check=False, cwd=str(ROOT),
                   env=project_env(ANSIBLE_STDOUT_CALLBACK="json"))
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]

        audits = task_results(proc.stdout, "Audit")
        clean_checks = dict((c["name"], c) for c in audits[clean.name]["checks"])
        dirty_checks = dict((c["name"], c) for c in audits[dirty.name]["checks"])
        assert not audits[clean.name]["changed"] and not audits[dirty.name]["changed"]

        expected_dirty = {
            "sshd:permit_root_login": ("critical", "root_login_allowed"),
            "package_lists": ("warning", "package_lists_stale"),
            "accounts:uid0": ("critical", "extra_uid0_accounts"),
            "accounts:empty_password": ("critical", "empty_password"),
            "listeners": ("critical", "unexpected_listener"),
            "world_writable:/etc": ("warning", "world_writable_files"),
            "backup_integrity:orders_db": ("critical", "backup_corrupt"),
            "backup_age:app_files": ("critical", "backup_too_old"),
        }
        for name, (status, reason) in expected_dirty.items():
            assert (dirty_checks[name]["status"], dirty_checks[name]["reason"]) == (status, reason), dirty_checks[name]
            assert (clean_checks[name]["status"], clean_checks[name]["reason"]) == ("ok", "ok"), clean_checks[name]
        # What was found, machine-readable.
        assert dirty_checks["sshd:permit_root_login"]["details"]["set_in"] == ["/etc/ssh/sshd_config.d/50-root.conf"]
        assert [(lst["port"], lst["process"]) for lst in dirty_checks["listeners"]["details"]["unexpected"]] == \
            [(8999, "python3")]
        assert dirty_checks["accounts:uid0"]["details"]["accounts"] == ["toor"]
        assert dirty_checks["accounts:empty_password"]["details"]["accounts"] == ["guest"]
        assert dirty_checks["world_writable:/etc"]["details"]["paths"] == ["/etc/redfire-open.conf"]
        assert dirty_checks["package_lists"]["value"] > 24 * 29
        # The real gzip test of a real plain dump, and the age of a fresh dump, on the clean host.
        assert clean_checks["backup_integrity:orders_db"]["details"]["format"] == "gzip"
        assert clean_checks["backup_age:orders_db"]["status"] == dirty_checks["backup_age:orders_db"]["status"] == "ok"
        # This image names no security suite in its APT sources: said as such on both hosts, not counted as 0.
        for checks in (clean_checks, dirty_checks):
            assert (checks["security_updates"]["status"], checks["security_updates"]["reason"]) == \
                ("unknown", "no_security_source")
        assert audits[clean.name]["status"] == "unknown" and audits[dirty.name]["status"] == "critical"

        # Check mode: same findings, and the package lists were not refreshed.
        in_check = task_results(proc.stdout, "Audit in check mode, asking for a refresh")
        again = dict((c["name"], c) for c in in_check[dirty.name]["checks"])
        assert again["package_lists"]["reason"] == "package_lists_stale"
        assert "not refreshed: check mode" in again["package_lists"]["message"]

        bad = task_results(proc.stdout, "Bad input")
        for host in (clean.name, dirty.name):
            assert bad[host]["failed"] and "listeners_allowed[0]: port must be a number" in bad[host]["msg"]
            assert "Traceback" not in json.dumps(bad[host])
