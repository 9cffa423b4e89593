"""Every role with phases tags them with the field's convention: `<role>_install`, `<role>_configure`,
`<role>_run`. Checked on what Ansible itself selects (`ansible-playbook --list-tasks --list-tags` on a play
per role): the three tags exist, the preflight checks are selected by each of them, an install task is not
selected by `<role>_configure` nor a configuration task by `<role>_install`, and the service step runs with
both `<role>_configure` (to apply what changed) and `<role>_run`. See docs/development.md (Tags)."""
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import run

ROOT = Path(__file__).resolve().parents[2]
PHASED = ["node_exporter", "prometheus", "alertmanager", "blackbox_exporter", "postgres_exporter", "pushgateway",
          "redis_exporter", "grafana", "elasticsearch", "logstash", "filebeat"]
PHASES = ["install", "configure", "run"]
# tuning installs nothing and runs no service: its phases are all configuration (its own tags select one each).
TUNING_TAGS = ["tuning", "tuning_preflight", "tuning_configure", "tuning_sysctl", "tuning_mounts",
               "tuning_app_config"]
ALL_ROLES = PHASED + ["tuning"]

PLAY = re.compile(r"^\s+play #\d+ \([^)]*\): (\S+)\tTAGS: \[.*\]$")
TASK = re.compile(r"^\s{6}(?:redfire\.ops\.\w+ : )?(.+?)\tTAGS: \[(.*)\]$")


def task_names(path):
    """Names of the leaf tasks of a task file (inside blocks too), with their own tags."""
    found = []

    def walk(items):
        for item in items or []:
            if "block" in item:
                for key in ("block", "rescue", "always"):
                    walk(item.get(key))
            else:
                found.append((item["name"], set(item.get("tags", []))))

    walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return found


def listing(tmp_path, tags=None):
    """{play: {"tasks": {task name: tags}, "task_tags": set}} as ansible-playbook lists them."""
    playbook = tmp_path / "roles.yml"
    playbook.write_text("".join(
        "- name: %s\n  hosts: localhost\n  gather_facts: false\n  roles: [redfire.ops.%s]\n" % (role, role)
        for role in ALL_ROLES))
    cmd = ["ansible-playbook", "-i", "localhost,", str(playbook), "--list-tasks", "--list-tags"]
    if tags:
        cmd += ["--tags", ",".join(tags)]
    out = run(cmd).stdout
    plays, current = {}, None
    for line in out.splitlines():
        if (m := PLAY.match(line)):
            current = plays.setdefault(m.group(1), {"tasks": {}, "task_tags": set()})
        elif current is not None and line.strip().startswith("TASK TAGS: ["):
            current["task_tags"] = set(filter(None, line.strip()[len("TASK TAGS: ["):-1].split(", ")))
        elif current is not None and (m := TASK.match(line)):
            current["tasks"][m.group(1)] = set(filter(None, m.group(2).split(", ")))
    assert sorted(plays) == sorted(ALL_ROLES), out[-3000:]
    return plays


@pytest.fixture(scope="module")
def untagged(tmp_path_factory):
    return listing(tmp_path_factory.mktemp("tags"))


@pytest.fixture(scope="module")
def by_phase(tmp_path_factory):
    """One listing per phase, selecting that phase's tag of every role at once (a role's tasks never
    carry another role's tags, so each play shows what its own tag selects)."""
    return {phase: listing(tmp_path_factory.mktemp(phase),
                           ["%s_%s" % (role, phase) for role in PHASED] + ["tuning_configure"])
            for phase in PHASES}


@pytest.mark.parametrize("role", PHASED)
def test_the_three_tags_exist(untagged, role):
    assert {"%s_%s" % (role, phase) for phase in PHASES} <= untagged[role]["task_tags"]


def test_tuning_keeps_its_tags_and_has_configure(untagged):
    assert set(TUNING_TAGS) <= untagged["tuning"]["task_tags"]


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("role", PHASED)
def test_preflight_runs_with_each_tag(by_phase, role, phase):
    listed = by_phase[phase][role]["tasks"]
    names = [name for name, dummy in task_names(ROOT / "roles" / role / "tasks" / "preflight.yml")]
    assert names
    missing = [name for name in names if name not in listed]
    assert not missing, "%s_%s does not select the preflight tasks %s" % (role, phase, missing)


@pytest.mark.parametrize("tag", TUNING_TAGS)
def test_tuning_preflight_runs_with_each_tag(untagged, tag):
    main = yaml.safe_load((ROOT / "roles" / "tuning" / "tasks" / "main.yml").read_text(encoding="utf-8"))
    preflight = [task for task in main if task.get("ansible.builtin.import_tasks") == "preflight.yml"]
    assert len(preflight) == 1 and tag in preflight[0]["tags"]
    for name, dummy in task_names(ROOT / "roles" / "tuning" / "tasks" / "preflight.yml"):
        assert tag in untagged["tuning"]["tasks"][name], name


def phase_tasks(role):
    """Task names of the install and configure phases as the role's files define them."""
    tasks = ROOT / "roles" / role / "tasks"
    main = task_names(tasks / "main.yml")
    install = task_names(tasks / "install.yml") if (tasks / "install.yml").exists() else [
        (name, own) for name, own in main if name.startswith("Install ")]
    return install, task_names(tasks / "configure.yml")


@pytest.mark.parametrize("role", PHASED)
def test_phases_do_not_leak(by_phase, role):
    install, configure = phase_tasks(role)
    assert install and configure
    for name, own in install:
        assert name in by_phase["install"][role]["tasks"], name
        assert name not in by_phase["configure"][role]["tasks"], "%s_configure selects install task %r" % (role, name)
        assert name not in by_phase["run"][role]["tasks"], "%s_run selects install task %r" % (role, name)
    for name, own in configure:
        assert name in by_phase["configure"][role]["tasks"], name
        if "%s_install" % role not in own:  # a task may join the install phase on purpose (own tag)
            assert name not in by_phase["install"][role]["tasks"], "%s_install selects %r" % (role, name)


@pytest.mark.parametrize("role", PHASED)
def test_service_step_runs_with_configure_and_run(by_phase, role):
    main = task_names(ROOT / "roles" / role / "tasks" / "main.yml")
    service = [name for name, own in main if name.startswith(("Run ", "Start and enable"))]
    assert len(service) == 1, main
    for phase in ("configure", "run"):
        assert service[0] in by_phase[phase][role]["tasks"], "%s_%s skips %r" % (role, phase, service[0])
    assert service[0] not in by_phase["install"][role]["tasks"]
