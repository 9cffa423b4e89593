"""examples/inventory, the inventory a first-time user copies: Ansible parses it into the groups the playbooks
use, each group has its group_vars, and every variable in them is one the collection reads - a role variable of
that role's argument_specs (and valid for it), or a redfire_* variable of the playbooks or a role's defaults - so a renamed variable
cannot leave the example silently stale."""
import json
import subprocess
import sys
from pathlib import Path

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = ROOT / "examples" / "inventory"
GROUPS = {"app", "database", "cache", "monitoring", "logging", "filebeat", "tuning", "control", "node_exporter"}
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").is_file())
# the playbooks, and the roles' defaults, where the older redfire_* names are read as aliases of role variables
PLAYBOOK_TEXT = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "playbooks").rglob("*.yml"))
                          + sorted((ROOT / "roles").glob("*/defaults/main.yml")))


def group_vars():
    return {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) or {} for p in (INVENTORY / "group_vars").glob("*.yml")}


def test_ansible_parses_the_groups_the_playbooks_use():
    exe = Path(sys.executable).with_name("ansible-inventory")
    proc = subprocess.run([str(exe), "-i", str(INVENTORY / "hosts.yml"), "--list"], capture_output=True, text=True,
                          timeout=120, check=True)
    data = json.loads(proc.stdout)
    assert GROUPS <= set(data), sorted(GROUPS - set(data))
    for playbook in ("site.yml",):
        for play in yaml.safe_load((ROOT / "playbooks" / playbook).read_text(encoding="utf-8")):
            hosts = play["hosts"]
            assert "{{" in hosts or hosts in GROUPS, "%s targets %s, which the example inventory lacks" % (playbook, hosts)
    assert set(group_vars()) == GROUPS | {"all"}
    control = data["_meta"]["hostvars"]["localhost"]
    assert control["ansible_connection"] == "local"


def test_every_variable_is_one_the_collection_reads():
    unknown = []
    for group, variables in group_vars().items():
        per_role = {}
        for key, value in variables.items():
            role = next((r for r in ROLES if key.startswith(r + "_")), None)
            if key.startswith("ansible_"):
                continue
            if role:
                per_role.setdefault(role, {})[key] = value
            elif not (key.startswith("redfire_") and key in PLAYBOOK_TEXT):
                unknown.append("%s: %s" % (group, key))
        for role, supplied in per_role.items():
            options = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text(
                encoding="utf-8"))["argument_specs"]["main"]["options"]
            missing = sorted(set(supplied) - set(options))
            unknown += ["%s: %s (not in %s's argument_specs)" % (group, k, role) for k in missing]
            spec = {k: dict(options[k], required=False) for k in supplied if k in options}
            result = ArgumentSpecValidator(spec).validate(supplied)
            assert not result.error_messages, "%s (%s): %s" % (group, role, result.error_messages)
    assert not unknown, "variables no playbook or role reads: %s" % unknown
