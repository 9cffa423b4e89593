"""The RedFire stand-in on loopback against real PostgreSQL and Redis: its metrics, its dependencies, its log (read by
the collection's own log scanner) and each fault's effect."""
import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import redis

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / '.build' / 'collections'))
from ansible_collections.redfire.ops.plugins.module_utils import log_scan  # noqa: E402

LINE = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S')
ORDERS = 'redfire_orders_total'
HIST = 'redfire_api_response_time_seconds'


def _orders(app, status=None):
    return app.total(ORDERS, **({'status': status} if status else {}))


def _observations(app, endpoint, le=None):
    if le is None:
        return app.total(HIST + '_count', endpoint=endpoint)
    return app.total(HIST + '_bucket', endpoint=endpoint, le=le)


def _orders_all_and_fast(app):
    """(observations, of them at most 2 s) of POST /api/orders from one scrape: two scrapes would count an order
    that completes between them in one number only."""
    scrape = app.samples()
    return (app.total(HIST + '_count', scrape, endpoint='/api/orders'),
            app.total(HIST + '_bucket', scrape, endpoint='/api/orders', le='2.0'))


def test_backend_serves_the_guides_metrics_from_real_work(backend, postgres, redis_server):
    backend.wait_for(lambda: _orders(backend, 'success') >= 10, what='10 successful orders')
    samples = backend.samples()
    names = {n for n, dummy in samples}
    for name in (ORDERS, HIST + '_bucket', HIST + '_count', 'redfire_system_status', 'redfire_http_requests_total',
                 'process_resident_memory_bytes'):
        assert name in names, name
    les = {dict(lab)['le'] for n, lab in samples if n == HIST + '_bucket'}
    assert {'0.5', '1.0', '2.0', '2.5', '5.0', '+Inf'} <= les, les
    statuses = {dict(lab)['status'] for n, lab in samples if n == ORDERS}
    assert statuses == {'success', 'failed', 'cancelled'}
    assert backend.total('redfire_http_requests_total', endpoint='/api/orders', method='POST', code='200') > 0
    assert backend.total('redfire_system_status') == 1
    status, body = backend.health()
    assert status == 200 and body == {'status': 'ok', 'dependencies': {'postgresql': 'ok', 'redis': 'ok'}}
    # the orders reached PostgreSQL (one query each) and the quotes Redis (a key each)
    with psycopg2.connect(postgres['dsn']) as conn, conn.cursor() as cur:
        cur.execute('SELECT sum(orders) FROM redfire_positions')
        assert cur.fetchone()[0] >= 10
    r = redis.Redis.from_url(redis_server['url'])
    assert len(list(r.scan_iter('quote:*:[0-9]*', count=1000))) >= 5
    lines = backend.log_text().splitlines()
    assert lines and all(LINE.match(line) for line in lines), lines[:5]
    assert 'redfire-backend started' in lines[0]


def test_frontend_serves_pages_and_metrics(standin):
    front = standin(role='frontend')
    front.wait_for(lambda: front.total('redfire_http_requests_total', endpoint='/', code='200') >= 3,
                   what='page loads')
    assert front.total(HIST + '_count', endpoint='/') >= 3
    assert front.health() == (200, {'status': 'ok', 'dependencies': {}})


def test_slow_makes_the_orders_p95_exceed_2s(backend):
    backend.wait_for(lambda: _observations(backend, '/api/orders') >= 5, what='first orders')
    before_all, before_fast = _orders_all_and_fast(backend)
    backend.set_faults('slow')
    backend.wait_for(lambda: _observations(backend, '/api/orders') - before_all >= 20, timeout=40,
                     what='20 orders while slow')
    now_all, now_fast = _orders_all_and_fast(backend)
    new_all, new_fast = now_all - before_all, now_fast - before_fast
    # the fault is read within a second: a few orders of that second were fast, the rest above 2 s (p95 > 2 s)
    assert new_fast / new_all < 0.3, (new_fast, new_all)
    # the request rate stays: other endpoints are not slowed
    before_md = _observations(backend, '/api/market_data', '0.5')
    time.sleep(2)
    assert _observations(backend, '/api/market_data', '0.5') - before_md >= 4
    cleared_before = backend.log_text().count('faults now: none')
    backend.set_faults()
    # the clear is read about every second, later on a loaded machine: wait for the stand-in to log it, then for
    # the orders slowed before it (3.5 s at most) to finish
    backend.wait_for(lambda: backend.log_text().count('faults now: none') > cleared_before, what='the clear read')
    time.sleep(4.5)
    cleared_all, cleared_fast = _orders_all_and_fast(backend)
    backend.wait_for(lambda: _observations(backend, '/api/orders') - cleared_all >= 8, what='orders after clear')
    after_all, after_fast = _orders_all_and_fast(backend)
    assert after_fast - cleared_fast == after_all - cleared_all, (after_fast - cleared_fast, after_all - cleared_all)


def test_errors_answer_5xx_and_log_the_four_categories(backend):
    backend.wait_for(lambda: _orders(backend) >= 3, what='first orders')
    before = backend.total('redfire_http_requests_total', code='500')
    backend.set_faults('errors')
    backend.wait_for(lambda: backend.total('redfire_http_requests_total', code='500') - before >= 20, timeout=30,
                     what='20 answers 500')
    time.sleep(2)
    backend.set_faults()
    result = log_scan.analyze([str(backend.log_file)], hours=1)
    counts = result['error_counts']
    assert all(counts[c] > 0 for c in ('database_error', 'api_error', 'trading_error', 'system_error')), counts
    # tracebacks are continuation lines of their event, not events of their own
    assert any(d['continuation'] and d['continuation'][0].startswith('Traceback') for d in result['error_details'])
    assert result['stats']['lines_scanned'] > result['error_events']
    # after the clear no 500 any more
    time.sleep(1.5)
    settled = backend.total('redfire_http_requests_total', code='500')
    time.sleep(3)
    assert backend.total('redfire_http_requests_total', code='500') == settled


