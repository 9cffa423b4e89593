"""The module in-process: the bad-input table (each a failed result naming the option, never a traceback),
check mode, fail_on and the textfile."""
import json
import time

import pytest
from tests.lib.module_args import patch_module_args

from ansible_collections.redfire.ops.plugins.modules import health_check
from ansible_collections.redfire.ops.plugins.module_utils import health_checks_config as hc_config


def run_module(args, capsys, check_mode=False):
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            health_check.main()
    return json.loads(capsys.readouterr().out)


BAD_INPUTS = [
    ({'checks': ['cpu', 'gpu']}, 'checks'),
    ({'thresholds': {'cpu': {'warning': 96, 'critical': 90}}}, 'thresholds.cpu'),
    ({'thresholds': {'memory': {'warning': 150, 'critical': 160}}}, 'thresholds.memory.warning'),
    ({'thresholds': {'disk': {'critical': -1}}}, 'thresholds.disk.critical'),
    ({'thresholds': {'load': {'warning': 'high'}}}, 'warning'),
    ({'cpu_sample': -0.5}, 'cpu_sample'),
    ({'cpu_sample': 30}, 'cpu_sample'),
    ({'timeout': -1}, 'timeout'),
    ({'disk_timeout': 0}, 'disk_timeout'),
    ({'http': [{'url': 'ftp://example.invalid/'}]}, 'http[0].url'),
    ({'http': [{'url': 'not a url'}]}, 'http[0].url'),
    ({'http': [{'url': 'http://127.0.0.1/', 'expected_status': [999]}]}, 'http[0].expected_status'),
    ({'http': [{'url': 'http://127.0.0.1/', 'body_regex': '(['}]}, 'http[0].body_regex'),
    ({'http': [{'url': 'https://127.0.0.1/', 'cert_warning_days': 2, 'cert_critical_days': 10}]}, 'http[0]'),
    ({'http': [{'url': 'http://127.0.0.1/', 'warning': 3, 'critical': 2}]}, 'http[0]'),
    ({'ports': [0]}, 'ports[0]'),
    ({'ports': [22, 70000]}, 'ports[1]'),
    ({'services': ['']}, 'services[0]'),
    ({'services': ['ok.service', 'two words']}, 'services[1]'),
    ({'processes': ['  ']}, 'processes[0]'),
    ({'disk_mounts': ['/nonexistent/redfire-mount']}, 'disk_mounts[0]'),
    ({'disk_mounts': ['relative/path']}, 'disk_mounts[0]'),
    ({'network_targets': [{'type': 'tcp', 'address': 'db.internal'}]}, 'network_targets[0].address'),
    ({'network_targets': [{'type': 'tcp', 'address': '127.0.0.1:80', 'timeout': -2}]}, 'network_targets[0].timeout'),
    ({'network_targets': [{'type': 'smtp', 'address': 'x'}]}, 'type'),
    ({'postgresql': [{'host': '127.0.0.1', 'port': 0}]}, 'postgresql[0].port'),
    ({'postgresql': [{'host': ' '}]}, 'postgresql[0].host'),
    ({'redis': [{'host': '127.0.0.1', 'timeout': 0}]}, 'redis[0].timeout'),
    ({'redis': [{'port': 6379}]}, 'host'),
    ({'fail_on': 'sometimes'}, 'fail_on'),
    ({'textfile': '/nonexistent-dir/redfire_health.prom'}, 'textfile'),
    ({'textfile': '/tmp/redfire_health.txt'}, 'textfile'),
    ({'cpu_sample': 'fast'}, 'cpu_sample'),
    ({'logs': {'paths': ['var/log/redfire/*.log']}}, 'logs.paths[0]'),
    ({'logs': {'paths': []}}, 'logs.paths'),
    ({'logs': {'hours': 24}}, 'paths'),
    ({'logs': {'paths': ['/var/log/redfire/*.log'], 'hours': 0}}, 'logs.hours'),
    ({'logs': {'paths': ['/var/log/redfire/*.log'], 'errors_warning': 10, 'errors_critical': 5}}, 'errors_warning'),
    ({'logs': {'paths': ['/var/log/redfire/*.log'], 'size_critical_mb': -1}}, 'logs.size_critical_mb'),
    ({'logs': {'paths': ['/var/log/redfire/*.log'], 'size_warning_mb': 'big'}}, 'size_warning_mb'),
    ({'logs': {'paths': ['/var/log/redfire/*.log'], 'timeout': 0}}, 'logs.timeout'),
    ({'logs': {'paths': ['/var/log/redfire/*.log'], 'categories': {'db': '(unclosed'}}}, 'logs.categories'),
    ({'logs': {'paths': ['/var/log/redfire/*.log'], 'categories': {'any': '.*'}}}, 'logs.categories'),
    ({'textfile': '/tmp/x.prom', 'textfile_missing_directory': 'ignore'}, 'textfile_missing_directory'),
    ({'textfile': 'relative.prom', 'textfile_missing_directory': 'skip'}, 'textfile'),
    ({'http': [{'url': 'http://127.0.0.1/a', 'name': 'api'}, {'url': 'http://127.0.0.1/b', 'name': 'api'}]},
     'http[1].name'),
]


@pytest.mark.parametrize('args,option', BAD_INPUTS, ids=['%s-%d' % (case[1], i) for i, case in enumerate(BAD_INPUTS)])
def test_bad_input_fails_naming_the_option(args, option, capsys):
    args = dict(args)
    kinds = ('http', 'ports', 'services', 'processes', 'disk', 'network', 'postgresql', 'redis', 'logs')
    args.setdefault('checks', ['load'] + [k for k in kinds if k in str(args)])
    out = run_module(args, capsys)
    assert out.get('failed') is True, out
    assert option in out['msg'], out['msg']
    assert 'exception' not in out and 'Traceback' not in out['msg']
    assert out.get('changed') is not True


