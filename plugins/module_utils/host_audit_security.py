# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Security checks of redfire.ops.host_audit: SSH server policy, pending security updates, accounts, listeners,
world-writable files. Every check returns check_result records with a ``reason``.

No Ansible imports: unit tests call each check with a fake ``run``/``which`` and files under a temporary directory.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import glob
import os
import re
import stat

from ansible_collections.redfire.ops.plugins.module_utils.check_result import result, status_of
from ansible_collections.redfire.ops.plugins.module_utils.host_audit_common import (
    ConfigError, age_hours, command_error)

# --------------------------------------------------------------------------- sshd

# sshd -T prints the old spelling of prohibit-password.
ROOT_LOGIN_SYNONYMS = {'without-password': 'prohibit-password'}
DEFAULT_PERMIT_ROOT_LOGIN = ('no', 'prohibit-password')
# Algorithms known to be weak, held against the effective lists when the policy names no allow-list.
WEAK_ALGORITHMS = {
    'ciphers': ('3des-cbc', 'aes128-cbc', 'aes192-cbc', 'aes256-cbc', 'blowfish-cbc', 'cast128-cbc', 'arcfour',
                'arcfour128', 'arcfour256', 'rijndael-cbc@lysator.liu.se'),
    'macs': ('hmac-md5', 'hmac-md5-96', 'hmac-md5-etm@openssh.com', 'hmac-md5-96-etm@openssh.com', 'hmac-sha1-96',
             'hmac-sha1-96-etm@openssh.com', 'hmac-ripemd160', 'hmac-ripemd160@openssh.com',
             'hmac-ripemd160-etm@openssh.com'),
    'kexalgorithms': ('diffie-hellman-group1-sha1', 'diffie-hellman-group14-sha1',
                      'diffie-hellman-group-exchange-sha1'),
}
ALGORITHM_POLICY = (('ciphers', 'ciphers'), ('macs', 'macs'), ('kex_algorithms', 'kexalgorithms'))


def parse_sshd_t(text):
    """``sshd -T`` output as {lower-case keyword: value} (repeated keywords keep every value, comma-joined)."""
    config = {}
    for line in text.splitlines():
        parts = line.strip().split(None, 1)
        if not parts:
            continue
        key, value = parts[0].lower(), (parts[1] if len(parts) > 1 else '')
        config[key] = config[key] + ',' + value if key in config and key in ('listenaddress', 'port') else value
    return config


def setting_sources(keyword, config_path):
    """Files (sshd_config and its Include files, one level) with a line setting ``keyword``, for the message."""
    found = []
    try:
        with open(config_path) as fh:
            lines = fh.read().splitlines()
    except (IOError, OSError):
        return found
    includes = []
    for line in lines:
        words = line.strip().split()
        if len(words) >= 2 and words[0].lower() == 'include':
            for pattern in words[1:]:
                pattern = pattern if os.path.isabs(pattern) else os.path.join('/etc/ssh', pattern)
                includes.extend(sorted(glob.glob(pattern)))
        if words and words[0].lower() == keyword:
            found.append(config_path)
    for path in includes:
        try:
            with open(path) as fh:
                if any(ln.strip().split()[:1] and ln.strip().split()[0].lower() == keyword for ln in fh):
                    found.append(path)
        except (IOError, OSError):
            continue
    return found


