"""Role tuning in the systemd container: net.* applied and verified, vm.* skipped, mount options, backend
settings rendered and validated, backend restarted exactly once (the idempotence run restarted nothing)."""
import json
import sys
from pathlib import Path

import pytest
import testinfra

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from tests.lib.molecule_hosts import containers  # noqa: E402  pylint: disable=wrong-import-position

CONTAINERS = containers("tuning")  # one per platform of molecule.yml
CONF = "/etc/sysctl.d/90-redfire.conf"


@pytest.fixture(scope="module", params=CONTAINERS)
def container(request):
    return request.param


@pytest.fixture(scope="module")
def host(container):
    return testinfra.get_host("podman://" + container)


def sysctl(host, key):
    return " ".join(host.file("/proc/sys/" + key.replace(".", "/")).content_string.split())


def test_kernel_profile_applied_persisted_and_vm_skipped(host):
    assert host.file(CONF).content_string.splitlines()[2:] == [
        "net.core.somaxconn = 65535",
        "net.ipv4.tcp_fin_timeout = 30",
        "net.ipv4.tcp_keepalive_time = 1200",
        "net.ipv4.tcp_rmem = 4096 87380 6291456",
    ]
    assert host.file(CONF).content_string.startswith("# Managed by Ansible: redfire.ops.sysctl_profile")
    assert [sysctl(host, k) for k in ("net.core.somaxconn", "net.ipv4.tcp_fin_timeout",
                                      "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_rmem")] \
        == ["65535", "30", "1200", "4096 87380 6291456"]
    skipped = json.loads(host.file("/root/tuning-skipped.json").content_string)
    assert skipped == [{"key": "vm.swappiness", "reason": "vm.swappiness is read-only here"}]


def test_mount_options_in_fstab_and_live(host):
    lines = [line.split() for line in host.file("/etc/fstab").content_string.splitlines()
             if line.strip() and not line.startswith("#")]
    data = [fields for fields in lines if fields[1] == "/srv/redfire-data"]
    assert len(data) == 1, lines  # edited in place, never appended
    assert set(data[0][3].split(",")) == {"rw", "size=16m", "noatime", "nodiratime"}
    assert host.run("findmnt --verify --tab-file /etc/fstab").rc == 0
    live = host.check_output("findmnt --noheadings --output OPTIONS --mountpoint /srv/redfire-data").split(",")
    assert "noatime" in live and "nodiratime" in live and "relatime" not in live


def test_backend_settings_rendered_validated_and_restart_once(host):
    text = host.file("/etc/redfire/tuning.yml").content_string
    for line in ("database:", "  max_inactive_connection_lifetime: 300.0", "  max_size: 20", "  min_size: 5",
                 "  max_queries: 50000", "redis:", "  max_connections: 20", "  retry_on_timeout: true",
                 "  socket_keepalive: true", "celery:", "  task_acks_late: true", "  worker_max_tasks_per_child: 1000",
                 "  worker_prefetch_multiplier: 1"):
        assert line in text.splitlines(), (line, text)
    validator = "python3 /usr/local/libexec/redfire-tuning/validate_app_config.py"
    assert host.run("%s yaml /etc/redfire/tuning.yml" % validator).rc == 0
    broken = host.run("printf 'database:\\n  min_size 5\\n' > /tmp/bad.yml && %s yaml /tmp/bad.yml" % validator)
    assert broken.rc == 1 and "invalid yaml config" in broken.stderr
    starts = host.file("/var/lib/redfire-backend-starts").content_string.split()
    assert len(starts) == 2, starts  # prepare + one handler restart (converge); idempotence restarted nothing
    assert host.service("redfire-backend").is_running
