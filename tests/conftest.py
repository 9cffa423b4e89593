"""Shared pytest set-up: make `ansible_collections.redfire.ops` importable and give tests the
project's environment (venv, collections path, containers.conf) for the commands they run."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COLLECTIONS = ROOT / ".build" / "collections"
DEPS = ROOT / ".build" / "deps"

for _path in (COLLECTIONS, ROOT):  # `ansible_collections.redfire.ops...` and `tests.lib...`
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from tests.lib import leaks  # noqa: E402  pylint: disable=wrong-import-position


def project_env(**extra):
    """Environment for ansible/ansible-playbook/podman commands run by tests."""
    env = dict(os.environ)
    # the compat layer points REDFIRE_VENV_BIN at the venv of another ansible-core
    venv_bin = env.get("REDFIRE_VENV_BIN") or str(ROOT / ".venv" / "bin")
    env.update({
        "PATH": "%s:%s" % (venv_bin, env.get("PATH", "")),
        "ANSIBLE_COLLECTIONS_PATH": "%s:%s" % (COLLECTIONS, DEPS),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_ROLES_PATH": str(ROOT / "roles"),
        "ANSIBLE_LOCAL_TEMP": str(ROOT / ".build" / "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "CONTAINERS_CONF": str(ROOT / ".build" / "containers.conf"),
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run(cmd, check=True, timeout=600, **kwargs):
    """Run a command in the project environment; on failure show its output in the assertion."""
    env = kwargs.pop("env", None) or project_env()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)
    # no test password in any output (issue 19): searched before the output can reach an assertion message
    # (the command named by its program and playbook only: its arguments may hold the password)
    leaks.assert_none_in("%s\n%s" % (proc.stdout, proc.stderr), "the output of %s" % " ".join(
        [os.path.basename(str(cmd[0]))] + [os.path.basename(str(a)) for a in cmd[1:] if str(a).endswith((".yml", ".yaml"))][:1]))
    if check and proc.returncode != 0:
        raise AssertionError("%s exited %s\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(map(str, cmd)), proc.returncode, proc.stdout[-6000:], proc.stderr[-6000:]))
    return proc


def free_port():
    """A TCP port free on 127.0.0.1 now (tests run in parallel; never hard-code ports)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def unused_port():
    return free_port()
