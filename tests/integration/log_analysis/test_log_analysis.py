"""redfire.ops.log_analysis run by Ansible for real, against real files: rotated and gzipped siblings, check
mode, both report languages, an unreadable file read by an unprivileged user, a directory, a truncated gzip,
missing paths, strict mode and bad options."""
import gzip
import json
import os
import shutil
import tempfile
from datetime import datetime, timedelta

import pytest

from tests.conftest import project_env, run

CATS = ['DatabaseError: pool exhausted', 'HTTPError 502 from gateway', 'OrderError: rejected id=%d',
        'RuntimeError: worker %d died']
CAT_NAMES = ['database_error', 'api_error', 'trading_error', 'system_error']


def _family(root, now):
    """app.log (last 10 h), app.log.1 (10-34 h ago), app.log.2.gz (34-58 h ago); one error event every
    10 minutes at now - (10k + 5) minutes, so window edges (multiples of whole hours) never touch an event."""
    events = []
    files = {'app.log': [], 'app.log.1': [], 'app.log.2.gz': []}
    for k in range(58 * 6 - 1, -1, -1):
        age = k * 10 + 5
        t = now - timedelta(minutes=age)
        name = 'app.log' if age < 600 else 'app.log.1' if age < 2040 else 'app.log.2.gz'
        ts = t.strftime('%Y-%m-%d %H:%M:%S')
        cat = k % 4
        beat = (t - timedelta(minutes=1)).strftime('%Y-%m-%d %H:%M:%S')
        lines = ['%s INFO heartbeat seq=%d.%d latency_ms=12 queue=0 session=abcdef' % (beat, k, i) for i in range(40)]
        lines += ['%s ERROR [engine] %s' % (ts, CATS[cat] % k if '%d' in CATS[cat] else CATS[cat])]
        if cat == 3:
            lines += ['Traceback (most recent call last):', '  File "/srv/redfire/engine.py", line 42, in loop',
                      'RuntimeError: worker died']
        files[name].extend(lines)
        events.append((age, CAT_NAMES[cat]))
    for name, lines in files.items():
        data = ('\n'.join(lines) + '\n').encode()
        path = os.path.join(root, name)
        if name.endswith('.gz'):
            with gzip.open(path, 'wb') as f:
                f.write(data)
        else:
            with open(path, 'wb') as f:
                f.write(data)
        os.chmod(path, 0o644)
    return events


def _expected(events, hours):
    counts = dict((n, 0) for n in CAT_NAMES)
    for age, cat in events:
        if age <= hours * 60:
            counts[cat] += 1
    return counts


