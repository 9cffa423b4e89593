"""The search of the test runs' output for the test passwords (tests/lib/leaks.py, issue 19): a registered
password in a command's output fails the test that ran it, named by its label only; a Molecule scenario's
passwords are read from its YAML files."""
import sys

import pytest

from tests.conftest import ROOT, run
from tests.lib import leaks


def test_a_registered_password_in_a_commands_output_fails_the_run_without_showing_it():
    secret = leaks.password("unit-test password", "unit-Secret-" + "7" * 8)
    with pytest.raises(AssertionError) as err:
        run([sys.executable, "-c", "print('connecting with %s')" % secret])
    assert "unit-test password" in str(err.value) and secret not in str(err.value)
    # a command that does not show it passes
    assert run([sys.executable, "-c", "print('connecting with ********')"]).returncode == 0
    assert leaks.found("abc") == [] and leaks.password("short", "abc") == "abc" and leaks.found("abc") == []


def test_molecule_passwords_are_read_from_every_yaml_file_of_the_scenario(tmp_path):
    (tmp_path / "molecule.yml").write_text(
        "provisioner:\n  inventory:\n    group_vars:\n      all:\n        db_password: Mol$$ecule-pg_4711\n"
        "        dsn: 'postgresql://u:{{ db_password }}@h/db'\n        api_token: '{{ vault_token }}'\n")
    (tmp_path / "converge.yml").write_text("- hosts: all\n  vars:\n    grafana_admin_password: molecule-Admin-1\n")
    found = leaks.molecule_passwords(tmp_path)
    assert found == {"Mol$ecule-pg_4711": "all.db_password", "molecule-Admin-1": "vars.grafana_admin_password"}
    assert leaks.found("login with molecule-Admin-1", found) == ["vars.grafana_admin_password"]


def test_every_molecule_scenario_with_a_web_endpoint_has_its_password_searched():
    for scenario in ("monitoring", "node_exporter", "database_exporters", "health_check"):
        labels = leaks.molecule_passwords(ROOT / "molecule" / scenario).values()
        assert any(label.endswith("web_config_client_password") for label in labels), scenario
