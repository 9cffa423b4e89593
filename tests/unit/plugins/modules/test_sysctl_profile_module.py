"""redfire.ops.sysctl_profile as Ansible runs it (ansible-playbook, connection local) on a fake /proc/sys tree:
argument handling, check mode, diff, atomic write, backup, idempotence, failures, state absent."""
import json
import sys
import textwrap

from tests.conftest import run

PLAYBOOK = textwrap.dedent("""\
    - name: Exercise sysctl_profile on a fake tree
      hosts: localhost
      gather_facts: false
      vars:
        profile:
          net.core.somaxconn: ">8192"
          net.ipv4.tcp_fin_timeout: 30
          net.ipv4.tcp_rmem: "4096  87380   6291456"
          vm.swappiness: 10
      module_defaults:
        redfire.ops.sysctl_profile:
          root: "{{ fake_root }}"
      tasks:
        - name: Check mode with diff
          redfire.ops.sysctl_profile:
            settings: "{{ profile }}"
            ignore_unsupported: true
          check_mode: true
          diff: true
          register: checked
        - name: Apply
          redfire.ops.sysctl_profile:
            settings: "{{ profile }}"
            ignore_unsupported: true
          diff: true
          register: applied
        - name: Apply again
          redfire.ops.sysctl_profile:
            settings: "{{ profile }}"
            ignore_unsupported: true
          register: again
        - name: Change one key with a backup
          redfire.ops.sysctl_profile:
            settings: "{{ profile | combine({'net.ipv4.tcp_fin_timeout': 25}) }}"
            ignore_unsupported: true
            backup: true
          register: backed
        - name: A YAML boolean fails
          redfire.ops.sysctl_profile:
            settings:
              net.ipv4.tcp_fin_timeout: true
          register: boolean
          ignore_errors: true
        - name: Record results
          ansible.builtin.copy:
            content: "{{ {'checked': checked, 'applied': applied, 'again': again, 'backed': backed,
                          'boolean': boolean} | to_json }}"
            dest: "{{ fake_root }}/results.json"
            mode: "0644"
    """)


def test_module_check_diff_apply_idempotent_backup_and_failure(tmp_path):
    for key, value in {"net/core/somaxconn": "4096", "net/ipv4/tcp_fin_timeout": "60",
                       "net/ipv4/tcp_rmem": "4096\t131072\t6291456"}.items():
        path = tmp_path / "proc/sys" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n")
    (tmp_path / "etc/sysctl.d").mkdir(parents=True)
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    run(["ansible-playbook", "-i", "localhost,", "-c", "local", str(tmp_path / "site.yml"),
         "-e", "ansible_python_interpreter=%s" % sys.executable, "-e", "fake_root=%s" % tmp_path])
    res = json.loads((tmp_path / "results.json").read_text())

    checked, applied, again, backed, boolean = (res[k] for k in ("checked", "applied", "again", "backed", "boolean"))
    expected_changes = [
        {"key": "net.core.somaxconn", "before": "4096", "after": "8192"},
        {"key": "net.ipv4.tcp_fin_timeout", "before": "60", "after": "30"},
        {"key": "net.ipv4.tcp_rmem", "before": "4096 131072 6291456", "after": "4096 87380 6291456"},
    ]
    skipped = [{"key": "vm.swappiness", "reason": "vm.swappiness does not exist on this kernel"}]
    # check mode predicted exactly what the real run did, with the same diff
    assert checked["changed"] and checked["changes"] == expected_changes == applied["changes"]
    assert checked["skipped_keys"] == skipped == applied["skipped_keys"]
    assert "skipped" not in applied  # the task itself ran
    assert checked["diff"] == applied["diff"] and applied["diff"]["before"] == ""
    assert "net.ipv4.tcp_rmem = 4096 87380 6291456\n" in applied["diff"]["after"]
    assert again["changed"] is False and again["changes"] == [] and again["file_changed"] is False
    assert backed["changes"] == [{"key": "net.ipv4.tcp_fin_timeout", "before": "30", "after": "25"}]
    backup = backed["backup_file"]
    assert "net.ipv4.tcp_fin_timeout = 30\n" in open(backup).read()
    assert boolean["failed"] and "settings.net.ipv4.tcp_fin_timeout: the YAML boolean true" in boolean["msg"]

    conf = (tmp_path / "etc/sysctl.d/90-redfire.conf").read_text()
    assert conf.startswith("# Managed by Ansible") and conf.endswith(
        "net.core.somaxconn = 8192\nnet.ipv4.tcp_fin_timeout = 25\nnet.ipv4.tcp_rmem = 4096 87380 6291456\n")
    assert (tmp_path / "proc/sys/net/ipv4/tcp_fin_timeout").read_text() == "25\n"
    assert sorted(p.name for p in (tmp_path / "etc/sysctl.d").iterdir() if not p.name.startswith("90-redfire.conf.")) \
        == ["90-redfire.conf"], "no temporary files left behind"