def check_sshd(policy, run, which, timeout, config_path='/etc/ssh/sshd_config'):
    """The SSH server's effective configuration (``sshd -T``: Include files and Match defaults count) against policy."""
    sshd = which(policy.get('sshd_path') or 'sshd')
    if sshd is None:
        return [result('sshd', 'sshd', 'unknown', message='sshd not found: no SSH server to check on this host',
                       reason='sshd_missing')]
    out = run([sshd, '-T', '-f', config_path], timeout)
    if out.rc != 0:
        return [result('sshd', 'sshd', 'unknown', message='sshd -T failed: %s' % command_error(out),
                       reason='sshd_config_unreadable')]
    config = parse_sshd_t(out.stdout)
    results = []

    root = ROOT_LOGIN_SYNONYMS.get(config.get('permitrootlogin', ''), config.get('permitrootlogin', ''))
    allowed = [ROOT_LOGIN_SYNONYMS.get(v, v) for v in (policy.get('permit_root_login') or DEFAULT_PERMIT_ROOT_LOGIN)]
    if root in allowed:
        results.append(result('sshd:permit_root_login', 'sshd', 'ok', root, message='PermitRootLogin %s' % root,
                              reason='ok'))
    else:
        where = setting_sources('permitrootlogin', config_path)
        results.append(result('sshd:permit_root_login', 'sshd', 'critical', root,
                              message='PermitRootLogin %s (policy allows %s)%s'
                              % (root or 'unset', ', '.join(allowed), ' set in %s' % ', '.join(where) if where else ''),
                              reason='root_login_allowed', details={'allowed': allowed, 'set_in': where}))

    wanted = policy.get('password_authentication')
    if wanted is not None:
        actual = config.get('passwordauthentication', '')
        if actual == ('yes' if wanted else 'no'):
            results.append(result('sshd:password_authentication', 'sshd', 'ok', actual,
                                  message='PasswordAuthentication %s' % actual, reason='ok'))
        else:
            where = setting_sources('passwordauthentication', config_path)
            results.append(result('sshd:password_authentication', 'sshd', 'warning', actual,
                                  message='PasswordAuthentication %s (policy wants %s)%s'
                                  % (actual or 'unset', 'yes' if wanted else 'no',
                                     ' set in %s' % ', '.join(where) if where else ''),
                                  reason='password_authentication_enabled' if actual == 'yes'
                                  else 'password_authentication_disabled', details={'set_in': where}))

    for option, keyword in ALGORITHM_POLICY:
        effective = [a for a in config.get(keyword, '').split(',') if a]
        allow = policy.get(option)
        if allow:
            bad = [a for a in effective if a not in allow]
            rule = 'not in sshd_policy.%s' % option
        else:
            bad = [a for a in effective if a in WEAK_ALGORITHMS[keyword]]
            rule = 'known weak'
        name = 'sshd:%s' % option
        if bad:
            results.append(result(name, 'sshd', 'warning', len(bad), message='%s %s: %s' % (keyword, rule, ', '.join(bad)),
                                  reason='disallowed_algorithms', details={'disallowed': bad, 'effective': effective}))
        else:
            results.append(result(name, 'sshd', 'ok', 0, message='%d %s, none %s' % (len(effective), keyword, rule),
                                  reason='ok', details={'effective': effective}))
    return results


# --------------------------------------------------------------------------- security updates

# "Inst openssl [3.0.11-1~deb12u1] (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64])"
APT_INST = re.compile(r'^Inst (\S+) (?:\[(\S+)\] )?\((\S+) ([^)]*)\)')


def apt_security_suites(apt_dir='/etc/apt'):
    """Security suites named in the APT sources (one-line .list files and deb822 .sources files)."""
    suites = []
    one_line = [os.path.join(apt_dir, 'sources.list')] + sorted(glob.glob(os.path.join(apt_dir, 'sources.list.d', '*.list')))
    for path in one_line:
        try:
            with open(path) as fh:
                lines = fh.read().splitlines()
        except (IOError, OSError):
            continue
        for line in lines:
            words = re.sub(r'\[[^]]*\]', ' ', line.split('#', 1)[0]).split()
            if len(words) >= 3 and words[0] == 'deb' and ('security' in words[2] or 'security' in words[1]):
                suites.append(words[2])
    for path in sorted(glob.glob(os.path.join(apt_dir, 'sources.list.d', '*.sources'))):
        try:
            with open(path) as fh:
                text = fh.read()
        except (IOError, OSError):
            continue
        for stanza in re.split(r'\n\s*\n', text):
            fields = dict((m.group(1).lower(), m.group(2)) for m in re.finditer(r'^([A-Za-z-]+):\s*(.*)$', stanza, re.M))
            if 'deb' not in fields.get('types', 'deb').split() or fields.get('enabled', 'yes').lower() == 'no':
                continue
            for suite in fields.get('suites', '').split():
                if 'security' in suite or 'security' in fields.get('uris', ''):
                    suites.append(suite)
    return sorted(set(suites))


def parse_apt_simulation(text):
    """Security upgrades in ``apt-get -s dist-upgrade`` output: [(package, installed, candidate, origin)]."""
    found = []
    for line in text.splitlines():
        match = APT_INST.match(line)
        if match and 'security' in match.group(4).lower():
            found.append((match.group(1), match.group(2), match.group(3), match.group(4)))
    return found


def newest_mtime(paths):
    mtimes = []
    for path in paths:
        try:
            mtimes.append(os.stat(path).st_mtime)
        except OSError:
            continue
    return max(mtimes) if mtimes else None


