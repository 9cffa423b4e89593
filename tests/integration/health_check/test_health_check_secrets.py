"""No credential given inside a URL or a DSN appears anywhere: not in the output of ansible-playbook -vvv --diff
(the invocation included), not in any file the run writes (the textfile) - issue 14."""
import http.server
import json
import sys
import threading
from pathlib import Path

from tests.conftest import free_port, project_env, run

SECRETS = ['S3cretPw', 'abc123secret', 'DbPassw0rd', 'RedisT0ken', 'Netw0rkTok']


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server API
        self.send_response(200)
        self.send_header('Content-Length', '2')
        self.end_headers()
        self.wfile.write(b'ok')

    def log_message(self, *args):
        pass


def test_credentials_in_urls_and_dsns_are_never_printed_or_written(tmp_path):
    server = http.server.HTTPServer(('127.0.0.1', 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port, closed = server.server_address[1], free_port()
    textfile = tmp_path / 'textfile' / 'redfire_health.prom'
    textfile.parent.mkdir()
    task = {'redfire.ops.health_check': {
        'checks': ['http', 'network', 'postgresql', 'redis'], 'timeout': 2, 'textfile': str(textfile),
        'http': [{'url': 'http://admin:S3cretPw@127.0.0.1:%d/ok?token=abc123secret' % port, 'body_regex': 'ok'}],
        'network_targets': [{'type': 'http', 'address': 'http://127.0.0.1:%d/?access_token=Netw0rkTok' % port}],
        'postgresql': [{'host': 'postgresql://app:DbPassw0rd@127.0.0.1:%d/app' % closed, 'port': closed}],
        'redis': [{'host': 'redis://:RedisT0ken@127.0.0.1', 'port': closed}],
        'fail_on': 'never'}, 'register': 'health'}
    show = {'ansible.builtin.debug': {'var': 'health'}}
    playbook = tmp_path / 'playbook.json'
    playbook.write_text(json.dumps([{'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
                                     'tasks': [task, show]}]))
    try:
        proc = run(['ansible-playbook', '-i', 'localhost,', '-e', 'ansible_python_interpreter=%s' % sys.executable,
                    '-vvv', '--diff', str(playbook)], env=project_env(), cwd=str(tmp_path))
    finally:
        server.shutdown()
        server.server_close()
    out = proc.stdout + proc.stderr
    assert 'http://admin:***@127.0.0.1:%d/ok?token=***' % port in out, out[-3000:]
    assert 'redfire_health_check_status' in textfile.read_text()
    written = [p for p in Path(tmp_path).rglob('*') if p.is_file() and p != playbook]
    assert textfile in written
    for secret in SECRETS:
        assert secret not in out, '%s printed:\n%s' % (secret, out[-3000:])
        for path in written:
            assert secret not in path.read_text(errors='replace'), '%s written to %s' % (secret, path)
