"""Unit tests of host_audit's backup checks and of the audit core, with fakes (fake pg_restore/restic/borg)."""
import gzip
import json
import os

import pytest

from ansible_collections.redfire.ops.plugins.module_utils import host_audit as core
from ansible_collections.redfire.ops.plugins.module_utils import host_audit_backup as bk
from ansible_collections.redfire.ops.plugins.module_utils.host_audit_common import CommandOutput, ConfigError
from tests.lib.command_fakes import FakeRun, by_name, which_in

NOW = 1_800_000_000.0
PLAIN = b'--\n-- PostgreSQL database dump\n--\nCREATE TABLE t (id int);\n--\n-- PostgreSQL database dump complete\n--\n'


def which_of(*names):
    return which_in('/usr/bin', *names)


def write(path, data, age_hours):
    path.write_bytes(data)
    mtime = NOW - age_hours * 3600
    os.utime(str(path), (mtime, mtime))
    return path


def source(tmp_path, **extra):
    raw = {'name': 'orders', 'type': 'postgresql', 'path': str(tmp_path)}
    raw.update(extra)
    return bk.normalize_sources([raw])[0]


def test_custom_dump_ok_read_by_pg_restore(tmp_path):
    write(tmp_path / 'orders-1.dump', b'PGDMP' + b'x' * 995, 30)
    newest = write(tmp_path / 'orders-2.dump', b'PGDMP' + b'x' * 1095, 2)
    run = FakeRun({'pg_restore': CommandOutput(0, ';\n; Archive created\n;\n201; 1259 16390 TABLE public t\n', '')})
    res = by_name(bk.check_backups([source(tmp_path)], run, which_of('pg_restore'), NOW, 5))
    assert [c[0] for c in run.calls] == [['/usr/bin/pg_restore', '--list', str(newest)],
                                         ['/usr/bin/pg_restore', '--file=/dev/null', str(newest)]]
    assert (res['backup_age:orders']['status'], res['backup_age:orders']['value']) == ('ok', 2.0)
    assert (res['backup_size:orders']['status'], res['backup_size:orders']['details']['change_percent']) == ('ok', 10.0)
    assert (res['backup_integrity:orders']['status'], res['backup_integrity:orders']['value']) == ('ok', 1)


def test_corrupt_custom_dump_is_critical_and_missing_pg_restore_unknown(tmp_path):
    write(tmp_path / 'orders.dump', b'PGDMP\x01garbage', 1)
    run = FakeRun({'pg_restore': CommandOutput(1, '', 'pg_restore: error: could not read input file: end of file\n')})
    res = by_name(bk.check_backups([source(tmp_path)], run, which_of('pg_restore'), NOW, 5))
    integrity = res['backup_integrity:orders']
    assert (integrity['status'], integrity['reason']) == ('critical', 'backup_corrupt')
    assert 'end of file' in integrity['message']
    res = by_name(bk.check_backups([source(tmp_path)], run, which_of(), NOW, 5))
    assert (res['backup_integrity:orders']['status'], res['backup_integrity:orders']['reason']) == \
        ('unknown', 'client_missing')
    # The table of contents reads fine, the data does not: a dump cut off after its header.
    run = FakeRun({'pg_restore': lambda argv: CommandOutput(0, '201; 1259 16390 TABLE public t\n', '') if '--list' in argv
                   else CommandOutput(1, '', 'pg_restore: error: could not read from input file: end of file\n')})
    res = by_name(bk.check_backups([source(tmp_path)], run, which_of('pg_restore'), NOW, 5))
    assert (res['backup_integrity:orders']['status'], res['backup_integrity:orders']['reason']) == \
        ('critical', 'backup_corrupt')
    assert 'cannot read its data' in res['backup_integrity:orders']['message']


def test_gzip_and_plain_dumps(tmp_path):
    write(tmp_path / 'orders.sql.gz', gzip.compress(PLAIN), 1)
    res = by_name(bk.check_backups([source(tmp_path)], FakeRun({}), which_of(), NOW, 5))
    assert (res['backup_integrity:orders']['status'], res['backup_integrity:orders']['details']['format']) == ('ok', 'gzip')
    write(tmp_path / 'orders.sql.gz', gzip.compress(PLAIN)[:-12], 1)  # cut off: CRC and length missing
    res = by_name(bk.check_backups([source(tmp_path)], FakeRun({}), which_of(), NOW, 5))
    assert (res['backup_integrity:orders']['status'], res['backup_integrity:orders']['reason']) == \
        ('critical', 'backup_corrupt')
    write(tmp_path / 'orders.sql.gz', gzip.compress(PLAIN[:40]), 1)  # valid gzip of a dump cut off
    res = by_name(bk.check_backups([source(tmp_path)], FakeRun({}), which_of(), NOW, 5))
    assert res['backup_integrity:orders']['reason'] == 'backup_truncated'
    os.unlink(str(tmp_path / 'orders.sql.gz'))
    write(tmp_path / 'orders.sql', PLAIN, 1)
    res = by_name(bk.check_backups([source(tmp_path)], FakeRun({}), which_of(), NOW, 5))
    assert res['backup_integrity:orders']['status'] == 'ok'


