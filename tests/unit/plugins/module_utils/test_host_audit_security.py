"""Unit tests of host_audit's security checks with fakes (fake sshd/apt-get/ss, files under tmp_path)."""
import os

import pytest

from ansible_collections.redfire.ops.plugins.module_utils import host_audit_security as sec
from ansible_collections.redfire.ops.plugins.module_utils.host_audit_common import CommandOutput, ConfigError
from tests.lib.command_fakes import FakeRun, by_name, which_in

NOW = 1_800_000_000.0
SSHD_T = """port 22
permitrootlogin without-password
passwordauthentication no
ciphers chacha20-poly1305@openssh.com,aes128-ctr,aes256-gcm@openssh.com
macs hmac-sha2-256-etm@openssh.com,hmac-sha2-512
kexalgorithms curve25519-sha256,diffie-hellman-group14-sha256
"""


def which_of(*names):
    return which_in('/usr/sbin', *names)


def sshd(text=SSHD_T, rc=0, stderr=''):
    return FakeRun({'sshd': CommandOutput(rc, text, stderr)})


# --------------------------------------------------------------------------- sshd


def test_sshd_policy_ok_and_prohibit_password_synonym():
    run = sshd()
    res = by_name(sec.check_sshd({'password_authentication': False}, run, which_of('sshd'), 5))
    assert run.calls[0][0][:2] == ['/usr/sbin/sshd', '-T']
    assert {r['status'] for r in res.values()} == {'ok'}
    assert res['sshd:permit_root_login']['value'] == 'prohibit-password'
    assert set(res) == {'sshd:permit_root_login', 'sshd:password_authentication', 'sshd:ciphers', 'sshd:macs',
                        'sshd:kex_algorithms'}


def test_root_login_from_an_include_file_is_critical_and_names_the_file(tmp_path):
    conf_d = tmp_path / 'sshd_config.d'
    conf_d.mkdir()
    (conf_d / '50-root.conf').write_text('PermitRootLogin yes\n')
    main = tmp_path / 'sshd_config'
    main.write_text('Include %s/*.conf\nPasswordAuthentication no\n' % conf_d)
    run = sshd(SSHD_T.replace('permitrootlogin without-password', 'permitrootlogin yes'))
    res = by_name(sec.check_sshd({}, run, which_of('sshd'), 5, config_path=str(main)))
    root = res['sshd:permit_root_login']
    assert (root['status'], root['reason'], root['value']) == ('critical', 'root_login_allowed', 'yes')
    assert root['details']['set_in'] == [str(conf_d / '50-root.conf')]
    assert '50-root.conf' in root['message']
    assert run.calls[0][0] == ['/usr/sbin/sshd', '-T', '-f', str(main)]


def test_password_authentication_mismatch_is_a_warning_and_null_skips_it():
    run = sshd(SSHD_T.replace('passwordauthentication no', 'passwordauthentication yes'))
    res = by_name(sec.check_sshd({'password_authentication': False}, run, which_of('sshd'), 5))
    assert (res['sshd:password_authentication']['status'], res['sshd:password_authentication']['reason']) == \
        ('warning', 'password_authentication_enabled')
    assert 'sshd:password_authentication' not in by_name(
        sec.check_sshd({'password_authentication': None}, run, which_of('sshd'), 5))


def test_weak_algorithms_without_allow_list_and_outside_an_allow_list():
    weak = SSHD_T.replace('aes128-ctr', 'aes128-cbc').replace('hmac-sha2-512', 'hmac-md5')
    res = by_name(sec.check_sshd({}, sshd(weak), which_of('sshd'), 5))
    assert res['sshd:ciphers']['status'] == 'warning' and res['sshd:ciphers']['details']['disallowed'] == ['aes128-cbc']
    assert res['sshd:macs']['reason'] == 'disallowed_algorithms'
    assert res['sshd:kex_algorithms']['status'] == 'ok'
    res = by_name(sec.check_sshd({'kex_algorithms': ['curve25519-sha256']}, sshd(), which_of('sshd'), 5))
    assert res['sshd:kex_algorithms']['details']['disallowed'] == ['diffie-hellman-group14-sha256']
    assert res['sshd:kex_algorithms']['status'] == 'warning'


def test_sshd_missing_or_failing_is_unknown():
    res = sec.check_sshd({}, sshd(), which_of(), 5)
    assert [(r['name'], r['status'], r['reason']) for r in res] == [('sshd', 'unknown', 'sshd_missing')]
    res = sec.check_sshd({}, sshd('', 255, 'Missing privilege separation directory: /run/sshd\n'), which_of('sshd'), 5)
    assert (res[0]['status'], res[0]['reason']) == ('unknown', 'sshd_config_unreadable')
    assert 'privilege separation' in res[0]['message']


