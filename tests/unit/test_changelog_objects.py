"""The changelog announces every role and playbook a user can call (antsibull-changelog's objects: `add
object.role` / `add object.playbook` in a fragment, or `objects` of a release in changelogs/changelog.yaml), and
announces nothing that does not exist. Internal roles (a leading underscore) are not for users to call."""
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHANGELOGS = ROOT / "changelogs"


def announced():
    objects = {"role": set(), "playbook": set()}
    for fragment in (CHANGELOGS / "fragments").glob("*.yml"):
        data = yaml.safe_load(fragment.read_text(encoding="utf-8")) or {}
        for kind in objects:
            objects[kind] |= {entry["name"] for entry in data.get("add object.%s" % kind, [])}
    releases = (yaml.safe_load((CHANGELOGS / "changelog.yaml").read_text(encoding="utf-8")) or {}).get("releases") or {}
    for release in releases.values():
        for kind in objects:
            objects[kind] |= {entry["name"] for entry in (release.get("objects") or {}).get(kind, [])}
    return objects


def test_every_role_and_playbook_is_announced_and_nothing_else():
    roles = {p.name for p in (ROOT / "roles").iterdir() if (p / "tasks").is_dir() and not p.name.startswith("_")}
    playbooks = {p.stem for p in (ROOT / "playbooks").glob("*.yml")}
    objects = announced()
    assert roles - objects["role"] == set(), "announce these roles in a fragment's 'add object.role'"
    assert playbooks - objects["playbook"] == set(), "announce these playbooks in a fragment's 'add object.playbook'"
    assert objects["role"] - roles == set(), "announced roles that do not exist (renamed?)"
    assert objects["playbook"] - playbooks == set(), "announced playbooks that do not exist (renamed?)"


def test_no_bugfix_for_code_never_released():
    """Until a first release, a bugfix fragment would announce a fix of something no user ever had."""
    releases = (yaml.safe_load((CHANGELOGS / "changelog.yaml").read_text(encoding="utf-8")) or {}).get("releases")
    with_bugfixes = sorted(f.name for f in (CHANGELOGS / "fragments").glob("*.yml")
                           if "bugfixes" in (yaml.safe_load(f.read_text(encoding="utf-8")) or {}))
    assert releases or not with_bugfixes, \
        "nothing was released yet: describe these as the feature they are (minor_changes): %s" % with_bugfixes