def package_lists_result(newest, now, max_age_hours, manager, refresh_note):
    if newest is None:
        return result('package_lists', 'package_lists', 'unknown', None, 'h', max_age_hours, None,
                      'no %s package lists found: run a refresh (refresh_package_lists: true)' % manager,
                      reason='no_package_lists')
    age = age_hours(now, newest)
    status = status_of(age, max_age_hours)
    return result('package_lists', 'package_lists', status, age, 'h', max_age_hours, None,
                  '%s package lists %sh old%s%s' % (manager, age, ' > warning %sh' % max_age_hours if status != 'ok' else '',
                                                    refresh_note),
                  reason='ok' if status == 'ok' else 'package_lists_stale')


def check_security_updates(cfg, run, which, now, check_mode, apt_dir='/etc/apt', lists_dir='/var/lib/apt/lists'):
    """Pending updates from the security source, and the age of the package lists they were computed from."""
    timeout = cfg['timeout']
    apt_get, dnf = which('apt-get'), which('dnf')
    note = ''
    if apt_get:
        if cfg['refresh_package_lists']:
            if check_mode:
                note = ' (not refreshed: check mode)'
            else:
                out = run([apt_get, 'update', '-q'], max(timeout, 300))
                note = ' (refreshed)' if out.rc == 0 else ' (refresh failed: %s)' % command_error(out)
        lists = [p for p in glob.glob(os.path.join(lists_dir, '*')) if p.endswith(('_InRelease', '_Release'))]
        results = [package_lists_result(newest_mtime(lists), now, cfg['package_lists_max_age_hours'], 'apt', note)]
        suites = apt_security_suites(apt_dir)
        if not suites:
            results.append(result('security_updates', 'security_updates', 'unknown', None, '',
                                  cfg['security_updates_warning'], cfg['security_updates_critical'],
                                  'no security suite in the APT sources (%s): add e.g. bookworm-security' % apt_dir,
                                  reason='no_security_source'))
            return results
        out = run([apt_get, '-s', '-q', '-o', 'Debug::NoLocking=1', 'dist-upgrade'], timeout)
        if out.rc != 0:
            results.append(result('security_updates', 'security_updates', 'unknown', None, '',
                                  cfg['security_updates_warning'], cfg['security_updates_critical'],
                                  'apt-get -s dist-upgrade failed: %s' % command_error(out), reason='simulation_failed'))
            return results
        pending = parse_apt_simulation(out.stdout)
        packages = [p[0] for p in pending]
    elif dnf:
        results = [package_lists_result(newest_mtime(glob.glob('/var/cache/dnf/*.solv')), now,
                                        cfg['package_lists_max_age_hours'], 'dnf', note)]
        suites = ['updateinfo --security']
        cache_only = [] if cfg['refresh_package_lists'] and not check_mode else ['--cacheonly']
        out = run([dnf, '-q', 'updateinfo', 'list', '--security'] + cache_only, max(timeout, 300))
        if out.rc != 0:
            results.append(result('security_updates', 'security_updates', 'unknown', None, '',
                                  cfg['security_updates_warning'], cfg['security_updates_critical'],
                                  'dnf updateinfo failed: %s' % command_error(out), reason='simulation_failed'))
            return results
        packages = sorted(set(line.split()[-1] for line in out.stdout.splitlines() if len(line.split()) >= 3))
    else:
        return [result('security_updates', 'security_updates', 'unknown', message='neither apt-get nor dnf found',
                       reason='no_package_manager')]
    warn, crit = cfg['security_updates_warning'], cfg['security_updates_critical']
    status = status_of(len(packages), warn, crit)
    stale = results[0]['status'] != 'ok'
    results.append(result('security_updates', 'security_updates', status, len(packages), '', warn, crit,
                          '%d pending security update(s) from %s%s%s' % (
                              len(packages), ', '.join(suites), ': %s' % ', '.join(packages[:20]) if packages else '',
                              ' (package lists stale: the count may be low)' if stale else ''),
                          reason='pending_security_updates' if packages else 'ok',
                          details={'packages': packages[:200], 'sources': suites}))
    return results


# --------------------------------------------------------------------------- accounts


