"""Validate a rendered RedFire backend tuning config before it replaces the current one.

Usage: python3 validate_app_config.py FORMAT FILE   (FORMAT: yaml, json or ini). Exit 0 when FILE parses and holds the
sections database, redis and celery, each a flat mapping of scalar values; otherwise exit 1 with the reason.
Only the Python standard library is required (PyYAML is used for yaml when installed, else a strict parser of
the two-level subset the role renders).
"""
import configparser
import json
import re
import sys

SECTIONS = ("database", "redis", "celery")


def load_yaml_subset(text):
    data, section = {}, None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#") or line.strip() == "---":
            continue
        top = re.match(r"^([A-Za-z_][A-Za-z0-9_]*):\s*$", line)
        item = re.match(r"^  ([A-Za-z_][A-Za-z0-9_]*): (\S.*)$", line)
        if top:
            section = data.setdefault(top.group(1), {})
        elif item and section is not None:
            section[item.group(1)] = item.group(2)
        else:
            raise ValueError("line %d is not 'section:' or '  key: value': %r" % (number, line))
    return data


def load(fmt, path):
    with open(path) as handle:
        text = handle.read()
    if fmt == "json":
        return json.loads(text)
    if fmt == "ini":
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(text, source=path)
        return {name: dict(parser[name]) for name in parser.sections()}
    if fmt == "yaml":
        try:
            import yaml
        except ImportError:
            return load_yaml_subset(text)
        return yaml.safe_load(text)
    raise ValueError("unknown format %r (yaml, json or ini)" % fmt)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    try:
        data = load(argv[1], argv[2])
        if not isinstance(data, dict):
            raise ValueError("the top level is not a mapping")
        for name in SECTIONS:
            section = data.get(name)
            if not isinstance(section, dict) or not section:
                raise ValueError("section %r is missing or empty" % name)
            for key, value in section.items():
                if isinstance(value, (dict, list)) or value is None or value == "":
                    raise ValueError("%s.%s has no scalar value" % (name, key))
    except (ValueError, configparser.Error, OSError) as exc:
        sys.stderr.write("%s: invalid %s config: %s\n" % (argv[2], argv[1], exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
