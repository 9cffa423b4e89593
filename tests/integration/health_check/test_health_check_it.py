"""redfire.ops.health_check against real servers on loopback, over real SSH and in a systemd container."""
import socket
import subprocess


def by_name(result):
    return dict((c['name'], c) for c in result['checks'])


def test_postgresql_and_redis(runner, postgres, redis_server):
    """ok, wrong password and stopped server, with the reason; passwords never in the output."""
    # latency thresholds a loaded 2-core test machine never reaches: this test is about the failure reasons
    pg = dict(host='127.0.0.1', port=postgres['port'], user='postgres', database='postgres', warning=3, critical=5)
    rd = dict(host='127.0.0.1', port=redis_server['port'], warning=3, critical=5)
    secrets_ = [postgres['password'], redis_server['password'], 'wrong-pg-pw-1', 'wrong-rd-pw-2']
    args = {
        'checks': ['postgresql', 'redis'],
        'postgresql': [dict(pg, name='pg', password=postgres['password']),
                       dict(pg, name='pg-badpw', password='wrong-pg-pw-1')],
        'redis': [dict(rd, name='redis', password=redis_server['password']),
                  dict(rd, name='redis-badpw', password='wrong-rd-pw-2'),
                  dict(rd, name='redis-noauth')],
    }
    res = runner.health(args)
    checks = by_name(res)
    assert res['changed'] is False and res['status'] == 'critical'
    assert checks['pg']['status'] == 'ok' and 0 < checks['pg']['value'] < 3, checks['pg']
    assert 'SELECT 1 (psycopg2)' in checks['pg']['message']
    assert checks['pg-badpw']['status'] == 'critical'
    assert 'password authentication failed' in checks['pg-badpw']['message']
    assert checks['redis']['status'] == 'ok' and checks['redis']['unit'] == 's'
    assert checks['redis-badpw']['status'] == 'critical'
    assert 'invalid' in checks['redis-badpw']['message'].lower() or 'WRONGPASS' in checks['redis-badpw']['message']
    assert checks['redis-noauth']['status'] == 'critical'
    assert 'auth' in checks['redis-noauth']['message'].lower()
    assert not [s for s in secrets_ if s in runner.last_stdout]

    postgres['stop']()
    redis_server['stop']()
    res = runner.health({'checks': ['postgresql', 'redis'], 'postgresql': args['postgresql'][:1],
                         'redis': args['redis'][:1]})
    checks = by_name(res)
    assert checks['pg']['status'] == 'critical' and 'refused' in checks['pg']['message'].lower(), checks['pg']
    assert checks['redis']['status'] == 'critical' and 'refused' in checks['redis']['message'].lower(), checks['redis']
    assert not [s for s in secrets_ if s in runner.last_stdout]


