# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Datastore checks of health_check: PostgreSQL and Redis reachability through their client libraries."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import functools
import time

from ansible_collections.redfire.ops.plugins.module_utils.url_secrets import mask_secrets, mask_url

from ansible_collections.redfire.ops.plugins.module_utils.health_checks_common import (
    _error_text, _fmt, result,
)
from ansible_collections.redfire.ops.plugins.module_utils.health_checks_net import (
    _latency_result,
)


def postgres_driver():
    """The first installed PostgreSQL client library: ('psycopg2', module), ('psycopg', module) or None."""
    for modname in ('psycopg2', 'psycopg'):
        try:
            return modname, __import__(modname)
        except ImportError:
            continue
    return None


def redis_driver():
    try:
        import redis
        return redis
    except ImportError:
        return None


def _db_name(kind, spec):
    return spec.get('name') or '%s:%s:%s' % (kind, mask_url(spec['host']), spec['port'])


def _pg(spec):
    name = _db_name('postgresql', spec)
    driver = postgres_driver()
    start = time.monotonic()
    kwargs = dict(host=spec['host'], port=spec['port'], user=spec.get('user'), dbname=spec.get('database'),
                  connect_timeout=max(1, int(round(spec['timeout']))))
    if spec.get('password') is not None:
        kwargs['password'] = spec['password']
    if spec.get('sslmode'):
        kwargs['sslmode'] = spec['sslmode']
    kwargs = dict((k, v) for k, v in kwargs.items() if v is not None)
    try:
        conn = driver[1].connect(**kwargs)
        try:
            cur = conn.cursor()
            cur.execute('SELECT 1')
            row = cur.fetchone()
            cur.close()
        finally:
            conn.close()
    except Exception as exc:  # the drivers raise their own error hierarchies; pylint: disable=broad-except
        return result(name, 'postgresql', 'critical', None, 's', spec['warning'], spec['critical'],
                      'postgresql %s:%s: %s' % (mask_url(spec['host']), spec['port'], _redact(_error_text(exc), spec)),
                      time.monotonic() - start)
    elapsed = time.monotonic() - start
    if not row or row[0] != 1:
        return result(name, 'postgresql', 'critical', None, 's', spec['warning'], spec['critical'],
                      'SELECT 1 returned %r' % (row,), elapsed)
    return _latency_result(name, 'postgresql', elapsed, spec,
                           'postgresql %s:%s SELECT 1 (%s)' % (mask_url(spec['host']), spec['port'], driver[0]))


def _redis(spec):
    name = _db_name('redis', spec)
    redis = redis_driver()
    start = time.monotonic()
    kwargs = dict(host=spec['host'], port=spec['port'], db=spec.get('db') or 0,
                  username=spec.get('user'), password=spec.get('password'),
                  ssl=bool(spec.get('tls')), socket_timeout=spec['timeout'],
                  socket_connect_timeout=spec['timeout'])
    try:
        # redis-py >= 6 retries a failed connection three times with backoff: one attempt tells the truth faster.
        from redis.backoff import NoBackoff
        from redis.retry import Retry
        kwargs['retry'] = Retry(NoBackoff(), 0)
    except ImportError:
        pass
    try:
        client = redis.Redis(**kwargs)
        try:
            pong = client.ping()
        finally:
            client.close()
    except Exception as exc:  # redis.exceptions.*; pylint: disable=broad-except
        return result(name, 'redis', 'critical', None, 's', spec['warning'], spec['critical'],
                      'redis %s:%s: %s' % (mask_url(spec['host']), spec['port'], _redact(_error_text(exc), spec)),
                      time.monotonic() - start)
    elapsed = time.monotonic() - start
    if not pong:
        return result(name, 'redis', 'critical', None, 's', spec['warning'], spec['critical'],
                      'PING got no PONG', elapsed)
    return _latency_result(name, 'redis', elapsed, spec, 'redis %s:%s PING' % (mask_url(spec['host']), spec['port']))


def _redact(text, spec):
    """The error text of a driver without the password or the secrets of a DSN given as host."""
    pw = spec.get('password')
    text = text.replace(pw, '********') if pw else text
    return mask_secrets(text, spec['host'])


def db_jobs(kind, specs):
    func = _pg if kind == 'postgresql' else _redis
    jobs = []
    for spec in specs:
        jobs.append((spec['timeout'], func, (spec,), functools.partial(_db_timeout, kind, spec)))
    return jobs


def _db_timeout(kind, spec, elapsed, error):
    name = _db_name(kind, spec)
    if error is not None:
        return result(name, kind, 'unknown', None, 's', spec['warning'], spec['critical'],
                      'check failed: %s' % _redact(_error_text(error), spec), 0.0)
    return result(name, kind, 'critical', None, 's', spec['warning'], spec['critical'],
                  '%s %s:%s: no answer within %ss' % (kind, mask_url(spec['host']), spec['port'], _fmt(spec['timeout'])), elapsed)


# --------------------------------------------------------------------------- logs