# --------------------------------------------------------------------------- security updates

SIMULATION = """NOTE: This is only a simulation!
Inst libssl3 [3.0.11-1~deb12u1] (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64])
Inst openssl [3.0.11-1~deb12u1] (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64])
Inst tzdata [2024a-0+deb12u1] (2025b-0+deb12u1 Debian:12.11/stable [all])
Conf libssl3 (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64])
"""


def apt_tree(tmp_path, security=True, deb822=False, lists_age_hours=1.0):
    apt = tmp_path / 'apt'
    (apt / 'sources.list.d').mkdir(parents=True)
    lines = ['deb http://deb.debian.org/debian bookworm main']
    if security and not deb822:
        lines.append('deb [arch=amd64] http://security.debian.org/debian-security bookworm-security main')
    (apt / 'sources.list').write_text('\n'.join(lines) + '\n')
    if deb822:
        (apt / 'sources.list.d' / 'debian.sources').write_text(
            'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n'
            'Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\n')
    lists = tmp_path / 'lists'
    lists.mkdir()
    release = lists / 'deb.debian.org_debian_dists_bookworm_InRelease'
    release.write_text('x')
    mtime = NOW - lists_age_hours * 3600
    os.utime(str(release), (mtime, mtime))
    return str(apt), str(lists)


def cfg(**extra):
    out = {'timeout': 5.0, 'refresh_package_lists': False, 'package_lists_max_age_hours': 48.0,
           'security_updates_warning': 0.0, 'security_updates_critical': None}
    out.update(extra)
    return out


def apt_run(sim=SIMULATION, rc=0):
    return FakeRun({'apt-get': lambda argv: CommandOutput(0, '', '') if 'update' in argv else CommandOutput(rc, sim, 'E: broken')})


def test_security_updates_counted_from_the_security_suite_only(tmp_path):
    apt, lists = apt_tree(tmp_path)
    run = apt_run()
    res = by_name(sec.check_security_updates(cfg(), run, which_of('apt-get'), NOW, False, apt, lists))
    upd = res['security_updates']
    assert (upd['status'], upd['value'], upd['reason']) == ('warning', 2, 'pending_security_updates')
    assert upd['details'] == {'packages': ['libssl3', 'openssl'], 'sources': ['bookworm-security']}
    assert (res['package_lists']['status'], res['package_lists']['value']) == ('ok', 1.0)
    assert [c[0][1] for c in run.calls] == ['-s']  # no refresh without the flag
    res = by_name(sec.check_security_updates(cfg(security_updates_critical=1.0), run, which_of('apt-get'), NOW, False,
                                             apt, lists))
    assert res['security_updates']['status'] == 'critical'


def test_no_pending_security_update_is_ok_and_deb822_sources_count(tmp_path):
    apt, lists = apt_tree(tmp_path, deb822=True)
    res = by_name(sec.check_security_updates(cfg(), apt_run(SIMULATION.splitlines()[3] + '\n'), which_of('apt-get'),
                                             NOW, False, apt, lists))
    assert (res['security_updates']['status'], res['security_updates']['value'], res['security_updates']['reason']) == \
        ('ok', 0, 'ok')
    assert res['security_updates']['details']['sources'] == ['bookworm-security']


def test_old_package_lists_warn_and_the_refresh_flag_refreshes_outside_check_mode(tmp_path):
    apt, lists = apt_tree(tmp_path, lists_age_hours=24 * 30)
    run = apt_run()
    res = by_name(sec.check_security_updates(cfg(), run, which_of('apt-get'), NOW, False, apt, lists))
    assert (res['package_lists']['status'], res['package_lists']['reason']) == ('warning', 'package_lists_stale')
    assert res['package_lists']['value'] == 720.0
    assert 'stale' in res['security_updates']['message']
    sec.check_security_updates(cfg(refresh_package_lists=True), run, which_of('apt-get'), NOW, True, apt, lists)
    assert not any('update' in c[0] for c in run.calls)  # check mode: never refreshed
    res = by_name(sec.check_security_updates(cfg(refresh_package_lists=True), run, which_of('apt-get'), NOW, False,
                                             apt, lists))
    assert any(c[0][1:] == ['update', '-q'] for c in run.calls)
    assert '(refreshed)' in res['package_lists']['message']


