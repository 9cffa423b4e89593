"""Every role has a README; a README's generated variables table equals the role's argument_specs."""
import pytest

from tests.lib.role_readme import ROOT, readmes, rendered

ROLES = sorted(p.parent.parent.name for p in (ROOT / "roles").glob("*/meta/argument_specs.yml"))


@pytest.mark.parametrize("role", ROLES)
def test_every_role_has_a_readme(role):
    assert (ROOT / "roles" / role / "README.md").is_file(), "roles/%s has no README.md (galaxy-importer refuses it)" % role


@pytest.mark.parametrize("path", readmes(), ids=lambda p: p.parent.name)
def test_generated_variables_table_is_current(path):
    text = path.read_text(encoding="utf-8")
    assert rendered(path.parent.name, text) == text, \
        "%s: the variables table is stale; run `python -m tests.lib.role_readme`" % path.relative_to(ROOT)
