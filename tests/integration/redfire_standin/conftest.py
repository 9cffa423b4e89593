"""Fixtures for the RedFire stand-in (lab/redfire_standin/redfire_standin.py): real PostgreSQL 15 with a `redfire`
database and user, real Redis 7, both on 127.0.0.1 free ports, and the stand-in itself as a process, all stopped by
PID at the end."""
import importlib.util
import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location('redfire_tests_root_conftest', str(ROOT / 'tests' / 'conftest.py'))
_root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_root)
free_port, run = _root.free_port, _root.run
from tests.lib.datastores import Postgres, Redis, wait_port  # noqa: E402 - after the root conftest put the paths in place

STANDIN = ROOT / 'lab' / 'redfire_standin' / 'redfire_standin.py'
VENV_PYTHON = str(ROOT / '.venv' / 'bin' / 'python')
PG_BIN = Path('/usr/lib/postgresql/15/bin')


@pytest.fixture(scope='module')
def postgres():
    """PostgreSQL with a `redfire` database owned by a `redfire` user (password auth over TCP)."""
    server = Postgres(password='rf-' + secrets.token_hex(8), app_user='redfire')
    try:
        yield {'port': server.port, 'password': server.password, 'stop': server.stop_server,
               'start': server.start_server,
               'dsn': 'host=127.0.0.1 port=%d dbname=redfire user=redfire password=%s' % (server.port, server.password)}
    finally:
        server.stop()


@pytest.fixture(scope='module')
def redis_server(tmp_path_factory):
    server = Redis(tmp_path_factory.mktemp('redis'), password='rd-' + secrets.token_hex(8))
    try:
        yield {'port': server.port, 'password': server.password, 'url': server.url() + '/0',
               'start': server.start, 'stop': server.stop}
    finally:
        server.stop()


class Standin(object):
    """One stand-in process on a free loopback port, with its log and faults files."""

    def __init__(self, workdir, role='backend', postgres_dsn=None, redis_url=None, env=None, duration=300):
        self.workdir = Path(workdir)
        self.port = free_port()
        self.log_file = self.workdir / ('%s.log' % role)
        self.faults_file = self.workdir / ('%s.faults' % role)
        cmd = [VENV_PYTHON, str(STANDIN), '--role', role, '--listen', '127.0.0.1:%d' % self.port,
               '--log-file', str(self.log_file), '--faults-file', str(self.faults_file), '--duration', str(duration)]
        if postgres_dsn:
            cmd += ['--postgres-dsn', postgres_dsn]
        if redis_url:
            cmd += ['--redis-url', redis_url]
        full_env = dict(os.environ)
        full_env.pop('REDFIRE_POSTGRES_DSN', None)
        full_env.pop('REDFIRE_REDIS_URL', None)
        full_env.update(env or {})
        self.stderr = open(str(self.workdir / ('%s.stderr' % role)), 'w+')
        self.proc = subprocess.Popen(cmd, env=full_env, stdout=self.stderr, stderr=subprocess.STDOUT)
        wait_port(self.port, proc=self.proc)

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.port

    def get(self, path, timeout=10):
        """(status, body text) of GET path."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def health(self):
        status, body = self.get('/health')
        return status, json.loads(body)

    def samples(self):
        """{(name, frozenset(labels.items())): value} of every sample on /metrics."""
        status, text = self.get('/metrics')
        assert status == 200, text
        out = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                out[(s.name, frozenset(s.labels.items()))] = s.value
        return out

    def total(self, name, scrape=None, **labels):
        """Sum of the samples of `name` whose labels include `labels`, in `scrape` (a samples() result) or a new one."""
        want = set(labels.items())
        samples = self.samples() if scrape is None else scrape  # an empty scrape is a scrape, not a request for one
        return sum(v for (n, lab), v in samples.items() if n == name and want <= lab)

    def set_faults(self, *names):
        tmp = self.faults_file.with_suffix('.tmp')
        tmp.write_text(''.join(n + '\n' for n in names))
        tmp.replace(self.faults_file)

    def log_text(self):
        return self.log_file.read_text() if self.log_file.exists() else ''

    def wait_for(self, predicate, timeout=20, what='condition'):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None and what != 'exit':
                raise AssertionError('stand-in exited (%s) while waiting for %s:\n%s'
                                     % (self.proc.returncode, what, self.log_text()[-3000:]))
            value = predicate()
            if value:
                return value
            time.sleep(0.25)
        raise AssertionError('timed out after %ss waiting for %s\nlog tail:\n%s'
                             % (timeout, what, self.log_text()[-3000:]))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.stderr.close()


@pytest.fixture
def standin(tmp_path):
    started = []

    def make(**kwargs):
        s = Standin(tmp_path, **kwargs)
        started.append(s)
        return s
    yield make
    for s in started:
        s.stop()


@pytest.fixture
def backend(standin, postgres, redis_server):
    return standin(role='backend', postgres_dsn=postgres['dsn'], redis_url=redis_server['url'])