def test_no_security_source_no_lists_failed_simulation_no_package_manager(tmp_path):
    apt, lists = apt_tree(tmp_path, security=False)
    res = by_name(sec.check_security_updates(cfg(), apt_run(), which_of('apt-get'), NOW, False, apt, lists))
    assert (res['security_updates']['status'], res['security_updates']['reason']) == ('unknown', 'no_security_source')
    os.unlink(os.path.join(lists, 'deb.debian.org_debian_dists_bookworm_InRelease'))
    res = by_name(sec.check_security_updates(cfg(), apt_run(), which_of('apt-get'), NOW, False, apt, lists))
    assert (res['package_lists']['status'], res['package_lists']['reason']) == ('unknown', 'no_package_lists')
    apt, lists = apt_tree(tmp_path / 'b')
    res = by_name(sec.check_security_updates(cfg(), apt_run(rc=100), which_of('apt-get'), NOW, False, apt, lists))
    assert (res['security_updates']['status'], res['security_updates']['reason']) == ('unknown', 'simulation_failed')
    assert 'E: broken' in res['security_updates']['message']
    res = sec.check_security_updates(cfg(), apt_run(), which_of(), NOW, False, apt, lists)
    assert [(r['status'], r['reason']) for r in res] == [('unknown', 'no_package_manager')]


def test_dnf_security_updates():
    run = FakeRun({'dnf': CommandOutput(0, 'FEDORA-2025-1 Important/Sec. openssl-3.1-2.x86_64\n'
                                           'FEDORA-2025-2 Moderate/Sec. openssl-3.1-2.x86_64\n', '')})
    res = by_name(sec.check_security_updates(cfg(), run, which_of('dnf'), NOW, False))
    assert (res['security_updates']['status'], res['security_updates']['value']) == ('warning', 1)
    assert '--cacheonly' in run.calls[0][0]


# --------------------------------------------------------------------------- accounts


def test_accounts(tmp_path):
    passwd, shadow = tmp_path / 'passwd', tmp_path / 'shadow'
    passwd.write_text('root:x:0:0::/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n')
    shadow.write_text('root:*:1:0:::::\nalice:$y$abc:1:0:::::\n')
    res = by_name(sec.check_accounts(str(passwd), str(shadow)))
    assert {r['status'] for r in res.values()} == {'ok'}
    passwd.write_text(passwd.read_text() + 'toor:x:0:0::/root:/bin/sh\nguest::1001:1001::/tmp:/bin/sh\n')
    shadow.write_text(shadow.read_text() + 'toor:!:1:0:::::\nbob::1:0:::::\n')
    res = by_name(sec.check_accounts(str(passwd), str(shadow)))
    assert (res['accounts:uid0']['status'], res['accounts:uid0']['reason']) == ('critical', 'extra_uid0_accounts')
    assert res['accounts:uid0']['details']['accounts'] == ['toor']
    assert (res['accounts:empty_password']['status'], res['accounts:empty_password']['details']['accounts']) == \
        ('critical', ['bob', 'guest'])
    res = by_name(sec.check_accounts(str(passwd), str(tmp_path / 'missing')))
    assert (res['accounts:empty_password']['status'], res['accounts:empty_password']['reason']) == \
        ('unknown', 'shadow_unreadable')
    assert sec.check_accounts(str(tmp_path / 'nope'))[0]['reason'] == 'passwd_unreadable'


# --------------------------------------------------------------------------- listeners

SS = """tcp   LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=32,fd=3))
tcp   LISTEN 0 128 [::]:22 [::]:* users:(("sshd",pid=32,fd=4))
tcp   LISTEN 0 5 0.0.0.0:8999 0.0.0.0:* users:(("python3",pid=77,fd=3))
tcp   LISTEN 0 244 127.0.0.1:5432 0.0.0.0:* users:(("postgres",pid=90,fd=5))
udp   UNCONN 0 0 127.0.0.53%lo:53 0.0.0.0:*
udp   UNCONN 0 0 *:123 *:*
"""


def test_parse_ss():
    found = sec.parse_ss(SS)
    assert found[0] == sec.Listener('tcp', '0.0.0.0', 22, 'sshd', 32)
    assert found[1].address == '::'
    assert found[4] == sec.Listener('udp', '127.0.0.53', 53, None, None)
    assert found[5].address == '0.0.0.0'


