# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network checks of health_check: TCP, DNS and HTTP reachability, HTTP endpoints with their certificates."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import functools
import re
import socket
import time

from ansible_collections.redfire.ops.plugins.module_utils.deadline import DeadlineExceeded, bounded_search
from ansible_collections.redfire.ops.plugins.module_utils.url_secrets import mask_secrets, mask_url

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported by this collection
    from urlparse import urlsplit  # type: ignore

from ansible_collections.redfire.ops.plugins.module_utils.health_checks_common import (
    DEFAULT_CERT_CRITICAL_DAYS, DEFAULT_CERT_WARNING_DAYS, MAX_BODY, _error_text, _fmt, _threshold_message, result,
    status_of,
)


def split_host_port(address):
    """``host:port`` or ``[v6]:port`` -> (host, port); raises ValueError."""
    address = address.strip()
    if address.startswith('['):
        host, dummy, rest = address[1:].partition(']')
        if not rest.startswith(':'):
            raise ValueError('missing port')
        port = rest[1:]
    else:
        host, sep, port = address.rpartition(':')
        if not sep:
            raise ValueError('missing port')
    if not host:
        raise ValueError('missing host')
    port = int(port)
    if not 1 <= port <= 65535:
        raise ValueError('port %d out of range 1-65535' % port)
    return host, port


def _target_name(target):
    return target.get('name') or '%s:%s' % (target['type'], mask_url(target['address']))


def _net_tcp(target):
    name = _target_name(target)
    host, port = split_host_port(target['address'])
    start = time.monotonic()
    try:
        sock = socket.create_connection((host, port), timeout=target['timeout'])
        sock.close()
    except (OSError, socket.timeout) as exc:
        return result(name, 'network', 'critical', None, 's', target.get('warning'), target.get('critical'),
                      'tcp %s:%d unreachable: %s' % (host, port, _error_text(exc)), time.monotonic() - start)
    elapsed = time.monotonic() - start
    return _latency_result(name, 'network', elapsed, target, 'tcp %s:%d connected' % (host, port))


def _net_dns(target):
    name = _target_name(target)
    start = time.monotonic()
    try:
        infos = socket.getaddrinfo(target['address'], None, 0, socket.SOCK_STREAM)
    except (OSError, socket.gaierror, UnicodeError) as exc:
        return result(name, 'network', 'critical', None, 's', target.get('warning'), target.get('critical'),
                      'dns %s did not resolve: %s' % (target['address'], _error_text(exc)), time.monotonic() - start)
    elapsed = time.monotonic() - start
    addrs = sorted(set(i[4][0] for i in infos))
    return _latency_result(name, 'network', elapsed, target,
                           'dns %s -> %s' % (target['address'], ', '.join(addrs[:4])))


def _latency_result(name, kind, elapsed, spec, what):
    value = round(elapsed, 4)
    st = status_of(value, spec.get('warning'), spec.get('critical'))
    msg = '%s in %s' % (what, _threshold_message(value, 's', spec.get('warning'), spec.get('critical'), status=st))
    return result(name, kind, st, value, 's', spec.get('warning'), spec.get('critical'), msg, elapsed)


def _net_http(target):
    spec = dict(target)
    spec.setdefault('expected_status', [200, 201, 202, 203, 204, 301, 302, 303, 307, 308])
    spec.setdefault('validate_certs', True)
    spec['url'] = target['address']
    spec['shown'] = mask_url(target['address'])
    spec['name'] = _target_name(target)
    out = _http(spec)[0]
    out['kind'] = 'network'
    return out


def network_jobs(targets):
    funcs = {'tcp': _net_tcp, 'dns': _net_dns, 'http': _net_http}
    jobs = []
    for target in targets:
        jobs.append((target['timeout'], funcs[target['type']], (target,), functools.partial(_net_timeout, target)))
    return jobs


