"""PostgreSQL (with an optional streaming replica), Redis and their Prometheus exporters, the Debian packages, run
on loopback on free ports by the tests that need real database metrics (dashboards, fault -> alert tests), and
real dumps for the backup checks (make_dumps). Everything is stopped by PID; data lives in a temporary directory
removed at the end."""
from __future__ import annotations

import gzip
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.conftest import free_port
from tests.lib.monitoring import Process, need

PG_BIN = Path("/usr/lib/postgresql/15/bin")
AS_PG = ["runuser", "-u", "postgres", "--"]


def wait_port(port, timeout=30, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError("server exited with %s before listening on %d" % (proc.returncode, port))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("nothing listens on 127.0.0.1:%d after %ss" % (port, timeout))


def _run(cmd, timeout=120):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, env={"LANG": "C", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    if proc.returncode != 0:
        raise AssertionError("%s exited %s:\n%s\n%s" % (" ".join(cmd), proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    return proc


class Postgres:
    """PostgreSQL 15 as user postgres on 127.0.0.1:<free port>, run from a temporary directory; the tests' one way
    to start it. Over TCP: trust (a test server only), or with `password` scram-sha-256 for the superuser
    `postgres` and for `app_user` (a login role owning a database of its name). The unix socket in the directory
    trusts local users (psql() uses it). replica=True adds a streaming standby made with pg_basebackup."""

    def __init__(self, replica=False, max_connections=100, password=None, app_user=None):
        assert (PG_BIN / "initdb").exists(), "postgresql (Debian) is not installed: ./scripts/setup test"
        assert not (replica and password), "a replica is made over trust"
        self.base = Path(tempfile.mkdtemp(prefix="redfire-it-pg-"))
        shutil.chown(str(self.base), "postgres", "postgres")
        self.port = free_port()
        self.max_connections = max_connections
        self.password = password
        self.app_user = app_user
        self.servers = []   # data directories started, primary first
        self.replica_port = None
        try:
            self._create(replica)
        except BaseException:
            self.stop()
            raise

    def _create(self, replica):
        auth = ["--auth-host=trust"]
        if self.password:
            pwfile = self.base / "pw"
            pwfile.write_text(self.password)
            shutil.chown(str(pwfile), "postgres", "postgres")
            auth = ["--auth-host=scram-sha-256", "--pwfile", str(pwfile)]
        _run(AS_PG + [str(PG_BIN / "initdb"), "-D", str(self.base / "primary"), "-U", "postgres", "--auth-local=trust",
                      "-E", "UTF8", "--no-sync"] + auth)
        self._start("primary", self.port)
        if self.app_user:
            self.psql("CREATE ROLE %s LOGIN PASSWORD '%s'" % (self.app_user, self.password or ""))
            self.psql("CREATE DATABASE %s OWNER %s" % (self.app_user, self.app_user))
        if replica:
            self.replica_port = free_port()
            _run(AS_PG + [str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                          "-D", str(self.base / "replica"), "-R", "-X", "stream"])
            self._start("replica", self.replica_port)

    def _start(self, name, port):
        _run(AS_PG + [str(PG_BIN / "pg_ctl"), "-D", str(self.base / name), "-l", str(self.base / (name + ".log")), "-w",
                      "-t", "60", "-o", "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=%d"
                      % (port, self.base, self.max_connections), "start"])
        self.servers.append(name)

    def dsn(self, port=None, database="postgres"):
        auth = "postgres:%s" % self.password if self.password else "postgres"
        return "postgresql://%s@127.0.0.1:%d/%s?sslmode=disable" % (auth, port or self.port, database)

    def psql(self, sql, port=None):
        return _run(AS_PG + ["psql", "-h", str(self.base), "-p", str(port or self.port), "-U", "postgres", "-qAt",
                             "-v", "ON_ERROR_STOP=1", "-c", sql]).stdout

    def connect(self, count):
        """`count` idle sessions held open (psql reading stdin); returns the processes (stop them by PID)."""
        procs = []
        for dummy in range(count):
            procs.append(subprocess.Popen(AS_PG + ["psql", "-h", str(self.base), "-p", str(self.port), "-U", "postgres", "-qAt"],
                                          stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return procs

    @property
    def pid(self):
        return self._pid("primary")

    def _pid(self, name):
        pidfile = self.base / name / "postmaster.pid"
        return int(pidfile.read_text().split()[0]) if pidfile.exists() else None

    def stop_server(self, name="primary"):
        """Fast shutdown of one server (the 'postgres stopped' fault); start_server brings it back."""
        pid = self._pid(name)
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            return
        for dummy in range(300):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)

    def start_server(self, name="primary"):
        self.servers.remove(name)
        self._start(name, self.port if name == "primary" else self.replica_port)

    def stop(self):
        for name in reversed(self.servers):
            self.stop_server(name)
        shutil.rmtree(str(self.base), ignore_errors=True)


class Redis:
    """redis-server on 127.0.0.1:<free port> with a maxmemory (so memory % and evictions have a meaning)."""

    def __init__(self, workdir, maxmemory="64mb", policy="allkeys-lru", maxclients=None, password=None):
        self.exe = need("redis-server")
        self.port = free_port()
        self.workdir = Path(workdir)
        self.password = password
        argv = [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(self.workdir), "--maxmemory", maxmemory, "--maxmemory-policy", policy]
        if maxclients:
            argv += ["--maxclients", str(maxclients)]
        if password:
            argv += ["--requirepass", password]
        self.argv = argv
        self.proc = None
        self.start()

    def start(self):
        self.proc = Process("redis-%d" % self.port, self.argv, self.workdir)
        wait_port(self.port, proc=self.proc.proc)

    def cli(self, *args):
        auth = ["--no-auth-warning", "-a", self.password] if self.password else []
        return _run([need("redis-cli"), "-h", "127.0.0.1", "-p", str(self.port)] + auth + [str(a) for a in args]).stdout

    def fill(self, megabytes, prefix="fill"):
        """Write about `megabytes` MiB of 64 KiB values in one Lua call (no per-key round trips); with maxmemory
        and an LRU policy Redis evicts as it goes and stays just under maxmemory."""
        script = ("for i=1,tonumber(ARGV[1]) * 16 do redis.call('SET', ARGV[2] .. i, string.rep('x', 65536)) end "
                  "return tonumber(ARGV[1])")
        return self.cli("EVAL", script, 0, megabytes, prefix + ":" + secrets.token_hex(2) + ":")

    def url(self):
        return "redis://%s127.0.0.1:%d" % ((":%s@" % self.password) if self.password else "", self.port)

    def stop(self):
        if self.proc is not None:
            self.proc.stop()


def postgres_exporter(dsn, log_dir, port=None):
    """Debian's prometheus-postgres-exporter (0.11) for one DSN, on loopback; returns (Process, port)."""
    port = port or free_port()
    proc = Process("postgres_exporter-%d" % port, [need("prometheus-postgres-exporter"), "--web.listen-address=127.0.0.1:%d" % port],
                   log_dir, env={"DATA_SOURCE_NAME": dsn})
    wait_port(port, proc=proc.proc)
    return proc, port


def redis_exporter(redis_url, log_dir, port=None):
    """Debian's prometheus-redis-exporter (1.45) for one Redis, on loopback; returns (Process, port)."""
    port = port or free_port()
    proc = Process("redis_exporter-%d" % port, [need("prometheus-redis-exporter"), "-redis.addr", redis_url,
                                                "-web.listen-address", "127.0.0.1:%d" % port], log_dir)
    wait_port(port, proc=proc.proc)
    return proc, port


def make_dumps(workdir):
    """Backups of a small real database, made by PostgreSQL 15's pg_dump, in ``workdir``: a custom-format dump, a
    gzipped plain dump, and a custom-format dump cut in the middle (what a full disk or a killed pg_dump leaves)."""
    pg = Postgres()
    try:
        pg.psql("CREATE TABLE orders (id int PRIMARY KEY, amount numeric); "
                "INSERT INTO orders SELECT g, g * 1.5 FROM generate_series(1, 500) g")
        dumps = {}
        for fmt in ("-Fc", "-Fp"):  # to stdout: the postgres user cannot write into the test's directory
            dumps[fmt] = subprocess.run(AS_PG + [str(PG_BIN / "pg_dump"), "-h", "127.0.0.1", "-p", str(pg.port), "-U",
                                                 "postgres", fmt, "postgres"],
                                        check=True, capture_output=True, timeout=120).stdout
    finally:
        pg.stop()
    custom, gz, corrupt = workdir / "orders.dump", workdir / "orders.sql.gz", workdir / "corrupt.dump"
    custom.write_bytes(dumps["-Fc"])
    gz.write_bytes(gzip.compress(dumps["-Fp"]))
    corrupt.write_bytes(dumps["-Fc"][:len(dumps["-Fc"]) // 2])
    return custom, gz, corrupt
