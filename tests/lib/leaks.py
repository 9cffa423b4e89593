"""The test passwords, and the search of every command's output for them (issue 19: no password in any output).

A test module registers the passwords it hands to a run (`password("name", value)`); `tests.conftest.run` searches
the output of every command it runs for every registered password and fails the test that ran it, naming the
password by its label, never by its value. `molecule_passwords` reads a scenario's passwords from its YAML files,
for run_tests.py's search of the scenario's log."""
from __future__ import annotations

import threading
from pathlib import Path

import yaml

# shorter values are no passwords but switches, ports or the like: a search for them would only find noise
MIN_LENGTH = 8
_LOCK = threading.Lock()
_PASSWORDS: dict[str, str] = {}


def password(label, value):
    """Register `value` as a test password (searched for in every command's output) and return it."""
    value = str(value)
    if len(value) >= MIN_LENGTH:
        with _LOCK:
            _PASSWORDS[value] = label
    return value


def found(text, passwords=None):
    """The labels of the passwords (registered, or the mapping value -> label given) that occur in `text`."""
    with _LOCK:
        table = dict(_PASSWORDS if passwords is None else passwords)
    return sorted({label for value, label in table.items() if value in (text or "")})


def assert_none_in(text, what, passwords=None):
    labels = found(text, passwords)
    assert not labels, "%s shows the test password(s) %s (the value is not repeated here)" % (what, ", ".join(labels))


def molecule_passwords(scenario_dir):
    """value -> label of every string under a key naming a password, secret or token in a Molecule scenario's YAML
    files (molecule.yml, its playbooks, group_vars; Molecule's `$$` escape undone; Jinja expressions, which name a
    password rather than hold one, left out)."""
    out = {}

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, path + [str(key)])
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, path + [str(index)])
        elif isinstance(node, str) and path and any(w in path[-1].lower() for w in ("password", "secret", "token")):
            value = node.replace("$$", "$")
            if "{{" not in value and len(value) >= MIN_LENGTH:
                out[value] = ".".join(path[-2:])

    for path in sorted(Path(scenario_dir).rglob("*.yml")):
        with open(path, encoding="utf-8") as fh:
            walk(yaml.safe_load(fh), [])
    return out
