"""Engines for scheduled runs: ansible-builder writes the execution environment's build context from
execution-environment.yml, and the AWX playbooks pass a syntax check with the awx.awx collection."""
import shutil
import tarfile

import yaml

from tests.conftest import ROOT, project_env, run


def test_ansible_builder_create_writes_the_build_context(tmp_path):
    ee = ROOT / ".build" / "ee"
    ee.mkdir(parents=True, exist_ok=True)
    build = tmp_path / "build"
    run(["ansible-galaxy", "collection", "build", "--force", "--output-path", str(build)], cwd=str(ROOT))
    (built,) = build.glob("redfire-ops-*.tar.gz")
    shutil.copy(built, ee / "redfire-ops.tar.gz")
    with tarfile.open(built) as tar:
        names = set(tar.getnames())
    assert {"playbooks/daily_check.yml", "plugins/filter/report.py", "meta/execution-environment.yml",
            "requirements.txt", "bindep.txt"} <= names

    context = tmp_path / "context"
    run(["ansible-builder", "create", "-f", "execution-environment.yml", "-c", str(context), "--output-filename",
         "Containerfile"], cwd=str(ROOT))
    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    assert "quay.io/centos/centos:stream9" in containerfile
    # the collection goes in through builder's galaxy step, which resolves its dependencies too
    assert "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml" in containerfile
    assert "--no-deps" not in containerfile
    assert (context / "_build" / "collections" / "redfire-ops.tar.gz").is_file()
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text(encoding="utf-8"))
    assert {"name": "collections/redfire-ops.tar.gz", "type": "file"} in galaxy["collections"]


def test_ansible_builder_finds_the_collections_python_and_system_needs(tmp_path):
    """What builder's introspection (run inside the image build) reads from the installed collection."""
    build = tmp_path / "build"
    run(["ansible-galaxy", "collection", "build", "--force", "--output-path", str(build)], cwd=str(ROOT))
    (built,) = build.glob("redfire-ops-*.tar.gz")
    installed = tmp_path / "installed"
    run(["ansible-galaxy", "collection", "install", "--offline", "--no-deps", "-p", str(installed), str(built)],
        env=project_env(ANSIBLE_COLLECTIONS_PATH=str(installed)))
    proc = run(["ansible-builder", "introspect", "--sanitize", str(installed)])
    data = yaml.safe_load(proc.stdout[proc.stdout.index("---"):])
    python = " ".join(data["python"])
    for lib in ("psutil", "psycopg2-binary", "redis"):
        assert lib in python and "redfire.ops" in python, data["python"]
    assert any(line.startswith("openssh-clients [platform:rpm]") for line in data["system"]), data["system"]


def test_awx_playbooks_syntax():
    """redfire.ops.awx_configure by name, and the example AWX project's wrappers (each imports a checklist)."""
    proc = run(["ansible-playbook", "--syntax-check", "redfire.ops.awx_configure"], cwd=str(ROOT))
    assert "ansible_collections/redfire/ops/playbooks/awx_configure.yml" in proc.stdout
    for name in ("daily_check", "periodic_check", "incident_response"):
        proc = run(["ansible-playbook", "-i", "localhost,", "--list-tasks", "examples/awx_project/%s.yml" % name],
                   cwd=str(ROOT))
        plays = [play["name"] for play in yaml.safe_load((ROOT / "playbooks" / (name + ".yml")).read_text())
                 if "hosts" in play]
        assert plays and all("): %s" % play in proc.stdout for play in plays), proc.stdout
