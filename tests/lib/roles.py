"""Run a role of this collection against this machine in check mode, for preflight tests: bad input
must fail before anything is touched, and check mode guarantees nothing changes even if a check is
missing."""
import json
import sys
import textwrap

from tests.conftest import run


def run_role_in_check_mode(tmp_path, role, extra_vars):
    """Apply redfire.ops.<role> to localhost with --check and extra vars; return the combined output
    after asserting what every preflight failure shares: a failed run, no traceback, nothing changed."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(textwrap.dedent("""\
        - name: Bad input
          hosts: localhost
          connection: local
          gather_facts: false
          roles:
            - role: redfire.ops.%s
        """ % role))
    proc = run(["ansible-playbook", "--check", "-i", "localhost,", str(playbook),
                "-e", "ansible_python_interpreter=%s" % sys.executable, "-e", json.dumps(extra_vars)], check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    assert "changed=0" in out, out[-3000:]
    return out


def assert_mentions(out, fragments):
    for fragment in fragments:
        assert fragment in out, "missing %r in:\n%s" % (fragment, out[-3000:])