def test_listeners_against_the_allow_list():
    found = sec.parse_ss(SS)
    res = sec.check_listeners(found, sec.parse_allow_list(['tcp/22', 123]), False)[0]
    assert (res['status'], res['reason'], res['value']) == ('critical', 'unexpected_listener', 1)
    assert res['details']['unexpected'] == [{'proto': 'tcp', 'address': '0.0.0.0', 'port': 8999, 'process': 'python3',
                                             'pid': 77}]
    assert 'python3 pid 77' in res['message']
    res = sec.check_listeners(found, sec.parse_allow_list([22, 8999, 123]), False)[0]
    assert (res['status'], res['reason']) == ('ok', 'ok')
    res = sec.check_listeners(found, sec.parse_allow_list([22, 8999, 123]), True)[0]
    assert sorted(lst['port'] for lst in res['details']['unexpected']) == [53, 5432]
    rules = sec.parse_allow_list([22, 8999, 123, 53, {'port': 5432, 'address': '127.0.0.1', 'process': 'pgbouncer'}])
    res = sec.check_listeners(found, rules, True)[0]
    assert [lst['port'] for lst in res['details']['unexpected']] == [5432]  # wrong owning process


@pytest.mark.parametrize('entry,message', [
    ('tcp/abc', 'listeners_allowed[0]: port must be a number'),
    (70000, 'listeners_allowed[0]: port must be a number'),
    ('sctp/22', 'listeners_allowed[0]: proto must be tcp or udp'),
    ({'port': 22, 'owner': 'x'}, 'listeners_allowed[0]: unknown key'),
])
def test_bad_allow_list_entries_name_the_item(entry, message):
    with pytest.raises(ConfigError, match=message.replace('[', r'\[').replace(']', r'\]')):
        sec.parse_allow_list([entry])


def test_gather_listeners_falls_back_to_ss_and_reports_what_is_missing():
    class DeniedPsutil:
        @staticmethod
        def net_connections(kind):
            raise PermissionError('psutil.AccessDenied')

    run = FakeRun({'ss': CommandOutput(0, SS, '')})
    found, error = sec.gather_listeners(run, which_of('ss'), 5, DeniedPsutil)
    assert error is None and len(found) == 6 and run.calls[0][0][1:] == ['-H', '-l', '-n', '-t', '-u', '-p']
    found, error = sec.gather_listeners(run, which_of(), 5, None)
    assert found is None and 'ss not found' in error
    found, error = sec.gather_listeners(FakeRun({'ss': CommandOutput(1, '', 'bad')}), which_of('ss'), 5, None)
    assert 'ss failed: bad' in error


def test_listeners_from_psutil():
    import collections
    conn = collections.namedtuple('sconn', 'fd family type laddr raddr status pid')

    class FakePsutil:
        @staticmethod
        def net_connections(kind):
            return [conn(3, 2, 1, ('0.0.0.0', 22), (), 'LISTEN', 32),
                    conn(4, 2, 1, ('10.0.0.1', 22), ('10.0.0.9', 5000), 'ESTABLISHED', 32),
                    conn(5, 2, 2, ('0.0.0.0', 68), (), 'NONE', None)]

        class Process:
            def __init__(self, pid):
                self.pid = pid

            def name(self):
                return 'sshd'

    assert sec.listeners_from_psutil(FakePsutil) == [
        sec.Listener('tcp', '0.0.0.0', 22, 'sshd', 32), sec.Listener('udp', '0.0.0.0', 68, None, None)]


# --------------------------------------------------------------------------- world-writable


def test_world_writable(tmp_path):
    root = tmp_path / 'etc'
    (root / 'sub').mkdir(parents=True)
    (root / 'sub' / 'safe').write_text('x')
    res = sec.check_world_writable([str(root)], 1000)[0]
    assert (res['name'], res['status'], res['reason']) == ('world_writable:%s' % root, 'ok', 'ok')
    bad = root / 'sub' / 'open.conf'
    bad.write_text('x')
    os.chmod(str(bad), 0o666)
    sticky = root / 'spool'
    sticky.mkdir()
    os.chmod(str(sticky), 0o1777)
    os.symlink('/tmp', str(root / 'link'))  # a symlink's own mode is 777: never reported, never followed
    res = sec.check_world_writable([str(root)], 1000)[0]
    assert (res['status'], res['reason'], res['details']['paths']) == ('warning', 'world_writable_files', [str(bad)])
    open_dir = root / 'drop'
    open_dir.mkdir()
    os.chmod(str(open_dir), 0o777)
    res = sec.check_world_writable([str(root)], 1000)[0]
    assert sorted(res['details']['paths']) == sorted([str(bad), str(open_dir)])


def test_world_writable_missing_path_and_scan_limit(tmp_path):
    res = sec.check_world_writable([str(tmp_path / 'none')], 10)[0]
    assert (res['status'], res['reason']) == ('unknown', 'path_missing')
    for i in range(5):
        (tmp_path / ('f%d' % i)).write_text('x')
    res = sec.check_world_writable([str(tmp_path)], 3)[0]
    assert (res['status'], res['reason'], res['details']['truncated']) == ('unknown', 'scan_limit_reached', True)
