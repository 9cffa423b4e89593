"""Bad input to the tuning role fails in preflight, before anything is touched, with a message naming what to
change. Runs in check mode against this machine: nothing can change even if a check were missing."""
import pytest

from tests.lib.roles import assert_mentions, run_role_in_check_mode

CASES = [
    ({"tuning_sysctl_custom": {"vm.swappiness": True}}, ["booleans: ['vm.swappiness']", "quote them or use 1/0"]),
    ({"tuning_sysctl_custom": {"vm.swappiness": 300}}, ["vm.swappiness = 300 is outside 0..", "tuning_sysctl_custom"]),
    ({"tuning_sysctl_custom": {"net.core.no_such_key": 1}},
     ["settings.net.core.no_such_key: the key does not exist on this kernel"]),
    ({"tuning_mounts": ["/srv/not-in-fstab"]}, ["/srv/not-in-fstab has no single entry in /etc/fstab"]),
    ({"tuning_app_database": {"min_size": 30, "max_size": 20, "max_queries": 1,
                              "max_inactive_connection_lifetime": 1.0}}, ["database min_size <= max_size"]),
    ({"tuning_app_config_format": "toml"}, ["tuning_app_config_format", "yaml, json, ini"]),
]


@pytest.mark.parametrize("extra_vars,expected", CASES, ids=[next(iter(c[0])) + "-%d" % i for i, c in enumerate(CASES)])
def test_bad_input_fails_in_preflight(tmp_path, extra_vars, expected):
    out = run_role_in_check_mode(tmp_path, "tuning", extra_vars)
    assert_mentions(out, expected)
    assert ": Apply the kernel profile" not in out and ": Render the RedFire backend settings" not in out, out[-3000:]
