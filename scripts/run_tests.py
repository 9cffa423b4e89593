"""Run the test layers of redfire.ops and count their tests.

Called by scripts/test after set-up. Each layer prints a summary line with its duration; the run ends
with the plain line `N passed, N failed` over all layers, and exits non-zero when anything failed.

Layers: lint, sanity, unit, compat, molecule, integration (default: all). The molecule layer runs in a lane of its
own beside the others (lint, sanity, unit, compat, integration, one after the other), and its longest scenario
(monitoring) beside its other scenarios: a Molecule scenario spends most of its time waiting on `podman exec`, so
the lanes together take little more than the longest one.
REDFIRE_TEST_LANES=1 runs every layer one after the other. Integration tests marked `machine_wide` (they measure the
whole machine's CPU) run after the lanes, alone, and count in the integration layer.
"""
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.lib import leaks  # noqa: E402  pylint: disable=wrong-import-position

LAYERS = ["lint", "sanity", "unit", "compat", "molecule", "integration"]
OUT = ROOT / ".build" / "test-results"


class Result:
    def __init__(self, layer):
        self.layer = layer
        self.passed = 0
        self.failed = 0
        self.failures = []
        self.seconds = 0.0

    def add(self, name, ok):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            self.failures.append(name)


def isolated_env():
    """The environment with HOME inside .build: tools that read ~/.ansible (ansible-lint prepends
    ~/.ansible/collections) must not pick up a user's other copy of this collection."""
    env = dict(os.environ)
    env["HOME"] = str(ROOT / ".build" / "home")
    return env


ECHO = threading.Lock()
LANE = threading.local()


def echo(data):
    """Write bytes to stdout, each line prefixed with its layer's name when lanes run side by side."""
    prefix = getattr(LANE, "prefix", b"")
    with ECHO:
        for line in data.splitlines(True):
            sys.stdout.buffer.write(prefix + line)
        sys.stdout.flush()


def say(text):
    echo((text + "\n").encode())


def sh(cmd, log, cwd=ROOT, env=None):
    """Run a command, stream its output into a log file and echo it; return the exit code."""
    say("+ %s" % " ".join(map(str, cmd)))
    with open(log, "ab") as fh:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for line in proc.stdout:
            fh.write(line)
            echo(line)
        return proc.wait()


def junit_counts(path, result):
    """Add a pytest junit file's test cases to a result; a missing file counts as one failure."""
    if not path.exists():
        result.add("%s (no junit report: the runner crashed)" % path.name, False)
        return
    for case in ET.parse(path).getroot().iter("testcase"):
        name = "%s::%s" % (case.get("classname"), case.get("name"))
        bad = case.find("failure") is not None or case.find("error") is not None
        skipped = case.find("skipped") is not None
        # Skips are not allowed to hide a missing tool: a skipped test counts as failed.
        result.add(name + (" (skipped)" if skipped else ""), not bad and not skipped)


def layer_lint(result, log):
    # ansible-lint installs this collection into ~/.ansible/collections once and then keeps using
    # that copy; remove it so every run lints the tree as it is now.
    shutil.rmtree(ROOT / ".build" / "home" / ".ansible" / "collections" / "ansible_collections" / "redfire",
                  ignore_errors=True)
    checks = [
        ("yamllint", ["yamllint", "--strict", "."]),
        ("ansible-lint", ["ansible-lint", "--offline", "--profile", "production"]),
        ("antsibull-changelog lint", ["antsibull-changelog", "lint"]),
    ]
    for name, cmd in checks:
        result.add(name, sh(cmd, log, env=isolated_env()) == 0)
    # The collection builds, installs and every plugin renders with ansible-doc.
    result.add("collection build and ansible-doc", sh(["bash", "scripts/check_build"], log) == 0)
    # What the docs site and Galaxy/Automation Hub run on a published collection.
    result.add("antsibull-docs lint-collection-docs",
               sh(["antsibull-docs", "lint-collection-docs", "--plugin-docs", "."], log, env=isolated_env()) == 0)
    result.add("galaxy-importer", galaxy_importer(log))