def test_http_ports_network_textfile(runner, web, tmp_path):
    listening = socket.socket()
    listening.bind(('127.0.0.1', 0))
    listening.listen(8)
    open_port = listening.getsockname()[1]
    closed = socket.socket()
    closed.bind(('127.0.0.1', 0))
    closed_port = closed.getsockname()[1]   # bound, not listening: nothing accepts there
    prom = tmp_path / 'textfile' / 'redfire_health.prom'
    prom.parent.mkdir()
    args = {
        'checks': ['http', 'ports', 'network', 'load'],
        'http': [
            {'name': 'api', 'url': web['http'] + '/health', 'body_regex': '"status": "ok"', 'warning': 3, 'critical': 4},
            {'name': 'api-wrong-body', 'url': web['http'] + '/health', 'body_regex': 'maintenance'},
            {'name': 'api-slowish', 'url': web['http'] + '/slow/0.5', 'warning': 0.3, 'critical': 2},
            {'name': 'api-slow', 'url': web['http'] + '/slow/2.5', 'timeout': 5},   # guide: > 2 s is critical
            {'name': 'api-404', 'url': web['http'] + '/missing'},
            {'name': 'tls', 'url': web['https'] + '/health', 'ca_path': web['ca'], 'warning': 3, 'critical': 4},
        ],
        'ports': [open_port, closed_port],
        'network_targets': [{'type': 'tcp', 'address': '127.0.0.1:%d' % open_port},
                            {'type': 'tcp', 'address': '127.0.0.1:%d' % closed_port, 'name': 'closed'},
                            {'type': 'dns', 'address': 'localhost'}],
        'textfile': str(prom),
    }
    try:
        res = runner.health(args, check=True)
        assert res['textfile_written'] is False and not prom.exists()    # check mode writes nothing
        res = runner.health(dict(args, fail_on='critical'))
    finally:
        listening.close()
        closed.close()
    c = by_name(res)
    assert c['api']['status'] == 'ok' and c['api']['unit'] == 's'
    assert c['api-wrong-body']['status'] == 'critical' and 'body does not match' in c['api-wrong-body']['message']
    assert c['api-slowish']['status'] == 'warning' and 0.5 <= c['api-slowish']['value'] < 2
    assert c['api-slow']['status'] == 'critical' and c['api-slow']['value'] >= 2.5
    assert c['api-slow']['message'].endswith('> critical 2s')
    assert c['api-404']['status'] == 'critical' and 'status 404 not in [200]' in c['api-404']['message']
    assert c['tls']['status'] == 'ok'
    assert c['cert:tls']['status'] == 'warning' and 4.9 < c['cert:tls']['value'] <= 5.0, c['cert:tls']
    assert c['cert:tls']['unit'] == 'd' and '< warning 14 days' in c['cert:tls']['message']
    assert c['port:%d' % open_port]['status'] == 'ok'
    assert c['port:%d' % closed_port]['status'] == 'critical'
    assert c['tcp:127.0.0.1:%d' % open_port]['status'] == 'ok'
    assert c['closed']['status'] == 'critical' and 'refused' in c['closed']['message']
    assert c['dns:localhost']['status'] == 'ok'
    assert res['health_status']['network_status'] == 'disconnected'

    # fail_on: critical -> a failed task whose message is the Nagios summary, results still returned
    assert res['failed'] is True and res['msg'] == res['summary']
    assert res['summary'].startswith('HEALTH CRITICAL - ') and "'cert:tls'=" in res['summary']
    assert res['textfile_written'] is True
    text = prom.read_text()
    promtool = subprocess.run(['promtool', 'check', 'metrics'], input=text, capture_output=True, text=True, check=False)
    assert promtool.returncode == 0, promtool.stdout + promtool.stderr
    assert 'redfire_health_check_status{check="api-slow",kind="http"} 2' in text
    assert 'redfire_health_check_status{check="cert:tls",kind="certificate"} 1' in text
    assert 'redfire_health_check_overall_status 2' in text
    assert [p.name for p in prom.parent.iterdir()] == ['redfire_health.prom']


BAD = [
    ({'checks': ['cpu', 'gpu']}, 'checks'),
    ({'thresholds': {'cpu': {'warning': 96, 'critical': 90}}}, 'thresholds.cpu'),
    ({'thresholds': {'memory': {'warning': 150, 'critical': 160}}}, 'thresholds.memory.warning'),
    ({'cpu_sample': -0.5}, 'cpu_sample'),
    ({'timeout': -1}, 'timeout'),
    ({'disk_timeout': 0}, 'disk_timeout'),
    ({'http': [{'url': 'ftp://example.invalid/'}]}, 'http[0].url'),
    ({'http': [{'url': 'http://127.0.0.1/', 'expected_status': [999]}]}, 'http[0].expected_status'),
    ({'http': [{'url': 'http://127.0.0.1/', 'body_regex': '(['}]}, 'http[0].body_regex'),
    ({'ports': [0]}, 'ports[0]'),
    ({'ports': [70000]}, 'ports[0]'),
    ({'services': ['']}, 'services[0]'),
    ({'disk_mounts': ['/nonexistent/redfire-mount']}, 'disk_mounts[0]'),
    ({'network_targets': [{'address': 'db.internal'}]}, 'network_targets[0].address'),
    ({'postgresql': [{'host': '127.0.0.1', 'port': 70000}]}, 'postgresql[0].port'),
    ({'redis': [{'host': '127.0.0.1', 'timeout': -3}]}, 'redis[0].timeout'),
    ({'fail_on': 'sometimes'}, 'fail_on'),
    ({'textfile': '/nonexistent-dir/redfire_health.prom'}, 'textfile'),
]


