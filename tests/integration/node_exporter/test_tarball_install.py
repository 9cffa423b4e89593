"""The tarball install path, offline: a release-shaped tarball built from the distribution's binary,
served on 127.0.0.1 with its sha256, installed into a systemd container through component_install.
A wrong checksum fails with the file and both sums and leaves the running exporter untouched."""
import os
import textwrap

import pytest

from tests.lib.containers import SystemdContainer, playbook
from tests.lib.releases import release_tarball, serve_releases

BINARY = "/usr/bin/prometheus-node-exporter"  # Debian's build, installed by scripts/setup test
FETCH = ("python3 -c 'import sys,urllib.request;"
         "sys.stdout.write(urllib.request.urlopen(\"http://127.0.0.1:9100/metrics\", timeout=5).read().decode())'")


@pytest.fixture(scope="module")
def release_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("releases")
    sums = {
        "good": release_tarball(root / "good.tar.gz", BINARY, "node_exporter-1.5.0.linux-amd64/node_exporter"),
        # Same layout, other content: what a tampered or corrupt mirror serves.
        "tampered": release_tarball(root / "tampered.tar.gz", BINARY, "node_exporter-1.5.1.linux-amd64/node_exporter",
                                    payload_suffix=b"\0tampered"),
    }
    with serve_releases({"/%s.tar.gz" % name: root / ("%s.tar.gz" % name) for name in sums}) as base:
        yield base, sums


def write_playbook(path):
    path.write_text(textwrap.dedent("""\
        - name: node_exporter from a tarball
          hosts: all
          gather_facts: true
          roles:
            - role: redfire.ops.node_exporter
        """))
    return path


def test_tarball_install_verify_and_reject(tmp_path, release_server):
    base, sums = release_server
    pb = write_playbook(tmp_path / "site.yml")
    cache = tmp_path / "cache"
    with SystemdContainer("ne-tarball") as box:
        inv = box.inventory(tmp_path / "inventory.yml", node_exporter_install_method="tarball",
                            node_exporter_version="1.5.0", node_exporter_download_url=base + "/good.tar.gz",
                            node_exporter_checksum=sums["good"], node_exporter_download_cache_dir=str(cache),
                            # the install is the point here; TLS and basic auth: molecule/node_exporter
                            web_config_enabled=False)
        first = playbook(inv, pb)
        assert first.returncode == 0, first.stdout[-4000:]
        assert (cache / "node_exporter-1.5.0.tar.gz").exists()
        assert box.exec("systemctl is-active node_exporter").stdout.strip() == "active"
        assert box.exec("systemctl is-enabled node_exporter").stdout.strip() == "enabled"
        assert "\nnode_load1 " in box.exec(FETCH).stdout
        # Runs as the unprivileged user of the hardened unit.
        assert box.exec("ps -o user= -C node_exporter").stdout.split() == ["node-exp"]
        pid = box.exec("systemctl show -p MainPID --value node_exporter").stdout.strip()
        digest = box.exec("sha256sum /usr/local/bin/node_exporter").stdout.split()[0]

        second = playbook(inv, pb)
        assert second.returncode == 0, second.stdout[-4000:]
        assert "changed=0" in second.stdout, second.stdout[-4000:]

        # A new version whose archive does not match the pinned sum: fail, name file and sums, touch nothing.
        bad = playbook(inv, pb, "-e", "node_exporter_version=1.5.1",
                       "-e", "node_exporter_download_url=%s/tampered.tar.gz" % base,
                       "-e", "node_exporter_checksum=%s" % sums["good"])
        assert bad.returncode != 0
        out = bad.stdout
        assert "node_exporter-1.5.1.tar.gz" in out, out[-4000:]
        assert sums["good"] in out and sums["tampered"] in out, out[-4000:]
        assert box.exec("systemctl show -p MainPID --value node_exporter").stdout.strip() == pid
        assert box.exec("sha256sum /usr/local/bin/node_exporter").stdout.split()[0] == digest
        assert not os.path.exists(cache / "node_exporter-1.5.1.tar.gz")


def test_configure_tag_alone_applies_config_without_install(tmp_path, release_server):
    """`--tags node_exporter_configure` on an installed host: preflight runs, the install phase does not
    (a download URL that cannot work proves it), the changed command line is written and the service
    restarted; check mode first changes nothing. `--tags node_exporter_run` then only starts it."""
    base, sums = release_server
    pb = write_playbook(tmp_path / "site.yml")
    with SystemdContainer("ne-tags") as box:
        inv = box.inventory(tmp_path / "inventory.yml", node_exporter_install_method="tarball",
                            node_exporter_version="1.5.0", node_exporter_download_url=base + "/good.tar.gz",
                            node_exporter_checksum=sums["good"],
                            node_exporter_download_cache_dir=str(tmp_path / "cache"), web_config_enabled=False)
        first = playbook(inv, pb)
        assert first.returncode == 0, first.stdout[-4000:]
        pid = box.exec("systemctl show -p MainPID --value node_exporter").stdout.strip()
        unit = box.exec("cat /etc/systemd/system/node_exporter.service").stdout
        assert "--no-collector.wifi" not in unit
        # Any install task would fail on this version and URL (nothing listens on port 1).
        change = ["-e", '{"node_exporter_disabled_collectors": ["wifi"], "node_exporter_version": "9.9.9",'
                  ' "node_exporter_download_url": "http://127.0.0.1:1/none.tar.gz"}']

        checked = playbook(inv, pb, "--tags", "node_exporter_configure", "--check", "--diff", *change)
        out = checked.stdout
        assert checked.returncode == 0, out[-4000:]
        assert "Check the listen port" in out, out[-4000:]  # preflight ran
        assert "Install node_exporter" not in out and "Check the install request" not in out, out[-4000:]
        assert "+ExecStart=" in out and "--no-collector.wifi" in out, out[-4000:]
        assert box.exec("cat /etc/systemd/system/node_exporter.service").stdout == unit
        assert box.exec("systemctl show -p MainPID --value node_exporter").stdout.strip() == pid

        applied = playbook(inv, pb, "--tags", "node_exporter_configure", *change)
        out = applied.stdout
        assert applied.returncode == 0, out[-4000:]
        assert "Install node_exporter" not in out and "Check the install request" not in out, out[-4000:]
        assert "TASK [redfire.ops.component_service : Restart node_exporter]" in out, out[-4000:]
        assert "--no-collector.wifi" in box.exec("cat /etc/systemd/system/node_exporter.service").stdout
        new_pid = box.exec("systemctl show -p MainPID --value node_exporter").stdout.strip()
        assert new_pid not in (pid, "0")
        assert "--no-collector.wifi" in box.exec("tr '\\0' ' ' < /proc/%s/cmdline" % new_pid).stdout
        assert "\nnode_load1 " in box.exec(FETCH).stdout

        again = playbook(inv, pb, "--tags", "node_exporter_configure", *change)
        assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-4000:]

        box.exec("systemctl stop node_exporter")
        started = playbook(inv, pb, "--tags", "node_exporter_run", *change)
        out = started.stdout
        assert started.returncode == 0, out[-4000:]
        assert "Create the textfile collector directory" not in out and "Install node_exporter" not in out, out[-4000:]
        assert box.exec("systemctl is-active node_exporter").stdout.strip() == "active"
