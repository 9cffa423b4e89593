"""Engines for scheduled runs: ansible-builder writes the execution environment's build context from
execution-environment.yml, and the AWX playbook passes a syntax check with the awx.awx collection."""
import shutil
import tarfile

from tests.conftest import ROOT, run


def test_ansible_builder_create_writes_the_build_context(tmp_path):
    ee = ROOT / ".build" / "ee"
    ee.mkdir(parents=True, exist_ok=True)
    build = tmp_path / "build"
    run(["ansible-galaxy", "collection", "build", "--force", "--output-path", str(build)], cwd=str(ROOT))
    (built,) = build.glob("redfire-ops-*.tar.gz")
    shutil.copy(built, ee / "redfire-ops.tar.gz")
    with tarfile.open(built) as tar:
        names = set(tar.getnames())
    assert {"playbooks/daily_check.yml", "plugins/filter/report.py", "awx/configure.yml"} <= names
    assert not any(n.startswith((".venv", ".build", "reports")) for n in names)

    context = tmp_path / "context"
    run(["ansible-builder", "create", "-f", "execution-environment.yml", "-c", str(context), "--output-filename",
         "Containerfile"], cwd=str(ROOT))
    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    assert "quay.io/centos/centos:stream9" in containerfile
    assert "ansible-galaxy collection install --offline --no-deps" in containerfile
    assert (context / "_build" / "collections" / "redfire-ops.tar.gz").is_file()
    python = (context / "_build" / "requirements.txt").read_text(encoding="utf-8")
    for lib in ("psutil", "psycopg2-binary", "redis"):
        assert lib in python
    galaxy = (context / "_build" / "requirements.yml").read_text(encoding="utf-8")
    assert "community.general" in galaxy and "ansible.posix" in galaxy


def test_awx_playbook_syntax():
    proc = run(["ansible-playbook", "--syntax-check", "awx/configure.yml"], cwd=str(ROOT))
    assert "playbook: awx/configure.yml" in proc.stdout