def check_accounts(passwd_path='/etc/passwd', shadow_path='/etc/shadow'):
    """Accounts with UID 0 besides root, and accounts whose password is empty (log in without one)."""
    try:
        with open(passwd_path) as fh:
            passwd = [line.split(':') for line in fh.read().splitlines() if line and not line.startswith('#')]
    except (IOError, OSError) as exc:
        return [result('accounts', 'accounts', 'unknown', message='cannot read %s: %s' % (passwd_path, exc),
                       reason='passwd_unreadable')]
    uid0 = sorted(f[0] for f in passwd if len(f) > 2 and f[2] == '0' and f[0] != 'root')
    results = [result('accounts:uid0', 'accounts', 'critical' if uid0 else 'ok', len(uid0), '', None, 0,
                      'UID 0 besides root: %s' % ', '.join(uid0) if uid0 else 'only root has UID 0',
                      reason='extra_uid0_accounts' if uid0 else 'ok', details={'accounts': uid0})]
    empty = [f[0] for f in passwd if len(f) > 1 and f[1] == '']
    try:
        with open(shadow_path) as fh:
            shadow = [line.split(':') for line in fh.read().splitlines() if line]
    except (IOError, OSError) as exc:
        results.append(result('accounts:empty_password', 'accounts', 'unknown',
                              message='cannot read %s: %s (run as root: become: true)' % (shadow_path, exc),
                              reason='shadow_unreadable'))
        return results
    empty = sorted(set(empty) | set(f[0] for f in shadow if len(f) > 1 and f[1] == ''))
    results.append(result('accounts:empty_password', 'accounts', 'critical' if empty else 'ok', len(empty), '', None, 0,
                          'accounts without a password: %s' % ', '.join(empty) if empty else 'every account has a password or is locked',
                          reason='empty_password' if empty else 'ok', details={'accounts': empty}))
    return results


# --------------------------------------------------------------------------- listeners

Listener = collections.namedtuple('Listener', 'proto address port process pid')
AllowRule = collections.namedtuple('AllowRule', 'proto address port process')
SS_PROCESS = re.compile(r'\("([^"]*)",pid=(\d+)')


def parse_allow_list(entries):
    """``listeners_allowed`` items: a port (22), "tcp/22", "127.0.0.1:5432", or {port, proto, address, process}."""
    rules = []
    for i, entry in enumerate(entries or []):
        where = 'listeners_allowed[%d]' % i
        proto = address = process = None
        if isinstance(entry, dict):
            unknown = sorted(set(entry) - set(('port', 'proto', 'address', 'process')))
            if unknown:
                raise ConfigError('%s: unknown key(s) %s; use port, proto, address, process' % (where, ', '.join(unknown)))
            port, proto, address, process = entry.get('port'), entry.get('proto'), entry.get('address'), entry.get('process')
        else:
            text = str(entry).strip()
            if '/' in text:
                proto, text = text.split('/', 1)
            if ':' in text:
                address, text = text.rsplit(':', 1)
                address = address.strip('[]')
            port = text
        try:
            port = int(port)
            if not 0 < port < 65536:
                raise ValueError(port)
        except (TypeError, ValueError):
            raise ConfigError('%s: port must be a number from 1 to 65535, got %r (write 22, "tcp/22", '
                              '"127.0.0.1:5432" or {port: 22, process: sshd})' % (where, entry))
        if proto is not None and proto not in ('tcp', 'udp'):
            raise ConfigError('%s: proto must be tcp or udp, got %r' % (where, proto))
        rules.append(AllowRule(proto, address, port, process))
    return rules


def _split_address(text):
    address, port = text.rsplit(':', 1)
    address = address.strip('[]').split('%', 1)[0]
    return ('0.0.0.0' if address == '*' else address), int(port)


def parse_ss(text):
    """Listeners from ``ss -H -l -n -t -u -p``."""
    found = []
    for line in text.splitlines():
        words = line.split()
        if len(words) < 5 or words[0] not in ('tcp', 'udp'):
            continue
        try:
            address, port = _split_address(words[4])
        except ValueError:
            continue
        match = SS_PROCESS.search(line)
        found.append(Listener(words[0], address, port, match.group(1) if match else None,
                              int(match.group(2)) if match else None))
    return found


def listeners_from_psutil(psutil):
    found = []
    for conn in psutil.net_connections(kind='inet'):
        tcp = conn.type == 1  # socket.SOCK_STREAM
        if (tcp and conn.status != 'LISTEN') or (not tcp and conn.raddr):
            continue
        name = None
        if conn.pid:
            try:
                name = psutil.Process(conn.pid).name()
            except Exception:  # pylint: disable=broad-except  # the process ended meanwhile
                name = None
        found.append(Listener('tcp' if tcp else 'udp', conn.laddr[0], conn.laddr[1], name, conn.pid))
    return found