def test_age_thresholds_and_no_backup(tmp_path):
    write(tmp_path / 'a.dump', b'PGDMP', 30)
    res = by_name(bk.check_backups([source(tmp_path)], FakeRun({'pg_restore': CommandOutput(0, '', '')}),
                                   which_of('pg_restore'), NOW, 5))
    assert (res['backup_age:orders']['status'], res['backup_age:orders']['reason']) == ('warning', 'backup_too_old')
    write(tmp_path / 'a.dump', b'PGDMP', 60)
    res = by_name(bk.check_backups([source(tmp_path)], FakeRun({'pg_restore': CommandOutput(0, '', '')}),
                                   which_of('pg_restore'), NOW, 5))
    assert res['backup_age:orders']['status'] == 'critical' and '> critical 50.0h' in res['backup_age:orders']['message']
    res = bk.check_backups([source(tmp_path, patterns=['*.tar'])], FakeRun({}),
                           which_of(), NOW, 5)
    assert [(r['name'], r['status'], r['reason']) for r in res] == [('backup_age:orders', 'critical', 'no_backup')]


def test_size_too_small_and_size_change(tmp_path):
    write(tmp_path / 'a.tar', b'x' * 1000, 30)
    write(tmp_path / 'b.tar', b'x' * 100, 1)
    spec = source(tmp_path, type='files', patterns=['*.tar'])
    res = by_name(bk.check_backups([spec], FakeRun({}), which_of(), NOW, 5))
    assert set(res) == {'backup_age:orders', 'backup_size:orders'}  # no integrity test for generic files
    size = res['backup_size:orders']
    assert (size['status'], size['reason'], size['details']['change_percent']) == ('warning', 'backup_size_changed', -90.0)
    spec = source(tmp_path, type='files', patterns=['*.tar'], min_size_bytes=500)
    res = by_name(bk.check_backups([spec], FakeRun({}), which_of(), NOW, 5))
    assert (res['backup_size:orders']['status'], res['backup_size:orders']['reason']) == ('critical', 'backup_too_small')


def test_restic_and_borg(tmp_path):
    restic = source(tmp_path, type='restic', repository='/srv/restic', password_file='/root/pw', path=None)
    snapshots = [{'time': '2027-01-15T06:00:00.123456789Z'}, {'time': '2027-01-15T07:00:00.5+01:00'}]
    run = FakeRun({'restic': CommandOutput(0, json.dumps(snapshots), '')})
    now = bk.parse_timestamp('2027-01-15T12:00:00Z')
    res = bk.check_backups([restic], run, which_of('restic'), now, 5)[0]
    assert (res['name'], res['status'], res['value']) == ('backup_age:orders', 'ok', 6.0)
    assert run.calls[0][1] == {'RESTIC_REPOSITORY': '/srv/restic', 'RESTIC_PASSWORD_FILE': '/root/pw'}
    res = bk.check_backups([restic], run, which_of('restic'), now + 40 * 3600, 5)[0]
    assert res['status'] == 'warning'
    res = bk.check_backups([restic], FakeRun({'restic': CommandOutput(0, '[]', '')}), which_of('restic'), now, 5)[0]
    assert (res['status'], res['reason']) == ('critical', 'no_backup')
    res = bk.check_backups([restic], FakeRun({'restic': CommandOutput(1, '', 'Fatal: wrong password')}),
                           which_of('restic'), now, 5)[0]
    assert (res['status'], res['reason']) == ('unknown', 'repository_unreadable') and 'wrong password' in res['message']
    res = bk.check_backups([restic], FakeRun({'restic': CommandOutput(0, 'not json', '')}), which_of('restic'), now, 5)[0]
    assert res['reason'] == 'unparsable_output'
    res = bk.check_backups([restic], run, which_of(), now, 5)[0]
    assert (res['status'], res['reason']) == ('unknown', 'client_missing')

    borg = dict(restic, type='borg', passphrase_file='/root/borg pass')
    moment = bk.parse_timestamp('2027-01-15T09:00:00.000000')  # borg: local time, no offset
    run = FakeRun({'borg': CommandOutput(0, json.dumps({'archives': [{'time': '2027-01-15T09:00:00.000000'}]}), '')})
    res = bk.check_backups([borg], run, which_of('borg'), moment + 60 * 3600, 5)[0]
    assert (res['status'], res['value']) == ('critical', 60.0)
    assert run.calls[0][0] == ['/usr/bin/borg', 'list', '--json', '--last', '1', '/srv/restic']
    assert run.calls[0][1]['BORG_PASSCOMMAND'] == "cat '/root/borg pass'"


