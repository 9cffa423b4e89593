"""AWX as code: the schedules of redfire.ops.awx_configure (playbooks/vars/awx_configure.yml) give the runs the
checklists promise; the job templates, schedules and credential placeholders fit together; the job templates run
the collection's playbooks by name through the example AWX project, which pins the collection's version."""
import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from dateutil.rrule import rrulestr

from ansible_collections.redfire.ops.plugins.filter.awx import FilterModule

ROOT = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((ROOT / "playbooks" / "vars" / "awx_configure.yml").read_text(encoding="utf-8"))
PROJECT = ROOT / "examples" / "awx_project"
rrule = FilterModule().filters()["awx_rrule"]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def runs(schedule_name, n):
    rule = rrule(next(s for s in CONFIG["redfire_awx_schedules"] if s["name"] == schedule_name)["rule"])
    dtstart, body = rule.split(" ")
    tzid, stamp = dtstart[len("DTSTART;TZID="):].split(":")
    start = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=ZoneInfo(tzid))
    return list(rrulestr(body, dtstart=start)[:n])


def test_daily_check_runs_every_day_at_0900_shanghai():
    days = runs("redfire daily check 09:00", 8)
    assert all(d.astimezone(SHANGHAI).strftime("%H:%M") == "09:00" for d in days)
    assert all(d.astimezone(datetime.timezone.utc).strftime("%H:%M") == "01:00" for d in days)
    assert all((b - a) == datetime.timedelta(days=1) for a, b in zip(days, days[1:]))


def test_periodic_check_runs_weekly():
    weeks = runs("redfire periodic check weekly", 5)
    assert {d.astimezone(SHANGHAI).strftime("%a %H:%M") for d in weeks} == {"Mon 10:00"}
    assert all((b - a) == datetime.timedelta(days=7) for a, b in zip(weeks, weeks[1:]))


def test_templates_schedules_and_placeholders_fit_together():
    templates = {t["name"]: t for t in CONFIG["redfire_awx_job_templates"]}
    assert {t["playbook"] for t in templates.values()} == {
        "daily_check.yml", "periodic_check.yml", "incident_response.yml"}
    assert {s["job_template"] for s in CONFIG["redfire_awx_schedules"]} == {
        "redfire daily check", "redfire periodic check"}  # incidents are started by hand, never on a schedule
    assert templates["redfire incident response"]["ask_variables_on_launch"] is True
    for credential in CONFIG["redfire_awx_credentials"]:
        assert set(credential["inputs"]) == {"username"}  # placeholders: never a secret in the repository
    assert not CONFIG["redfire_awx_inventory"]["source_path"].startswith("lab/")  # the user's inventory
    playbook = yaml.safe_load((ROOT / "playbooks" / "awx_configure.yml").read_text(encoding="utf-8"))
    assert playbook[0]["vars_files"] == ["vars/awx_configure.yml"]
    modules = {k for task in playbook[0]["tasks"] for k in task if k.startswith("awx.awx.")}
    assert modules == {"awx.awx.execution_environment", "awx.awx.credential", "awx.awx.project", "awx.awx.inventory",
                       "awx.awx.inventory_source", "awx.awx.job_template", "awx.awx.schedule"}


def test_job_templates_run_the_collections_playbooks_by_name_at_the_pinned_version():
    for template in CONFIG["redfire_awx_job_templates"]:
        wrapper = yaml.safe_load((PROJECT / template["playbook"]).read_text(encoding="utf-8"))
        name = Path(template["playbook"]).stem
        # only an import of the collection's playbook: nothing of its own that could drift from the collection
        assert wrapper == [{"name": "Run redfire.ops." + name, "ansible.builtin.import_playbook": "redfire.ops." + name}]
        assert (ROOT / "playbooks" / (name + ".yml")).is_file()
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text(encoding="utf-8"))
    pins = yaml.safe_load((PROJECT / "collections" / "requirements.yml").read_text(encoding="utf-8"))["collections"]
    assert {"name": "redfire.ops", "version": "==" + galaxy["version"]} in pins
