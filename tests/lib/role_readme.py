"""The variables table of a role README, generated from the role's meta/argument_specs.yml.

A README that holds the line "From `meta/argument_specs.yml`" keeps, from that line to the next "## " heading, a
table generated here; `python -m tests.lib.role_readme` rewrites those tables and the unit layer fails when one
is stale, so the README and the role's contract cannot drift apart."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
MARKER = "From `meta/argument_specs.yml`"
_MARKUP_START = re.compile(r"\b(RV|[ICBMLUVOP])\(")


def _markup(kind, body):
    if kind in ("M", "P"):
        return "`%s`" % body.split("#")[0]
    if kind == "B":
        return "**%s**" % body
    if kind in ("L", "U"):
        return body.split(",")[0]
    return "`%s`" % body


def _plain(text):
    """Ansible doc markup (C(x), I(x), ...) as Markdown; a body may hold balanced parentheses."""
    if isinstance(text, list):
        text = " ".join(text)
    text, out, pos = " ".join(str(text or "").split()), [], 0
    while True:
        match = _MARKUP_START.search(text, pos)
        if not match:
            out.append(text[pos:])
            break
        depth, end = 1, match.end()
        while end < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            end += 1
        if depth:  # unbalanced: leave the rest as it is
            out.append(text[pos:])
            break
        out.append(text[pos:match.start()])
        out.append(_markup(match.group(1), text[match.end():end - 1]))
        pos = end
    return "".join(out).replace("|", "\\|")


def _default(spec):
    if spec.get("required"):
        return "*required*"
    if "default" not in spec:
        return "see description"
    value = spec["default"]
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return "`%s`" % (text if text != "" else '""').replace("|", "\\|")


def table(role):
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
    options = specs["argument_specs"]["main"].get("options") or {}
    lines = ["%s (`ansible-doc -t role redfire.ops.%s` shows the same):" % (MARKER, role), "",
             "| variable | default | description |", "|---|---|---|"]
    for name, spec in options.items():
        lines.append("| `%s` | %s | %s |" % (name, _default(spec), _plain(spec.get("description"))))
    return "\n".join(lines) + "\n"


def rendered(role, text):
    """The README text with its generated table replaced by the current one (unchanged if it has none)."""
    start = text.find(MARKER)
    if start < 0:
        return text
    end = text.find("\n## ", start)
    end = len(text) if end < 0 else end + 1
    return text[:start] + table(role) + "\n" + text[end:]


def readmes():
    return sorted(p for p in (ROOT / "roles").glob("*/README.md") if MARKER in p.read_text(encoding="utf-8"))


def main():
    for path in readmes():
        text = path.read_text(encoding="utf-8")
        new = rendered(path.parent.name, text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print("rewrote", path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
