"""The built collection tarball holds what a user runs plus tests/ and molecule/, and none of the development
tooling (galaxy.yml build_ignore): scripts/setup installs apt packages as root, and a user has no use for the
benchmarks, the lab, the lint configuration or the project's own execution-environment build."""
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Every top-level entry a tarball may have; a new one is a decision to make here, not an accident.
ALLOWED_TOP = {"MANIFEST.json", "FILES.json", "README.md", "LICENSE", "CHANGELOG.rst", "changelogs", "docs",
               "examples", "extensions", "meta", "playbooks", "plugins", "roles", "tests", "molecule",
               "requirements.txt", "bindep.txt"}
REQUIRED = {"README.md", "LICENSE", "changelogs/changelog.yaml", "meta/runtime.yml", "playbooks/site.yml",
            "playbooks/daily_check.yml", "plugins/modules/health_check.py", "roles/node_exporter/README.md",
            "tests/unit/test_tarball_contents.py", "meta/execution-environment.yml", "requirements.txt", "bindep.txt",
            "playbooks/awx_configure.yml", "playbooks/vars/awx_configure.yml", "examples/inventory/hosts.yml"}
DEVELOPMENT = ("scripts/", "benchmarks/", "lab/", "ee/", ".ci/", ".venv/", ".build/", ".ansible/",
               "requirements-dev.txt", "pytest.ini", ".ansible-lint", ".yamllint", "execution-environment.yml",
               ".gitignore", "reports/")


def test_tarball_ships_what_users_run_and_no_development_tooling(tmp_path):
    ansible_galaxy = Path(sys.executable).with_name("ansible-galaxy")
    subprocess.run([str(ansible_galaxy), "collection", "build", "--force", "--output-path", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, timeout=120)
    (built,) = tmp_path.glob("redfire-ops-*.tar.gz")
    with tarfile.open(built) as tar:
        names = set(tar.getnames())
    top = {n.split("/", 1)[0] for n in names}
    assert top <= ALLOWED_TOP, "unexpected top-level entries %s: build_ignore them in galaxy.yml or allow them here" \
        % sorted(top - ALLOWED_TOP)
    assert REQUIRED <= names, "missing from the tarball: %s" % sorted(REQUIRED - names)
    leaked = sorted(n for n in names if n.startswith(DEVELOPMENT) or "/__pycache__/" in n or n.endswith(".pyc"))
    assert not leaked, "development tooling in the tarball: %s" % leaked[:20]
    # every role a user can call has its README (galaxy-importer refuses a role without one)
    roles = {n.split("/")[1] for n in names if n.startswith("roles/") and n.count("/") >= 2}
    assert roles and all("roles/%s/README.md" % r in names for r in roles), roles
