"""Benchmark: a 12-key profile as one redfire.ops.sysctl_profile task against 12 ansible.posix.sysctl tasks.

Both start from the same live values (this machine's originals, restored before each run), persist to a file in
a temporary directory (never /etc/sysctl.d), and are measured again on the converged host. Each case is timed as
a whole ansible-playbook run (connection local), median of --rounds; the fixed cost of an empty playbook
measured in the same run is also subtracted to show the ratio of the task work alone.
The original live values are restored at the end, also on failure. Needs root (writes /proc/sys).

    . scripts/env.sh && python benchmarks/sysctl_profile.py [--rounds 3]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

PROFILE = {
    "net.core.somaxconn": "8192",
    "net.ipv4.tcp_fin_timeout": "30",
    "net.ipv4.tcp_keepalive_time": "1200",
    "net.ipv4.tcp_keepalive_intvl": "30",
    "net.ipv4.tcp_keepalive_probes": "5",
    "net.ipv4.tcp_max_syn_backlog": "8192",
    "net.ipv4.tcp_syn_retries": "5",
    "net.ipv4.tcp_synack_retries": "4",
    "net.ipv4.tcp_slow_start_after_idle": "0",
    "net.ipv4.tcp_mtu_probing": "1",
    "net.ipv4.tcp_rmem": "4096 87380 6291456",
    "net.ipv4.tcp_wmem": "4096 65536 4194304",
}


def proc(key):
    return "/proc/sys/" + key.replace(".", "/")


def read(key):
    with open(proc(key)) as handle:
        return " ".join(handle.read().split())


def write(key, value):
    with open(proc(key), "w") as handle:
        handle.write(value)


def playbook(tasks):
    return [{"name": "bench", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]


def timed(path, workdir):
    cmd = ["ansible-playbook", "-i", "localhost,", "-c", "local", path,
           "-e", "ansible_python_interpreter=%s" % sys.executable]
    start = time.perf_counter()
    proc_ = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc_.returncode != 0:
        raise SystemExit("%s failed:\n%s\n%s" % (path, proc_.stdout[-3000:], proc_.stderr[-3000:]))
    return elapsed, proc_.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    original = dict((k, read(k)) for k in PROFILE)
    work = tempfile.mkdtemp(prefix="redfire-bench-sysctl-")
    ours_conf = os.path.join(work, "90-redfire-bench.conf")
    posix_conf = os.path.join(work, "90-posix-bench.conf")
    files = {
        "empty": playbook([{"name": "noop", "ansible.builtin.meta": "noop"}]),
        "profile": playbook([{"name": "profile", "redfire.ops.sysctl_profile": {
            "settings": PROFILE, "path": ours_conf, "force": True}}]),
        "posix": playbook([{"name": "sysctl %s" % k, "ansible.posix.sysctl": {
            "name": k, "value": v, "sysctl_file": posix_conf, "sysctl_set": True, "reload": True}}
            for k, v in sorted(PROFILE.items())]),
    }
    paths = {}
    for name, content in files.items():
        paths[name] = os.path.join(work, name + ".yml")
        with open(paths[name], "w") as handle:
            json.dump(content, handle)  # JSON is YAML
    times = dict((k, []) for k in ("empty", "profile", "profile_converged", "posix", "posix_converged"))
    try:
        for _round in range(args.rounds):
            times["empty"].append(timed(paths["empty"], work)[0])
            for name in ("profile", "posix"):
                for key, value in original.items():
                    write(key, value)
                for conf in (ours_conf, posix_conf):
                    if os.path.exists(conf):
                        os.unlink(conf)
                elapsed, out = timed(paths[name], work)
                assert "changed=1" in out or "changed=12" in out, out[-800:]
                times[name].append(elapsed)
                assert dict((k, read(k)) for k in PROFILE) == PROFILE, "profile not applied by %s" % name
                elapsed, out = timed(paths[name], work)
                assert "changed=0" in out, out[-800:]
                times[name + "_converged"].append(elapsed)
    finally:
        for key, value in original.items():
            write(key, value)
        restored = dict((k, read(k)) for k in PROFILE) == original
        print("original values restored: %s" % restored)
    med = dict((k, statistics.median(v)) for k, v in times.items())
    empty = med["empty"]
    print("12-key profile, median of %d rounds (seconds per ansible-playbook run; empty playbook %.2f s)"
          % (args.rounds, empty))
    for case in ("", "_converged"):
        ours, posix = med["profile" + case], med["posix" + case]
        label = "converged host" if case else "from original values"
        print("%-22s sysctl_profile %.2f s  12x ansible.posix.sysctl %.2f s  ratio %.1fx  "
              "(without the empty-playbook cost: %.2f s vs %.2f s, ratio %.1fx)"
              % (label, ours, posix, posix / ours, ours - empty, posix - empty,
                 (posix - empty) / max(ours - empty, 1e-3)))
    return 0 if restored else 1


if __name__ == "__main__":
    sys.exit(main())