def _net_timeout(target, elapsed, error):
    name = _target_name(target)
    if error is not None:
        return result(name, 'network', 'unknown', None, 's', target.get('warning'), target.get('critical'),
                      'check failed: %s' % _error_text(error), 0.0)
    return result(name, 'network', 'critical', None, 's', target.get('warning'), target.get('critical'),
                  'no answer within %ss' % _fmt(target['timeout']), elapsed)


# --------------------------------------------------------------------------- http


def _der_read(data, pos):
    """One DER TLV at ``pos`` -> (tag, value_start, value_end)."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7f
        length = int.from_bytes(data[pos:pos + n], 'big')
        pos += n
    return tag, pos, pos + length


def cert_not_after(der):
    """``notAfter`` of a DER X.509 certificate as a POSIX timestamp (no third-party parser needed)."""
    start = _der_read(der, 0)[1]          # Certificate
    start = _der_read(der, start)[1]      # tbsCertificate
    tag, vs, ve = _der_read(der, start)
    pos = ve if tag == 0xa0 else start    # optional [0] version
    for dummy in range(3):                # serialNumber, signature, issuer
        pos = _der_read(der, pos)[2]
    vs = _der_read(der, pos)[1]           # validity
    pos = _der_read(der, vs)[2]           # skip notBefore
    tag, vs, ve = _der_read(der, pos)     # notAfter
    text = der[vs:ve].decode('ascii').rstrip('Z')
    if tag == 0x17:                       # UTCTime YYMMDDHHMMSS
        year = int(text[:2])
        text = ('19' if year >= 50 else '20') + text
    import calendar  # pylint: disable=import-outside-toplevel  # only HTTPS checks get here
    return calendar.timegm(time.strptime(text[:14], '%Y%m%d%H%M%S'))


def _http(spec):
    """GET ``spec['url']`` once and judge the answer (no body_regex: network targets of type http)."""
    return _http_judge(spec, _http_get(spec), spec['timeout'])


def _http_get(spec):
    """GET ``spec['url']`` once (in a thread): (code, body, elapsed, cert result) or [results] when it failed."""
    # imported here, not at the top: every health_check run would pay ~10 ms for them, most never need them
    import http.client  # pylint: disable=import-outside-toplevel
    import ssl  # pylint: disable=import-outside-toplevel

    name = spec['name']
    parts = urlsplit(spec['url'])
    warn, crit = spec.get('warning'), spec.get('critical')
    cert_result = None
    start = time.monotonic()
    try:
        if parts.scheme == 'https':
            if spec.get('validate_certs', True):
                ctx = ssl.create_default_context(cafile=spec.get('ca_path') or None)
            else:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            if spec.get('client_cert'):
                ctx.load_cert_chain(spec['client_cert'], spec.get('client_key') or None)
            conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=spec['timeout'], context=ctx)
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=spec['timeout'])
        path = parts.path or '/'
        if parts.query:
            path += '?' + parts.query
        headers = {'User-Agent': 'redfire.ops.health_check', 'Connection': 'close'}
        if spec.get('url_username') is not None:
            import base64  # pylint: disable=import-outside-toplevel
            credentials = '%s:%s' % (spec['url_username'], spec.get('url_password') or '')
            headers['Authorization'] = 'Basic ' + base64.b64encode(credentials.encode('utf-8')).decode('ascii')
        try:
            conn.request('GET', path, headers=headers)
            if parts.scheme == 'https' and conn.sock is not None:
                der = conn.sock.getpeercert(True)
                if der:
                    cert_result = _cert_result(name, der, spec)
            resp = conn.getresponse()
            body = resp.read(MAX_BODY) if spec.get('body_regex') else b''
            code = resp.status
        finally:
            conn.close()
    except (OSError, socket.timeout, ssl.SSLError, http.client.HTTPException, ValueError) as exc:
        out = [result(name, 'http', 'critical', None, 's', warn, crit,
                      'GET %s failed: %s' % (spec['shown'], mask_secrets(_error_text(exc), spec['url'])),
                      time.monotonic() - start)]
        return out + ([cert_result] if cert_result else [])
    return code, body, time.monotonic() - start, cert_result


def _http_judge(spec, got, seconds):
    """[http result(, certificate result)] of what _http_get got; the body_regex runs here, in the caller's thread
    (the main one, see _Pending), within ``seconds``: a pattern that backtracks without end cannot hang the run."""
    if isinstance(got, list):
        return got
    code, body, elapsed, cert_result = got
    name = spec['name']
    warn, crit = spec.get('warning'), spec.get('critical')
    value = round(elapsed, 4)
    problems = []
    if code not in spec['expected_status']:
        problems.append('status %d not in %s' % (code, spec['expected_status']))
    if spec.get('body_regex'):
        start = time.monotonic()
        try:
            found = bounded_search(re.compile(spec['body_regex']), body.decode('utf-8', 'replace'), seconds)
        except DeadlineExceeded:
            return [result(name, 'http', 'unknown', value, 's', warn, crit,
                           'GET %s -> %d, but body_regex %r did not finish within %ss on the %d-byte body (it '
                           'backtracks too much: simplify it, e.g. (a+)+ to a+)'
                           % (spec['shown'], code, spec['body_regex'], _fmt(round(seconds, 3)), len(body)),
                           elapsed + time.monotonic() - start)] + ([cert_result] if cert_result else [])
        if not found:
            problems.append('body does not match %r' % spec['body_regex'])
    if problems:
        out = result(name, 'http', 'critical', value, 's', warn, crit,
                     'GET %s: %s (%ss)' % (spec['shown'], '; '.join(problems), _fmt(value)), elapsed)
    else:
        st = status_of(value, warn, crit)
        out = result(name, 'http', st, value, 's', warn, crit,
                     'GET %s -> %d in %s' % (spec['shown'], code, _threshold_message(value, 's', warn, crit, status=st)),
                     elapsed)
    return [out] + ([cert_result] if cert_result else [])


def _cert_result(name, der, spec, now=None):
    warn = spec.get('cert_warning_days', DEFAULT_CERT_WARNING_DAYS)
    crit = spec.get('cert_critical_days', DEFAULT_CERT_CRITICAL_DAYS)
    start = time.monotonic()
    try:
        not_after = cert_not_after(der)
    except (IndexError, ValueError, UnicodeError) as exc:
        return result('cert:%s' % name, 'certificate', 'unknown', None, 'd', warn, crit,
                      'cannot read certificate expiry: %s' % _error_text(exc), time.monotonic() - start)
    days = round((not_after - (now if now is not None else time.time())) / 86400.0, 2)
    st = status_of(days, warn, crit, lower_is_worse=True)
    when = time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(not_after))
    if days < 0:
        msg = 'certificate expired %s days ago (%s)' % (_fmt(-days), when)
    else:
        msg = 'certificate expires in %s (%s)' % (_threshold_message(days, ' days', warn, crit, True, st), when)
    return result('cert:%s' % name, 'certificate', st, days, 'd', warn, crit, msg, time.monotonic() - start)


def _http_timeout(spec, elapsed, error):
    name = spec['name']
    if error is not None:
        return [result(name, 'http', 'unknown', None, 's', spec.get('warning'), spec.get('critical'),
                       'check failed: %s' % mask_secrets(_error_text(error), spec['url']), 0.0)]
    return [result(name, 'http', 'critical', None, 's', spec.get('warning'), spec.get('critical'),
                   'GET %s: no answer within %ss' % (spec['shown'], _fmt(spec['timeout'])), elapsed)]


def http_jobs(endpoints):
    jobs = []
    for ep in endpoints:
        spec = dict(ep, name=ep.get('name') or mask_url(ep['url']), shown=mask_url(ep['url']))
        jobs.append((spec['timeout'], _http_get, (spec,), functools.partial(_http_timeout, spec),
                     functools.partial(_http_judge, spec)))
    return jobs


# --------------------------------------------------------------------------- databases