def galaxy_importer(log):
    """galaxy-importer on the tarball scripts/check_build made; passes only when the import succeeds and it
    warns about nothing (Galaxy shows its warnings on the collection's page)."""
    tarballs = sorted((ROOT / ".build" / "check_build" / "dist").glob("redfire-ops-*.tar.gz"))
    if len(tarballs) != 1:
        say("galaxy-importer: expected one tarball from scripts/check_build, found %d" % len(tarballs))
        return False
    # The importer runs ansible-doc with only ~/.ansible/collections besides the collection itself: give it a
    # home whose collections are the dependencies of .build/deps (Galaxy is not reachable to install them).
    home = ROOT / ".build" / "importer-home"
    shutil.rmtree(home, ignore_errors=True)
    (home / ".ansible").mkdir(parents=True)
    (home / ".ansible" / "collections").symlink_to(ROOT / ".build" / "deps")
    env = dict(os.environ, HOME=str(home))
    # Explicit settings, so a /etc/galaxy-importer/galaxy-importer.cfg on the machine changes nothing.
    # Its ansible-lint (production profile with a skip list, on the tarball) is a subset of this layer's own
    # ansible-lint run on the whole tree, and its fixed 180 s timeout fails on a loaded machine: off here.
    # ansible-test needs a container engine and runs in the sanity layer instead.
    env.update({"GALAXY_IMPORTER_" + k: v for k, v in {
        "RUN_ANSIBLE_DOC": "true", "RUN_ANSIBLE_LINT": "false", "CHECK_CHANGELOG": "true",
        "RUN_ANSIBLE_TEST": "false", "RUN_FLAKE8": "false"}.items()})
    out = OUT / "galaxy-importer.out"
    with open(out, "wb") as fh:
        rc = subprocess.call([sys.executable, "-m", "galaxy_importer.main", str(tarballs[0])], cwd=str(home),
                             env=env, stdout=fh, stderr=subprocess.STDOUT)
    text = out.read_text(errors="replace")
    with open(log, "a") as fh:
        fh.write(text)
    problems = [line for line in text.splitlines() if line.startswith(("WARNING", "ERROR"))]
    say("\n".join(problems) or "galaxy-importer: no warnings")
    ok = rc == 0 and "Importer processing completed successfully" in text and not problems
    say("galaxy-importer: %s (exit %d)" % ("ok" if ok else "FAILED", rc))
    return ok


def layer_sanity(result, log):
    rc = sh(["bash", "scripts/sanity"], log)
    text = log.read_text(errors="replace")
    tests = re.findall(r'^Running sanity test "([^"]+)"', text, re.M)
    failed = set()
    m = re.search(r"^FATAL: The \d+ sanity test\(s\) listed below \(out of \d+\) failed.*\n((?:[\w.-]+\n)+)", text, re.M)
    if m:
        failed = set(m.group(1).split())
    for name in tests:
        result.add("sanity " + name, name.split(" on ")[0] not in failed)
    if rc != 0 and not failed:
        result.add("ansible-test sanity (exit %d)" % rc, False)


def layer_unit(result, log):
    junit = OUT / "unit.xml"
    junit.unlink(missing_ok=True)
    sh(["python", "-m", "pytest", "tests/unit", "-q", "-n", "2", "--junitxml", str(junit)], log)
    junit_counts(junit, result)