def test_check_mode_does_not_write_textfile_and_fail_on(tmp_path, capsys):
    prom = tmp_path / 'redfire_health.prom'
    # thresholds no shared test machine reaches, so the statuses below are known
    base = {'checks': ['load', 'memory'], 'textfile': str(prom),
            'thresholds': {'load': {'warning': 1000, 'critical': 2000}, 'memory': {'warning': 99.9, 'critical': 100}}}
    out = run_module(base, capsys, check_mode=True)
    assert out['changed'] is False and out['textfile_written'] is False and not prom.exists()

    out = run_module(base, capsys)
    assert out['changed'] is False and out['textfile_written'] is True
    text = prom.read_text()
    assert 'redfire_health_check_status{check="load",kind="load"} 0' in text
    assert 'redfire_health_check_overall_status 0' in text
    assert oct(prom.stat().st_mode & 0o777) == '0o644'
    assert [p.name for p in tmp_path.iterdir()] == ['redfire_health.prom']   # no temp file left

    missing = str(tmp_path / 'not-yet' / 'redfire_health.prom')
    out = run_module({'checks': ['load'], 'textfile': missing}, capsys, check_mode=True)
    assert out.get('failed') is not True and out['textfile_written'] is False
    out = run_module({'checks': ['load'], 'textfile': missing}, capsys)
    assert out['failed'] is True and out['msg'].startswith('textfile: directory')

    # memory above a 0% warning: warning status; fail_on=critical passes, fail_on=warning fails with the summary
    args = {'checks': ['memory'], 'thresholds': {'memory': {'warning': 0, 'critical': 100}}}
    out = run_module(dict(args, fail_on='critical'), capsys)
    assert out['status'] == 'warning' and not out.get('failed')
    out = run_module(dict(args, fail_on='warning'), capsys)
    assert out['failed'] is True and out['msg'] == out['summary'] and out['msg'].startswith('HEALTH WARNING - memory')
    assert out['checks'][0]['name'] == 'memory'


def test_textfile_missing_directory_skip(tmp_path, capsys):
    """Hosts without node_exporter: skip writes nothing and succeeds, also in check mode; an existing directory is
    written as usual."""
    missing = tmp_path / 'no-node-exporter' / 'redfire_health.prom'
    for check_mode in (True, False):
        out = run_module({'checks': ['load'], 'textfile': str(missing), 'textfile_missing_directory': 'skip'}, capsys,
                         check_mode=check_mode)
        assert out.get('failed') is not True and out['textfile_written'] is False, out
        assert 'no-node-exporter' not in json.dumps(out.get('warnings', [])), out  # (earlier tests' warnings stay)
    assert not missing.parent.exists()
    present = tmp_path / 'redfire_health.prom'
    out = run_module({'checks': ['load'], 'textfile': str(present), 'textfile_missing_directory': 'skip'}, capsys)
    assert out['textfile_written'] is True and 'redfire_health_check_overall_status' in present.read_text()


def test_logs_checks_in_results_and_textfile(tmp_path, capsys):
    logs = tmp_path / 'logs'
    logs.mkdir()
    now = time.strftime('%Y-%m-%d %H:%M:%S')
    (logs / 'app.log').write_text('%s ERROR DatabaseError: refused\n%s INFO fine\n' % (now, now))
    (logs / 'app.log.1').write_text('%s ERROR OrderError: rejected\n' % now)  # rotated: counted in the window
    prom = tmp_path / 'redfire_health.prom'
    out = run_module({'logs': {'paths': [str(logs / '*.log')], 'errors_critical': 1}, 'textfile': str(prom)}, capsys)
    checks = dict((c['name'], c) for c in out['checks'])
    assert out['changed'] is False and out['status'] == 'critical'
    assert [c['name'] for c in out['checks']][-2:] == ['log_size', 'log_errors']  # default checks first
    assert checks['log_errors']['value'] == 2 and checks['log_errors']['status'] == 'critical'
    assert 'database_error=1, trading_error=1' in checks['log_errors']['message']
    assert checks['log_size']['status'] == 'ok' and checks['log_size']['unit'] == 'MB'
    assert 'redfire_health_check_status{check="log_errors",kind="log_errors"} 2' in prom.read_text()


def test_missing_client_library_uses_missing_required_lib(monkeypatch, capsys):
    # missing_libraries lives in health_checks_config and reads these names there.
    monkeypatch.setattr(hc_config, 'postgres_driver', lambda: None)
    out = run_module({'checks': ['postgresql'], 'postgresql': [{'host': '127.0.0.1', 'password': 'pw-xyz'}]}, capsys)
    assert out['failed'] is True
    assert 'Failed to import the required Python library (psycopg2 (or psycopg))' in out['msg']
    assert 'postgresql check' in out['msg'] and 'pw-xyz' not in json.dumps(out)
    monkeypatch.setattr(hc_config, 'HAS_PSUTIL', False)
    out = run_module({'checks': ['cpu']}, capsys)
    assert 'Failed to import the required Python library (psutil)' in out['msg'] and 'cpu check' in out['msg']
    assert 'install python3-psutil (redfire.ops.host_prereqs' in out['msg']
    assert out['missing_libraries'] == [{'check': 'cpu', 'library': 'psutil', 'package': 'python3-psutil'}]
    # every missing library at once, each package named once
    out = run_module({'checks': ['cpu', 'memory', 'postgresql'], 'postgresql': [{'host': '127.0.0.1'}]}, capsys)
    assert [m['check'] for m in out['missing_libraries']] == ['cpu', 'memory', 'postgresql']
    assert 'install python3-psutil python3-psycopg2 (' in out['msg']