def is_loopback(address):
    return address.startswith('127.') or address in ('::1', 'localhost')


def _allowed(listener, rules):
    for rule in rules:
        if rule.port != listener.port or (rule.proto and rule.proto != listener.proto):
            continue
        if rule.address and rule.address != listener.address:
            continue
        if rule.process and rule.process != listener.process:
            continue
        return True
    return False


def check_listeners(listeners, rules, include_loopback):
    """Listening sockets against the allow-list, with the owning process."""
    seen = set()
    unexpected = []
    considered = 0
    for listener in sorted(listeners, key=lambda lst: (lst.proto, lst.port, lst.address)):
        if not include_loopback and is_loopback(listener.address):
            continue
        considered += 1
        key = (listener.proto, listener.address, listener.port)
        if key in seen or _allowed(listener, rules):
            continue
        seen.add(key)
        unexpected.append(listener)
    described = ['%s %s:%d (%s)' % (lst.proto, lst.address, lst.port,
                                    '%s pid %s' % (lst.process, lst.pid) if lst.process else 'process unknown')
                 for lst in unexpected]
    return [result('listeners', 'listeners', 'critical' if unexpected else 'ok', len(unexpected), '', None, 0,
                   'unexpected listeners: %s' % '; '.join(described) if unexpected
                   else '%d listening socket(s), all allowed' % considered,
                   reason='unexpected_listener' if unexpected else 'ok',
                   details={'unexpected': [dict(lst._asdict()) for lst in unexpected], 'listening': considered})]


def gather_listeners(run, which, timeout, psutil=None):
    """(listeners, error): psutil where it is installed, else ``ss``."""
    if psutil is not None:
        try:
            return listeners_from_psutil(psutil), None
        except Exception as exc:  # pylint: disable=broad-except  # AccessDenied without root: fall back to ss
            error = str(exc) or exc.__class__.__name__
    else:
        error = 'psutil not installed'
    ss = which('ss')
    if ss is None:
        return None, '%s and ss not found (install iproute2 or python3-psutil)' % error
    out = run([ss, '-H', '-l', '-n', '-t', '-u', '-p'], timeout)
    if out.rc != 0:
        return None, 'ss failed: %s' % command_error(out)
    return parse_ss(out.stdout), None


# --------------------------------------------------------------------------- world-writable files


def check_world_writable(paths, max_entries, lstat=os.lstat, listdir=os.listdir):
    """Files, and directories without the sticky bit, that everyone may write, under ``paths`` (symlinks not followed,
    one file system per path)."""
    results = []
    for root in paths:
        name = 'world_writable:%s' % root
        try:
            root_dev = lstat(root).st_dev
        except OSError as exc:
            results.append(result(name, 'world_writable', 'unknown', message='cannot scan %s: %s' % (root, exc.strerror or exc),
                                  reason='path_missing'))
            continue
        found, scanned, stack, truncated = [], 0, [root], False
        while stack:
            path = stack.pop()
            try:
                info = lstat(path)
            except OSError:
                continue
            scanned += 1
            if scanned > max_entries:
                truncated = True
                break
            mode = info.st_mode
            if stat.S_ISLNK(mode) or info.st_dev != root_dev:
                continue
            if stat.S_ISDIR(mode):
                if mode & stat.S_IWOTH and not mode & stat.S_ISVTX:
                    found.append(path)
                try:
                    stack.extend(os.path.join(path, entry) for entry in sorted(listdir(path), reverse=True))
                except OSError:
                    continue
            elif stat.S_ISREG(mode) and mode & stat.S_IWOTH:
                found.append(path)
        status = 'warning' if found else ('unknown' if truncated else 'ok')
        reason = 'world_writable_files' if found else ('scan_limit_reached' if truncated else 'ok')
        listed = ': %s' % ', '.join(found[:10]) if found else ''
        message = '%d world-writable entr%s under %s%s' % (len(found), 'y' if len(found) == 1 else 'ies', root, listed)
        if truncated:
            message += ' (stopped after %d entries: raise world_writable_max_entries)' % max_entries
        results.append(result(name, 'world_writable', status, len(found), '', 0, None, message, reason=reason,
                              details={'paths': found[:100], 'scanned': min(scanned, max_entries), 'truncated': truncated}))
    return results