def test_orders_fail_fails_every_order(backend):
    backend.wait_for(lambda: _orders(backend, 'success') >= 3, what='first orders')
    backend.set_faults('orders_fail')
    time.sleep(1.5)
    ok, failed = _orders(backend, 'success'), _orders(backend, 'failed')
    backend.wait_for(lambda: _orders(backend, 'failed') - failed >= 10, what='10 failed orders')
    assert _orders(backend, 'success') == ok
    assert 'OrderError' in backend.log_text()
    backend.set_faults()
    backend.wait_for(lambda: _orders(backend, 'success') > ok + 3, what='successful orders again')


def test_stall_stops_the_order_flow_only(backend):
    backend.wait_for(lambda: _orders(backend) >= 3, what='first orders')
    backend.set_faults('stall')
    time.sleep(1.5)
    orders, market = _orders(backend), _observations(backend, '/api/market_data')
    time.sleep(3)
    assert _orders(backend) == orders
    assert _observations(backend, '/api/market_data') > market + 4
    assert backend.health()[0] == 200
    backend.set_faults()
    backend.wait_for(lambda: _orders(backend) > orders + 3, what='orders again')


def test_crash_exits_the_process_with_a_critical_traceback(backend):
    backend.wait_for(lambda: _orders(backend) >= 1, what='first orders')
    backend.set_faults('crash')
    backend.wait_for(lambda: backend.proc.poll() is not None, what='exit')
    assert backend.proc.returncode == 3
    text = backend.log_text()
    assert re.search(r'^\S+ \S+ CRITICAL backend crashed', text, re.M)
    assert 'SystemError: fatal' in text
    assert log_scan.analyze([str(backend.log_file)], hours=1)['error_counts']['system_error'] >= 1


def test_leak_grows_memory_to_its_bound_and_releases_it(standin):
    front = standin(role='frontend', env={'REDFIRE_STANDIN_LEAK_LIMIT_MB': '160', 'REDFIRE_STANDIN_LEAK_STEP_MB': '40'})
    base = front.total('process_resident_memory_bytes')
    front.set_faults('leak')
    front.wait_for(lambda: front.total('process_resident_memory_bytes') > base + 150 * 2 ** 20, what='160 MiB more')
    time.sleep(3)  # at the bound it stops growing
    assert front.total('process_resident_memory_bytes') < base + 200 * 2 ** 20
    front.set_faults()
    front.wait_for(lambda: front.total('process_resident_memory_bytes') < base + 60 * 2 ** 20,
                   what='memory released')


def test_health_names_the_failed_dependency(standin, postgres, redis_server):
    app = standin(role='backend', postgres_dsn=postgres['dsn'], redis_url=redis_server['url'])
    app.wait_for(lambda: _orders(app, 'success') >= 1, what='first orders')
    redis_server['stop']()
    try:
        status, body = app.health()
        assert status == 503, body
        assert body['failed'] == ['redis'] and body['dependencies']['postgresql'] == 'ok'
        assert body['dependencies']['redis'].startswith('ConnectionError')
        app.wait_for(lambda: app.total('redfire_system_status') == 0, what='system status 0')
        postgres['stop']()
        try:
            status, body = app.health()
            assert status == 503 and body['failed'] == ['postgresql', 'redis'], body
            failed = _orders(app, 'failed')
            app.wait_for(lambda: _orders(app, 'failed') > failed + 3, what='orders failing without PostgreSQL')
            assert log_scan.analyze([str(app.log_file)], hours=1)['error_counts']['database_error'] > 0
        finally:
            postgres['start']()
    finally:
        redis_server['start']()
    app.wait_for(lambda: app.health()[0] == 200, what='healthy again after the dependencies return')
    app.wait_for(lambda: app.total('redfire_system_status') == 1, what='system status 1')


def test_logrotate_config_rotates_compressed_and_the_log_goes_on(standin, tmp_path):
    front = standin(role='frontend')
    # notifempty: rotate only once the stand-in has written its first line (it logs after it listens)
    front.wait_for(lambda: 'started on' in front.log_text(), what='the first log line')
    conf_src = (ROOT / 'lab' / 'redfire_standin' / 'logrotate.conf').read_text()
    assert '/var/log/redfire/*.log' in conf_src
    conf = tmp_path / 'logrotate.conf'
    conf.write_text(conf_src.replace('/var/log/redfire/', str(tmp_path) + '/'))
    subprocess.run(['logrotate', '-s', str(tmp_path / 'state'), '-f', str(conf)], check=True, timeout=60)
    rotated = tmp_path / 'frontend.log.1.gz'
    assert rotated.exists()
    subprocess.run(['gzip', '-t', str(rotated)], check=True)
    # the stand-in reopens the moved log: new lines go to a new frontend.log
    front.set_faults('bogus')
    front.wait_for(lambda: 'unknown fault(s) bogus' in front.log_text(), what='a line in the new log')
    assert log_scan.analyze([str(front.log_file)], hours=1)['stats']['files_scanned'] == 2