@pytest.fixture(scope='module')
def logs():
    root = tempfile.mkdtemp(prefix='redfire-logs-')  # world-readable, for the unprivileged run
    os.chmod(root, 0o755)
    now = datetime.now()
    events = _family(root, now)
    with open(os.path.join(root, 'secret.log'), 'w') as f:
        f.write('%s ERROR DatabaseError: secret\n' % now.strftime('%Y-%m-%d %H:%M:%S'))
    os.chmod(os.path.join(root, 'secret.log'), 0o600)
    os.mkdir(os.path.join(root, 'archive'))
    with open(os.path.join(root, 'app.log.2.gz'), 'rb') as f:
        member = f.read()
    with open(os.path.join(root, 'cut.log.gz'), 'wb') as f:
        f.write(member[:len(member) // 2])
    yield root, events
    shutil.rmtree(root)


def _module(args, *extra, check=True):
    """Run the module with `ansible` on localhost (the system Python as the managed host's interpreter)."""
    cmd = ['ansible', 'localhost', '-c', 'local', '-i', 'localhost,', '-e', 'ansible_python_interpreter=/usr/bin/python3',
           '-m', 'redfire.ops.log_analysis', '-a', json.dumps(args)] + list(extra)
    proc = run(cmd, check=False, timeout=300)
    head, sep, body = proc.stdout.partition(' => ')
    assert sep, 'no result in output:\n%s\n%s' % (proc.stdout, proc.stderr)
    result = json.loads(body)
    if check:
        assert proc.returncode == 0 and 'SUCCESS' in head, proc.stdout + proc.stderr
    return proc, head, result


def test_window_seek_rotation_and_report(logs):
    root, events = logs
    app = os.path.join(root, 'app.log')
    _proc, _head, r = _module({'paths': [app], 'hours': 4})
    assert r['changed'] is False
    assert r['error_counts'] == _expected(events, 4) and r['total_errors'] == 24
    files = dict((os.path.basename(f['path']), f) for f in r['files'])
    assert list(files) == ['app.log.2.gz', 'app.log.1', 'app.log']
    assert files['app.log.2.gz']['status'] == 'skipped' and files['app.log.2.gz']['bytes_scanned'] == 0
    assert files['app.log.1']['status'] == 'skipped'
    assert files['app.log']['seek_used'] is True and files['app.log']['bytes_scanned'] < files['app.log']['size']
    report = r['report']
    assert report.startswith(u'RedFire系统错误分析报告\n生成时间: ')
    assert u'分析范围: 最近4小时\n总错误数: 24\n\n错误类型统计:\n- database_error: 6次\n' in report
    assert u'详细错误信息:\n' in report and len(r['error_details']) == 10
    trace = [d for d in r['error_details'] if d['type'] == 'system_error'][0]
    assert trace['continuation'][-1] == 'RuntimeError: worker died'
    top = dict((t['message'], t['count']) for t in r['top_messages'])
    assert top['ERROR [engine] OrderError: rejected id=<n>'] == 6


def test_check_mode_english_and_gzip_sibling(logs):
    root, events = logs
    _proc, _head, r = _module({'paths': [os.path.join(root, 'app.log')], 'hours': 48, 'language': 'en',
                               'max_details': 3}, '--check')
    assert r['changed'] is False
    assert r['error_counts'] == _expected(events, 48)
    files = dict((os.path.basename(f['path']), f) for f in r['files'])
    assert files['app.log.2.gz']['status'] == 'scanned' and files['app.log.2.gz']['compressed'] is True
    assert r['report'].startswith('RedFire system error analysis report\nGenerated at: ')
    assert 'Analysis range: last 48 hours\nTotal errors: %d\n' % sum(_expected(events, 48).values()) in r['report']
    assert len(r['error_details']) == 3
    # without rotation only app.log is read
    _proc, _head, r = _module({'paths': [os.path.join(root, 'app.log')], 'hours': 48, 'include_rotated': False})
    assert r['error_counts'] == _expected(events, 10) and len(r['files']) == 1


def test_unreadable_inputs_are_reported_as_unprivileged_user(logs):
    root, events = logs
    args = {'paths': [os.path.join(root, p) for p in ('app.log', 'secret.log', 'archive', 'cut.log.gz', 'gone.log')],
            'since': '-6h', 'include_rotated': False, 'language': 'en'}
    become = ['-b', '--become-method', 'su', '--become-user', 'nobody', '-e', "ansible_become_flags='-s /bin/sh'"]
    env_pipelining = {'ANSIBLE_PIPELINING': '1'}
    cmd = ['ansible', 'localhost', '-c', 'local', '-i', 'localhost,', '-e', 'ansible_python_interpreter=/usr/bin/python3',
           '-m', 'redfire.ops.log_analysis', '-a', json.dumps(args)] + become
    proc = run(cmd, env=project_env(**env_pipelining), timeout=300)
    r = json.loads(proc.stdout.partition(' => ')[2])
    files = dict((os.path.basename(f['path']), f) for f in r['files'])
    assert files['secret.log']['status'] == 'error' and 'Permission denied' in files['secret.log']['error']
    assert files['archive']['status'] == 'error' and 'is a directory' in files['archive']['error']
    assert files['gone.log']['status'] == 'missing'
    assert files['cut.log.gz']['status'] == 'scanned' and 'truncated gzip' in files['cut.log.gz']['warnings'][0]
    assert r['error_counts'] == _expected(events, 6)  # the cut gzip holds only events older than 34 h
    assert 'Permission denied' in proc.stderr + proc.stdout  # warned
    assert len(r['problems']) == 4 and any('truncated gzip' in p for p in r['problems']), r['problems']
    assert 'File problems:' in r['report']
    # strict turns the same problems into a failure that names them
    args['strict'] = True
    proc, head, r = _module(args, *become, check=False)
    assert proc.returncode != 0 and 'FAILED' in head
    assert r['msg'].startswith('strict: 4 path(s) missing, unreadable, partly readable or without timestamps')


@pytest.mark.parametrize('args, message', [
    ({'paths': ['/nonexistent/redfire/*.log', '/nonexistent/app.log']}, 'paths: none of the paths could be read'),
    ({'categories': {'db': 'DatabaseError', 'broken': 'Error(['}}, "categories: category broken: invalid regular"),
    ({'since': 'last tuesday'}, "since: since='last tuesday' is not a time"),
    ({'hours': 2, 'since': '-1h'}, 'mutually exclusive: hours|since'),
    ({'timezone': 'Mars/Olympus'}, "timezone: timezone 'Mars/Olympus' is not known"),
    ({'workers': -1}, 'workers: workers must be 0 or a positive number, got -1'),
])
def test_bad_options_fail_with_a_message_naming_the_option(logs, args, message):
    root, _events = logs
    args = dict(args)
    args.setdefault('paths', [os.path.join(root, 'app.log')])
    proc, head, r = _module(args, check=False)
    assert proc.returncode != 0 and 'FAILED' in head
    assert message in r['msg'], r['msg']
    assert 'Traceback' not in proc.stdout + proc.stderr


def test_playbook_registers_result_and_renders_with_the_filter(logs, tmp_path):
    root, events = logs
    playbook = tmp_path / 'play.yml'
    playbook.write_text('''
- name: Analyse and report
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Analyse the last 4 hours
      redfire.ops.log_analysis:
        paths: "{{ log_dir }}/app.log"
        hours: 4
      register: errors
    - name: Write the English report rendered by the filter
      ansible.builtin.copy:
        content: "{{ errors | redfire.ops.log_report('en') }}"
        dest: "{{ out }}"
        mode: "0644"
''')
    out = tmp_path / 'report.txt'
    proc = run(['ansible-playbook', '-c', 'local', '-i', 'localhost,', '-e', 'ansible_python_interpreter=/usr/bin/python3',
                '-e', 'log_dir=%s' % root, '-e', 'out=%s' % out, str(playbook)], timeout=300)
    assert 'changed=1' in proc.stdout  # only the copy task changes something
    text = out.read_text()
    assert text.startswith('RedFire system error analysis report\n')
    assert 'Analysis range: last 4 hours\nTotal errors: 24\n' in text


def test_workers_split_a_large_file_and_agree_with_one_process(tmp_path):
    """A 20 MB log (over the 16 MiB split threshold) through the module: two workers give the one-process result."""
    start = datetime(2024, 5, 1)
    minute = []
    for i in range(600):
        body = ('ERROR [db] DatabaseError: pool exhausted after %d ms' % i if i % 20 == 0 else
                'ERROR [engine] unhandled exception in worker %d' % i if i % 20 == 7 else
                'INFO [orders] order placed symbol=AAPL qty=%d price=%d.%02d venue=XNAS account=ACC-000%d' % (
                    i, i, i % 100, i))
        trace = '\nTraceback (most recent call last):\nRuntimeError: state %d' % i if i % 20 == 7 else ''
        minute.append((i // 10, body + trace))  # ten lines a second
    path = tmp_path / 'big.log'
    with open(str(path), 'w') as f:
        for m in range(350):
            t = start + timedelta(minutes=m)
            f.write(''.join('%s %s\n' % ((t + timedelta(seconds=s)).strftime('%Y-%m-%d %H:%M:%S'), body)
                            for s, body in minute))
    assert path.stat().st_size > 16 << 20
    args = {'paths': [str(path)], 'since': '2024-05-01 00:00:00', 'until': '2024-05-02 00:00:00',
            'max_details': 5}
    _p, _h, one = _module(dict(args, workers=1))
    _p, _h, two = _module(dict(args, workers=2))
    assert one['files'][0]['workers'] == 1 and two['files'][0]['workers'] == 2
    assert one['error_counts'] == {'database_error': 30 * 350, 'api_error': 0, 'trading_error': 0,
                                   'system_error': 30 * 350}
    for key in ('error_counts', 'error_events', 'error_details', 'top_messages'):
        assert two[key] == one[key], key
    assert two['files'][0]['lines_scanned'] == one['files'][0]['lines_scanned'] == 350 * (600 + 30 * 2)
