"""playbooks/files/daily_log_files.py, the daily check's log file listing (run with ansible.builtin.raw instead of
a module run of ansible.builtin.find): run exactly as the playbook runs it (`python3 -c CODE JSON`), it lists
what ansible.builtin.find lists with the daily check's options, on a tree with the cases that differ."""
import json
import os
import subprocess
import sys

from tests.conftest import ROOT, run

SCRIPT = ROOT / "playbooks" / "files" / "daily_log_files.py"
PATTERNS = ["*.log", "*.log.[0-9]*", "*.log-*"]  # the daily check's default redfire_daily_log_patterns


def listing(argument):
    proc = subprocess.run([sys.executable, "-c", SCRIPT.read_text(encoding="utf-8"), argument],
                          capture_output=True, text=True, check=False)
    return proc.returncode, json.loads(proc.stdout)


def test_lists_what_find_lists(tmp_path):
    logs = tmp_path / "logs"
    (logs / "sub").mkdir(parents=True)
    for name, size in [("app.log", 10), ("app.log.1", 20), ("app.log-20240101.gz", 30), ("app.txt", 1),
                       (".hidden.log", 5), ("APP.LOG", 7), ("sub/deep.log", 9)]:
        (logs / name).write_bytes(b"x" * size)
    os.symlink(logs / "app.log", logs / "link.log")
    (logs / "dir.log").mkdir()
    textfile_dir = tmp_path / "node-exporter"  # missing: the daily check then writes no textfile
    paths = [str(logs), str(textfile_dir)]

    rc, ours = listing(json.dumps({"paths": paths, "patterns": PATTERNS}))
    assert rc == 0
    assert sorted((f["path"], f["size"]) for f in ours["files"]) == [
        (str(logs / "app.log"), 10), (str(logs / "app.log-20240101.gz"), 30), (str(logs / "app.log.1"), 20)]
    assert list(ours["skipped_paths"]) == [str(textfile_dir)]

    python = str(ROOT / ".venv" / "bin" / "python")
    proc = run(["ansible", "localhost", "-c", "local", "-e", "ansible_python_interpreter=" + python,
                "-m", "ansible.builtin.find", "-a", json.dumps({"paths": paths, "patterns": PATTERNS,
                                                                "recurse": False, "file_type": "file"}),
                "-o"], check=False)
    found = json.loads(proc.stdout.split(" => ", 1)[1])
    assert sorted((f["path"], f["size"]) for f in found["files"]) == sorted(
        (f["path"], f["size"]) for f in ours["files"])
    assert set(found["skipped_paths"]) == set(ours["skipped_paths"])


def test_bad_argument_is_a_failed_result_not_a_traceback():
    for argument in ("not json", json.dumps({"paths": "/var/log"}), json.dumps({"paths": "/x", "patterns": []})):
        rc, result = listing(argument)
        assert rc == 2 and result["failed"] is True and "bad argument" in result["msg"], (argument, result)