def compat_versions():
    """[(ansible-core, target Python)] from scripts/compat.txt (scripts/setup made their venvs)."""
    rows = [line.split() for line in (ROOT / "scripts" / "compat.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    return [(core, target) for core, _controller, target in rows]


def layer_compat(result, log):
    """The plugin unit tests and the smoke run (tests/compat) on each other supported ansible-core."""
    for core, target in compat_versions():
        venv = ROOT / ".build" / "venvs" / ("ansible-core-" + core) / "bin"
        env = dict(os.environ, PATH="%s:%s" % (venv, os.environ["PATH"]), REDFIRE_VENV_BIN=str(venv),
                   REDFIRE_CORE_VERSION=core, REDFIRE_TARGET_PYTHON_VERSION=target,
                   REDFIRE_TARGET_PYTHON=str(ROOT / ".build" / "venvs" / ("target-python" + target) / "bin" / "python"))
        junit = OUT / ("compat-%s.xml" % core)
        junit.unlink(missing_ok=True)
        say("[compat] ansible-core %s, managed-host Python %s" % (core, target))
        sh([str(venv / "python"), "-m", "pytest", "tests/unit/plugins", "tests/compat", "-q", "-n", "2",
            "--junitxml", str(junit)], log, env=env)
        before = len(result.failures)
        junit_counts(junit, result)
        result.failures[before:] = ["ansible-core %s: %s" % (core, name) for name in result.failures[before:]]


# The longest scenario runs in a lane of its own beside the others (REDFIRE_TEST_LANES=1: all in one).
MOLECULE_ALONE = ["monitoring"]


def layer_molecule(result, log):
    scenarios = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))
    if not scenarios:
        result.add("molecule (no scenario found)", False)
    lock = threading.Lock()
    prefix = getattr(LANE, "prefix", b"")

    def run_scenarios(names):
        LANE.prefix = prefix
        for name in names:
            started = time.monotonic()
            scenario_log = OUT / ("molecule-%s.log" % name)
            scenario_log.write_bytes(b"")
            ok = sh(["molecule", "test", "-s", name], scenario_log, env=isolated_env()) == 0
            say("[molecule] %s: %s in %.0fs (log: %s)" % (name, "passed" if ok else "FAILED", time.monotonic() - started,
                                                          scenario_log.relative_to(ROOT)))
            # no test password of the scenario in its output (issue 19), named by label, never by value
            leaked = leaks.found(scenario_log.read_text(errors="replace"),
                                 leaks.molecule_passwords(ROOT / "molecule" / name))
            if leaked:
                say("[molecule] %s: its output shows the test password(s) %s" % (name, ", ".join(leaked)))
            with lock:
                result.add("molecule " + name, ok)
                result.add("molecule %s: no test password in its output" % name, not leaked)
                with open(log, "ab") as fh:
                    fh.write(scenario_log.read_bytes())

    if os.environ.get("REDFIRE_TEST_LANES", "2") == "1":
        groups = [scenarios]
    else:
        groups = [[n for n in scenarios if n in MOLECULE_ALONE], [n for n in scenarios if n not in MOLECULE_ALONE]]
    threads = [threading.Thread(target=run_scenarios, args=(names,)) for names in groups if names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def layer_integration(result, log):
    junit = OUT / "integration.xml"
    junit.unlink(missing_ok=True)
    sh(["python", "-m", "pytest", "tests/integration", "-q", "-n", "2", "-m", "not machine_wide", "--junitxml", str(junit)],
       log)
    junit_counts(junit, result)


def integration_alone(result):
    """The integration tests that measure the whole machine (its CPU), run when nothing else does."""
    log = OUT / "integration-alone.log"
    log.write_bytes(b"")
    junit = OUT / "integration-alone.xml"
    junit.unlink(missing_ok=True)
    say("\n===== integration, machine-wide tests alone =====")
    started = time.monotonic()
    sh(["python", "-m", "pytest", "tests/integration", "-q", "-m", "machine_wide", "--junitxml", str(junit)], log)
    junit_counts(junit, result)
    result.seconds += time.monotonic() - started


def run_layer(layer, results):
    """Run one layer into a new Result appended to results (a crashed layer is a failed layer)."""
    result = Result(layer)
    results.append(result)
    log = OUT / ("%s.log" % layer)
    log.write_bytes(b"")
    say("\n===== %s =====" % layer)
    started = time.monotonic()
    try:
        globals()["layer_" + layer](result, log)
    except Exception as exc:  # a broken layer is a failed layer, and the others still run
        result.add("%s layer crashed: %s" % (layer, exc), False)
    result.seconds = time.monotonic() - started
    say("[%s] %d passed, %d failed in %.0fs (log: %s)"
        % (layer, result.passed, result.failed, result.seconds, log.relative_to(ROOT)))


def run_lane(layers, results, prefixed):
    for layer in layers:
        LANE.prefix = ("%s| " % layer).encode() if prefixed else b""
        run_layer(layer, results)


def lanes_of(layers):
    """The layers grouped into lanes that run side by side: molecule alone, the others in order."""
    if os.environ.get("REDFIRE_TEST_LANES", "2") == "1" or "molecule" not in layers or len(layers) == 1:
        return [layers]
    return [["molecule"], [x for x in layers if x != "molecule"]]


def main(argv):
    layers = argv[1:] or LAYERS
    unknown = [x for x in layers if x not in LAYERS]
    if unknown:
        sys.exit("unknown layer(s) %s; choose from %s" % (", ".join(unknown), ", ".join(LAYERS)))
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    lanes = lanes_of(layers)
    started = time.monotonic()
    threads = [threading.Thread(target=run_lane, args=(lane, results, len(lanes) > 1)) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        if result.layer == "integration":
            integration_alone(result)
    results.sort(key=lambda r: layers.index(r.layer))

    print("\n===== summary =====")
    for r in results:
        print("%-12s %4d passed, %3d failed  %6.0fs" % (r.layer, r.passed, r.failed, r.seconds))
        for name in r.failures:
            print("    FAILED: %s" % name)
    print("%d lane(s) in %.0fs" % (len(lanes), time.monotonic() - started))
    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