@pytest.mark.parametrize('raw,message', [
    ({'name': 'x', 'type': 'tape'}, r'backup_sources\[0\].type must be one of'),
    ({'name': 'a b', 'type': 'files', 'path': '/x'}, r'backup_sources\[0\].name must be a word'),
    ({'name': 'x', 'type': 'postgresql'}, r'backup_sources\[0\] \(x\): path is required'),
    ({'name': 'x', 'type': 'restic'}, r'repository is required'),
    ({'name': 'x', 'type': 'files', 'path': '/x', 'warning_age_hours': 'soon'}, r'warning_age_hours must be a number'),
    ({'name': 'x', 'type': 'files', 'path': '/x', 'warning_age_hours': 10, 'critical_age_hours': 5},
     r'critical_age_hours \(5.0\) must not be below'),
    ({'name': 'x', 'type': 'files', 'path': '/x', 'colour': 1}, r'unknown key\(s\) colour'),
])
def test_bad_sources_name_the_item(raw, message):
    with pytest.raises(ConfigError, match=message):
        bk.normalize_sources([raw])


def test_duplicate_source_names():
    with pytest.raises(ConfigError, match='used twice'):
        bk.normalize_sources([{'name': 'x', 'type': 'files', 'path': '/a'}, {'name': 'x', 'type': 'files', 'path': '/b'}])


# --------------------------------------------------------------------------- the audit core


def test_unconfigured_checks_are_skipped_not_failed():
    cfg = core.normalize({'checks': ['listeners', 'world_writable', 'backups']})
    res = core.run_audit(cfg, run=FakeRun({}), find=which_of(), now=NOW)
    assert res['checks'] == [] and res['status'] == 'ok'
    assert [s['name'] for s in res['skipped']] == ['listeners', 'world_writable', 'backups']


def test_audit_status_is_the_worst_and_summary_names_problems(tmp_path):
    write(tmp_path / 'a.dump', b'PGDMP', 1)
    cfg = core.normalize({'checks': ['backups', 'listeners'], 'listeners_allowed': [22],
                          'backup_sources': [{'name': 'db', 'type': 'postgresql', 'path': str(tmp_path)}]})
    res = core.run_audit(cfg, run=FakeRun({}), find=which_of(), now=NOW)
    assert res['status'] == 'unknown'  # pg_restore and ss missing: unknown, not a failure
    assert {c['name']: c['reason'] for c in res['checks'] if c['status'] != 'ok'} == {
        'backup_integrity:db': 'client_missing', 'listeners': 'listeners_unreadable'}
    assert res['summary'].startswith('HOST AUDIT UNKNOWN - 4 check(s); ')


@pytest.mark.parametrize('params,message', [
    ({'checks': ['sshd', 'nope']}, 'checks: nope not known'),
    ({'timeout': 0}, 'timeout must be a number >= 1'),
    ({'security_updates_warning': 5, 'security_updates_critical': 1}, 'security_updates_critical'),
    ({'sshd_policy': {'permit_root_login': 'no'}}, r'sshd_policy.permit_root_login must be a list'),
    ({'sshd_policy': {'password_authentication': 'no'}}, 'sshd_policy.password_authentication must be true or false'),
    ({'sshd_policy': {'root': 'no'}}, r'sshd_policy: unknown key\(s\) root'),
])
def test_bad_options_name_the_option(params, message):
    with pytest.raises(ConfigError, match=message):
        core.normalize(params)


def test_module_defaults_are_the_cores_defaults():
    """The module's argument_spec and the core default the same way (one place would drift from the other)."""
    from ansible_collections.redfire.ops.plugins.modules import host_audit as module
    spec = module.argument_spec()
    sources = spec['backup_sources']['options']
    assert dict((k, sources[k]['default']) for k in bk.DEFAULTS) == bk.DEFAULTS
    assert sources['type']['choices'] == list(bk.SOURCE_TYPES)
    assert set(sources) == set(bk.SOURCE_KEYS)
    assert spec['checks']['choices'] == list(core.CHECKS)
    assert spec['package_lists_max_age_hours']['default'] == core.DEFAULT_PACKAGE_LISTS_MAX_AGE_HOURS
    assert set(spec['sshd_policy']['options']) == set(core.SSHD_POLICY_KEYS)
