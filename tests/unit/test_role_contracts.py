"""Every role's meta/argument_specs.yml is its contract: the same keys as defaults/main.yml, each
documented, and the role's variables carry the role's prefix."""
from pathlib import Path

import pytest
import yaml

ROLES = sorted(p for p in (Path(__file__).resolve().parents[2] / "roles").iterdir() if (p / "tasks").is_dir())


def load(path):
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_argument_specs_match_defaults(role):
    defaults = load(role / "defaults" / "main.yml") if (role / "defaults" / "main.yml").exists() else {}
    # defaults serve every entry point: their keys are the options of all entry points together
    options = {}
    for entry in load(role / "meta" / "argument_specs.yml")["argument_specs"].values():
        options.update(entry.get("options", {}))
    assert sorted(options) == sorted(defaults), (
        "only in defaults: %s; only in argument_specs: %s"
        % (sorted(set(defaults) - set(options)), sorted(set(options) - set(defaults))))
    for name, spec in options.items():
        assert spec.get("description"), "%s: %s has no description" % (role.name, name)
        assert spec.get("type"), "%s: %s has no type" % (role.name, name)
        assert name.startswith(role.name + "_"), "%s: %s lacks the role prefix" % (role.name, name)


ROLES_WITH_VARS = [r for r in ROLES if (r / "vars" / "main.yml").exists()]


@pytest.mark.parametrize("role", ROLES_WITH_VARS, ids=[r.name for r in ROLES_WITH_VARS])
def test_internal_variables_are_prefixed(role):
    path = role / "vars" / "main.yml"
    for name in load(path):
        assert name.startswith("__%s_" % role.name), "%s: internal variable %s must start with __%s_" % (
            role.name, name, role.name)
