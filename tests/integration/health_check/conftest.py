"""Fixtures for redfire.ops.health_check integration tests: real PostgreSQL and Redis servers, HTTP(S)
servers, sshd and a systemd container, all on loopback (or the project's own container), on free ports,
stopped by PID at the end; and `run_health`, which runs the module through ansible-playbook."""
import datetime
import importlib.util
import json
import re
import os
import secrets
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location('redfire_tests_root_conftest', str(ROOT / 'tests' / 'conftest.py'))
_root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_root)
free_port, run, project_env = _root.free_port, _root.run, _root.project_env
from tests.lib.containers import IMAGE, INSTALL_HOST_LIBRARIES, wait_booted  # noqa: E402 - after the root conftest put the paths in place
from tests.lib.datastores import Postgres, Redis, wait_port  # noqa: E402
from tests.lib.receivers import http_server, stop_http_server  # noqa: E402

VENV_PYTHON = str(ROOT / '.venv' / 'bin' / 'python')


class Runner(object):
    """Runs redfire.ops.health_check (or any task list) through ansible-playbook with the json callback."""

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.last_stdout = ''

    def playbook(self, tasks, host_vars=None, check=False, host='target'):
        hv = {'ansible_connection': 'local', 'ansible_python_interpreter': VENV_PYTHON}
        hv.update(host_vars or {})
        inv = self.workdir / 'inventory.json'
        inv.write_text(json.dumps({'all': {'hosts': {host: hv}}}))
        pb = self.workdir / 'playbook.json'
        pb.write_text(json.dumps([{'hosts': 'all', 'gather_facts': False, 'tasks': tasks}]))
        cmd = ['ansible-playbook', '-i', str(inv), str(pb)] + (['--check'] if check else [])
        env = project_env(ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_RETRY_FILES_ENABLED='False')
        proc = run(cmd, check=False, env=env, timeout=300)
        self.last_stdout = proc.stdout + proc.stderr
        try:
            data = json.loads(proc.stdout[proc.stdout.index('{'):])
        except ValueError:
            raise AssertionError('no JSON from ansible-playbook (rc %s):\n%s\n%s'
                                 % (proc.returncode, proc.stdout[-4000:], proc.stderr[-4000:]))
        return [t['hosts'][host] for t in data['plays'][0]['tasks']]

    def health(self, args, **kwargs):
        task = {'name': 'health', 'redfire.ops.health_check': args, 'ignore_errors': True}
        return self.playbook([task], **kwargs)[0]


@pytest.fixture
def runner(tmp_path):
    return Runner(tmp_path)


@pytest.fixture
def postgres():
    """PostgreSQL 15 from Debian on 127.0.0.1:<free port>, the superuser's password over TCP."""
    server = Postgres(password='pg-' + secrets.token_hex(8))
    try:
        yield {'host': '127.0.0.1', 'port': server.port, 'user': 'postgres', 'password': server.password,
               'pid': server.pid, 'stop': server.stop_server}
    finally:
        server.stop()


@pytest.fixture
def redis_server(tmp_path):
    server = Redis(tmp_path, password='rd-' + secrets.token_hex(8))
    try:
        yield {'host': '127.0.0.1', 'port': server.port, 'password': server.password, 'stop': server.stop}
    finally:
        server.stop()


def _answer(request):
    """The endpoints the HTTP checks are tested against: /slow/<seconds>, /missing (404), anything else 200 JSON."""
    from werkzeug.wrappers import Response
    if request.path.startswith('/slow/'):
        time.sleep(float(request.path.split('/')[2]))
    if request.path.startswith('/missing'):
        return Response('not here', status=404)
    return Response('{"status": "ok", "service": "redfire-api"}', status=200)


def _self_signed(workdir, days):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    import ipaddress
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, u'127.0.0.1')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(u'127.0.0.1'))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = Path(workdir) / 'cert.pem', Path(workdir) / 'key.pem'
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.fixture
def web(tmp_path):
    """An HTTP server (fast, slow and 404 paths) and an HTTPS one whose self-signed certificate expires in 5 days."""
    cert, key = _self_signed(tmp_path, 5)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    servers = [http_server(), http_server(ssl_context=ctx)]
    try:
        for srv in servers:
            srv.expect_request(re.compile('.*')).respond_with_handler(_answer)
        yield {'http': 'http://127.0.0.1:%d' % servers[0].port,
               'https': 'https://127.0.0.1:%d' % servers[1].port, 'ca': cert}
    finally:
        for srv in servers:
            stop_http_server(srv)


@pytest.fixture
def sshd(tmp_path):
    """sshd on 127.0.0.1:<free port> accepting a generated key for the current user."""
    exe = '/usr/sbin/sshd'
    assert os.path.exists(exe), 'openssh-server is not installed: run ./scripts/setup test'
    d = tmp_path / 'ssh'
    d.mkdir()
    run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', str(d / 'host_key')])
    run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', str(d / 'client_key')])
    shutil.copy(str(d / 'client_key.pub'), str(d / 'authorized_keys'))
    os.makedirs('/run/sshd', mode=0o755, exist_ok=True)   # privilege separation directory sshd insists on
    port = free_port()
    (d / 'sshd_config').write_text('\n'.join([
        'Port %d' % port, 'ListenAddress 127.0.0.1', 'HostKey %s' % (d / 'host_key'),
        'AuthorizedKeysFile %s' % (d / 'authorized_keys'), 'PasswordAuthentication no',
        'KbdInteractiveAuthentication no', 'PermitRootLogin prohibit-password', 'UsePAM no', 'StrictModes no',
        'PidFile %s' % (d / 'sshd.pid'), 'Subsystem sftp internal-sftp', 'LogLevel ERROR', '']))
    proc = subprocess.Popen([exe, '-D', '-e', '-f', str(d / 'sshd_config')], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    wait_port(port, proc=proc)
    import getpass
    yield {'ansible_connection': 'ssh', 'ansible_host': '127.0.0.1', 'ansible_port': port,
           'ansible_user': getpass.getuser(), 'ansible_ssh_private_key_file': str(d / 'client_key'),
           'ansible_ssh_common_args': '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null',
           'ansible_ssh_args': '-o ControlMaster=no',   # no persistent master outliving the test's sshd
           'ansible_ssh_pipelining': True,
           'ansible_python_interpreter': VENV_PYTHON}
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def systemd_container():
    """The project's Debian 12 image with systemd as PID 1, under a name no one else uses."""
    image = IMAGE
    name = 'redfire-it-health-%s' % secrets.token_hex(4)
    env = project_env()
    run(['podman', 'run', '-d', '--systemd=always', '--stop-timeout', '1', '--name', name, image, '/sbin/init'],
        env=env, timeout=120)
    try:
        wait_booted(lambda command, check: run(['podman', 'exec', name, 'sh', '-c', command], check=check, env=env),
                    name, 30)
        run(['podman', 'exec', name, 'sh', '-c', INSTALL_HOST_LIBRARIES], env=env)
        yield {'ansible_connection': 'containers.podman.podman', 'ansible_host': name,
               'ansible_python_interpreter': '/usr/bin/python3'}
    finally:
        run(['podman', 'rm', '-f', '-t', '1', name], check=False, env=env, timeout=120)
