"""Helpers for the monitoring tests: render the roles' files with ansible, run the real servers on loopback, and
wait for a condition (wait_for, the one polling helper of the tests). The webhook receiver and the SMTP sink are
in tests/lib/receivers.py."""
from __future__ import annotations

import base64
import json
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RENDER_PLAYBOOK = ROOT / "tests" / "lib" / "render_monitoring.yml"


def render(tmp_path, roles, role_vars, env, check=True):
    """Run the roles' preflight and configure tasks on the controller (no install, no services).

    Returns the CompletedProcess; with check=True a failure raises with the output."""
    varfile = Path(tmp_path) / ("render-%d.json" % time.monotonic_ns())
    varfile.write_text(json.dumps({"render_roles": list(roles), **role_vars}))
    cmd = ["ansible-playbook", "-i", "localhost,", "-e", "ansible_python_interpreter=%s" % sys.executable,
           "-e", "@%s" % varfile, str(RENDER_PLAYBOOK)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("render failed (%s):\n%s\n%s" % (proc.returncode, proc.stdout[-8000:], proc.stderr[-3000:]))
    return proc


def need(tool):
    path = shutil.which(tool)
    assert path, "%s not found: ./scripts/setup test installs it (scripts/apt-packages.txt)" % tool
    return path


def http_get_json(url, timeout=2.0, ca_file=None, auth=None):
    """GET url as JSON; ca_file trusts that CA (https), auth is (user, password) for basic auth."""
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(("%s:%s" % auth).encode()).decode())
    context = ssl.create_default_context(cafile=ca_file) if ca_file else None
    with urllib.request.urlopen(request, timeout=timeout, context=context) as resp:
        return json.loads(resp.read().decode())


def wait_for(predicate, timeout, interval=0.25, what="condition"):
    """Poll predicate until it returns a truthy value; bounded by timeout seconds."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, urllib.error.URLError, ValueError, KeyError) as exc:
            last_exc = exc
        time.sleep(interval)
    raise AssertionError("timed out after %.0f s waiting for %s (last error: %r)" % (timeout, what, last_exc))


def stop_processes(procs):
    """Stop servers a test started (subprocess.Popen objects) by their PIDs: all at once, then wait."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class Process:
    """A server started by a test, stopped by PID; its output goes to a log file."""

    def __init__(self, name, argv, log_dir, env=None):
        self.name = name
        self.log = Path(log_dir) / ("%s.log" % name)
        self._fh = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        # stdin from /dev/null: ansible (run by ansible-rulebook) refuses a non-blocking stdin of a background shell
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._fh, stderr=subprocess.STDOUT,
                                     env={"LANG": "C", "PATH": "/usr/bin:/bin", **(env or {})})

    @property
    def pid(self):
        return self.proc.pid

    def output(self):
        return self.log.read_text(errors="replace")[-6000:]

    def stop(self):
        stop_processes([self.proc])
        self._fh.close()