def test_bad_inputs_are_failed_tasks_naming_the_option(runner):
    tasks = [{'name': 'bad %d' % i, 'redfire.ops.health_check': dict(args, cpu_sample=args.get('cpu_sample', 0)),
              'ignore_errors': True} for i, (args, dummy) in enumerate(BAD)]
    results = runner.playbook(tasks)
    assert len(results) == len(BAD) >= 15
    for (args, option), res in zip(BAD, results):
        assert res.get('failed') is True, (args, res)
        assert option in res['msg'], (option, res['msg'])
        # ansible-core 2.19 marks every failed result '(traceback unavailable)' when the module sent none
        assert res.get('exception', '(traceback unavailable)') == '(traceback unavailable)', res
        assert 'Traceback' not in res['msg'], res
    assert 'Traceback' not in runner.last_stdout


def test_over_real_ssh(runner, sshd):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        s.listen(1)
        port = s.getsockname()[1]
        res = runner.health({'ports': [port, sshd['ansible_port']], 'thresholds': {'disk': {'warning': 99.9,
                                                                                            'critical': 100}}},
                            host_vars=sshd)
    assert 'msg' not in res or not res.get('unreachable'), res
    c = by_name(res)
    assert {'cpu', 'load', 'memory', 'swap', 'disk:/', 'inodes:/'} <= set(c)
    assert c['port:%d' % port]['status'] == 'ok' and c['port:%d' % sshd['ansible_port']]['status'] == 'ok'
    assert c['disk:/']['warning'] == 99.9
    assert 0 <= res['health_status']['cpu_usage'] <= 100 and res['health_status']['disk_usage'] == c['disk:/']['value']
    assert res['changed'] is False and res['status'] in ('ok', 'warning', 'critical', 'unknown')


def test_systemd_units_in_container(runner, systemd_container):
    res = runner.health({'checks': ['services', 'cpu', 'memory', 'disk', 'load', 'time_sync'],
                         'services': ['systemd-journald', 'dbus.socket', 'redfire-no-such-unit', 'systemd-tmpfiles-clean.timer']},
                        host_vars=systemd_container, host='systemd-target')
    c = by_name(res)
    assert c['service:systemd-journald']['status'] == 'ok', c['service:systemd-journald']
    assert 'active (running)' in c['service:systemd-journald']['message']
    assert c['service:dbus.socket']['status'] == 'ok'
    assert c['service:redfire-no-such-unit']['status'] == 'critical'
    assert 'not found' in c['service:redfire-no-such-unit']['message']
    assert c['service:systemd-tmpfiles-clean.timer']['status'] == 'ok'
    assert c['load']['status'] in ('ok', 'warning', 'critical') and c['time_sync']['value'] in (0, 1)
    # python3-psutil (installed as host_prereqs would) in the container; its root is overlay, /etc/hosts etc. are file bind mounts (left out)
    assert 0 <= c['cpu']['value'] <= 100 and c['memory']['unit'] == '%'
    assert 'disk:/' in c and not [n for n in c if n.startswith('disk:/etc') or n.startswith('disk:/run/.')], sorted(c)
    assert res['status'] == 'critical' and res['changed'] is False
    assert 'service:redfire-no-such-unit critical: unit redfire-no-such-unit not found' in res['summary']
