"""postgres_exporter and redis_exporter from release tarballs, offline: release-shaped tarballs built from Debian's
binaries, served on 127.0.0.1 with their sha256 (tests/lib/releases, as node_exporter's tarball test), installed
into one systemd container by both roles in one play. Each exporter runs as its own unprivileged user from
/usr/local/bin with its secret in a 0640 environment file (not on the command line), answers /metrics (pg_up and
redis_up 0: no database runs in the container, the exporters report that), and a second run changes nothing."""
import hashlib
import textwrap

import pytest

from tests.lib.containers import SystemdContainer, playbook
from tests.lib.releases import release_tarball, serve_releases

PG_SECRET = "pg-Secr3t-41c9"
REDIS_SECRET = "redis-Secr3t-93ab"
# exporter: (Debian's binary, release member, listen port, metric it must serve, unit, environment file, user)
EXPORTERS = {
    "postgres_exporter": ("/usr/bin/prometheus-postgres-exporter", "postgres_exporter-0.15.0.linux-amd64/postgres_exporter",
                          9187, "pg_up 0", "postgres_exporter", "/etc/default/redfire-postgres-exporter", "postgres-exp"),
    "redis_exporter": ("/usr/bin/prometheus-redis-exporter", "redis_exporter-v1.62.0.linux-amd64/redis_exporter",
                       9121, "redis_up 0", "redis_exporter", "/etc/default/redfire-redis-exporter", "redis-exp"),
}
FETCH = ("python3 -c 'import sys,urllib.request;"
         "sys.stdout.write(urllib.request.urlopen(\"http://127.0.0.1:%d/metrics\", timeout=10).read().decode())'")
PLAYBOOK = """\
- name: Database exporters from tarballs
  hosts: all
  gather_facts: true
  roles:
    - role: redfire.ops.postgres_exporter
    - role: redfire.ops.redis_exporter
"""


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    root = tmp_path_factory.mktemp("db-releases")
    sums = {name: release_tarball(root / ("%s.tar.gz" % name), spec[0], spec[1]) for name, spec in EXPORTERS.items()}
    with serve_releases({"/%s.tar.gz" % name: root / ("%s.tar.gz" % name) for name in EXPORTERS}) as base:
        yield base, sums


def test_database_exporters_install_from_tarballs(tmp_path, releases):
    base, sums = releases
    book = tmp_path / "site.yml"
    book.write_text(textwrap.dedent(PLAYBOOK), encoding="utf-8")
    cache = tmp_path / "cache"
    with SystemdContainer("dbx-tarball") as box:
        inventory = box.inventory(
            tmp_path / "inventory.yml",
            postgres_exporter_install_method="tarball", postgres_exporter_version="0.15.0",
            postgres_exporter_download_url=base + "/postgres_exporter.tar.gz",
            postgres_exporter_checksum=sums["postgres_exporter"], postgres_exporter_download_cache_dir=str(cache),
            postgres_exporter_dsn="postgresql://exporter:%s@127.0.0.1:5432/postgres?sslmode=disable" % PG_SECRET,
            redis_exporter_install_method="tarball", redis_exporter_version="1.62.0",
            redis_exporter_download_url=base + "/redis_exporter.tar.gz",
            redis_exporter_checksum=sums["redis_exporter"], redis_exporter_download_cache_dir=str(cache),
            redis_exporter_password=REDIS_SECRET,
            # the install is the point here; TLS and basic auth: molecule/database_exporters
            web_config_enabled=False)
        first = playbook(inventory, book)
        assert first.returncode == 0, first.stdout[-4000:]
        assert (cache / "postgres_exporter-0.15.0.tar.gz").exists() and (cache / "redis_exporter-1.62.0.tar.gz").exists()
        for name, (binary, _member, port, metric, unit, env_file, user) in EXPORTERS.items():
            state = box.exec("pid=$(systemctl show -p MainPID --value %s); systemctl is-active %s; systemctl is-enabled %s; "
                             "ps -o user= -p $pid; sha256sum /usr/local/bin/%s; stat -c '%%a %%U:%%G' %s; "
                             "tr '\\0' ' ' < /proc/$pid/cmdline" % (unit, unit, unit, name, env_file)).stdout.split("\n")
            assert state[:3] == ["active", "enabled", user], (name, state)
            # the binary is the one in the tarball, unpacked (Debian's build, byte for byte)
            with open(binary, "rb") as fh:
                assert state[3].split()[0] == hashlib.sha256(fh.read()).hexdigest(), (name, state[3])
            assert state[4] == "640 root:%s" % user, (name, state[4])
            assert state[5].startswith("/usr/local/bin/%s " % name), (name, state[5])
            assert PG_SECRET not in state[5] and REDIS_SECRET not in state[5], (name, state[5])
            metrics = box.exec(FETCH % port).stdout
            assert "\n%s\n" % metric in metrics, (name, metrics[-2000:])
        # not Debian's packages: the tarballs
        packages = box.exec("dpkg-query -W prometheus-postgres-exporter prometheus-redis-exporter", check=False)
        assert packages.returncode != 0 and packages.stdout == "", packages.stdout
        for text in (first.stdout, first.stderr):
            assert PG_SECRET not in text and REDIS_SECRET not in text

        second = playbook(inventory, book)
        assert second.returncode == 0, second.stdout[-4000:]
        assert "changed=0" in second.stdout, second.stdout[-4000:]
