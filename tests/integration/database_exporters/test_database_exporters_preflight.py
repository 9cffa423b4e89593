"""Bad input to postgres_exporter and redis_exporter fails in preflight, before anything is installed, with a
message naming the variable; a secret is never echoed, not even when it is the bad input. Runs in check mode
against this machine: nothing can change even if a check were missing."""
import pytest

from tests.lib.roles import assert_mentions, run_role_in_check_mode

SECRET = "Sekr1t-'quoted'-4711"
CASES = [
    ("postgres_exporter", {}, ["postgres_exporter_dsn must be set"]),
    ("postgres_exporter", {"postgres_exporter_dsn": "postgresql://exporter:%s@127.0.0.1/postgres" % SECRET},
     ["without single quotes", "percent-encode"]),
    ("postgres_exporter", {"postgres_exporter_dsn": "exporter@db1"}, ["key=value form"]),
    ("postgres_exporter", {"postgres_exporter_dsn": "postgresql://e:p@h/db", "postgres_exporter_listen_address": "9187"},
     ["postgres_exporter_listen_address must be host:port", '\\"9187\\"']),
    ("postgres_exporter", {"postgres_exporter_dsn": "postgresql://e:p@h/db", "postgres_exporter_listen_address": ":70000"},
     ["postgres_exporter_listen_address must be host:port with a port from 1 to 65535"]),
    ("postgres_exporter", {"postgres_exporter_dsn": "postgresql://e:p@h/db", "postgres_exporter_install_method": "tarball",
                           "postgres_exporter_checksum": "abc"}, ["postgres_exporter_checksum must be the sha256"]),
    ("postgres_exporter", {"postgres_exporter_dsn": "postgresql://e:p@h/db", "postgres_exporter_extra_flags": ["auto"]},
     ["postgres_exporter_extra_flags must be one long flag"]),
    ("redis_exporter", {"redis_exporter_address": "redis://:%s@127.0.0.1:6379" % SECRET},
     ["redis_exporter_address must be a Redis URL without credentials", "redis_exporter_password"]),
    ("redis_exporter", {"redis_exporter_address": "127.0.0.1:6379"}, ["redis_exporter_address must be a Redis URL"]),
    ("redis_exporter", {"redis_exporter_password": SECRET}, ["redis_exporter_password must be a string without single quotes"]),
    ("redis_exporter", {"redis_exporter_extra_flags": ["--redis.password=%s" % SECRET]},
     ["none may carry a password"]),
    ("redis_exporter", {"redis_exporter_listen_address": "[::]:0"}, ["redis_exporter_listen_address must be host:port"]),
]


@pytest.mark.parametrize("role,extra_vars,expected", CASES,
                         ids=["%s-%d" % (c[0], i) for i, c in enumerate(CASES)])
def test_bad_input_fails_in_preflight(tmp_path, role, extra_vars, expected):
    out = run_role_in_check_mode(tmp_path, role, extra_vars)
    assert_mentions(out, expected)
    assert "preflight.yml" in out, out[-3000:]
    # Failed before the install: no task past preflight ran.
    assert "Install %s" % role not in out, out[-3000:]
    assert "Sekr1t" not in out, "a secret was echoed:\n" + out[-3000:]
