"""Bad input to the node_exporter role fails before anything is touched, with a message that names
the variable and says what to change. Runs in check mode against this machine: nothing can change
even if a check were missing."""
import pytest

from tests.lib.roles import assert_mentions, run_role_in_check_mode

CASES = [
    ({"node_exporter_enabled_collectors": ["cpu", "bogus_collector"]},
     ["Unknown node_exporter collector(s): bogus_collector", "node_exporter_enabled_collectors"]),
    ({"node_exporter_enabled_collectors": ["cpu"], "node_exporter_disabled_collectors": ["cpu"]},
     ["both enabled and disabled: cpu"]),
    ({"node_exporter_port": 70000}, ["node_exporter_port is '70000'", "between 1 and 65535"]),
    ({"node_exporter_port": 0}, ["node_exporter_port is '0'"]),
    ({"node_exporter_install_method": "pakage"},
     ["node_exporter_install_method", "package, tarball", "pakage"]),
    ({"node_exporter_install_method": "tarball", "node_exporter_checksum": "abc123"},
     ["node_exporter_checksum must be the sha256", "64 hex digits", "got 6"]),
    ({"node_exporter_extra_flags": ["collector.foo"]}, ["node_exporter_extra_flags", "long flag"]),
    ({"node_exporter_textfile_dir": "relative/dir"}, ["node_exporter_textfile_dir must be an absolute path"]),
    ({"node_exporter_systemd_unit_include": "(ssh|cron)\\.service"},
     ["node_exporter_systemd_unit_include must not contain them", "write [.] for a dot"]),
    ({"node_exporter_extra_flags": ["--web.listen-address=:9999"]},
     ["node_exporter_extra_flags has --web.listen-address", "node_exporter_listen_address and node_exporter_port"]),
    ({"node_exporter_extra_flags": ["--collector.textfile.directory=/tmp"]},
     ["node_exporter_extra_flags has --collector.textfile.directory", "node_exporter_textfile_dir"]),
]


@pytest.mark.parametrize("extra_vars,expected", CASES, ids=[next(iter(c[0])) + "-%d" % i for i, c in enumerate(CASES)])
def test_bad_input_fails_in_preflight(tmp_path, extra_vars, expected):
    out = run_role_in_check_mode(tmp_path, "node_exporter", extra_vars)
    assert_mentions(out, expected)
    # Failed before the install: no task past preflight ran.
    assert "Install node_exporter" not in out, out[-3000:]
