"""The stand-in backend's risk and user-activity metrics (docs/metrics_contract.md) and the faults that drive them:
risk_spike, exposure_near_limit, users_collapse, failed_logins. The backend runs without PostgreSQL and Redis here
(these metrics need neither)."""
import time
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

EXAMPLE = Path(__file__).resolve().parents[3] / 'docs' / 'metrics_example.prom'

REASONS = {'position_limit', 'insufficient_margin', 'price_band', 'order_rate_limit'}
GROUPS = {'retail', 'institutional', 'market_maker'}


def _labels(app, name, label):
    return {dict(lab)[label] for n, lab in app.samples() if n == name}


def _exposure_ratio(app, group):
    return app.total('redfire_risk_exposure', account_group=group) / app.total('redfire_risk_exposure_limit',
                                                                               account_group=group)


def test_backend_serves_every_series_of_the_contract_and_the_frontend_none(standin):
    back, front = standin(role='backend'), standin(role='frontend')
    back.wait_for(lambda: back.total('redfire_active_sessions') >= 20, what='20 open sessions')
    assert _labels(back, 'redfire_risk_rejections_total', 'reason') == REASONS
    for name in ('redfire_risk_exposure', 'redfire_risk_exposure_limit', 'redfire_risk_margin_calls_total'):
        assert _labels(back, name, 'account_group') == GROUPS, name
    assert _labels(back, 'redfire_active_users', 'window') == {'5m', '1h', '1d'}
    assert _labels(back, 'redfire_logins_total', 'result') == {'success', 'failure'}
    for group in GROUPS:
        assert 0.15 <= _exposure_ratio(back, group) <= 0.65, group
    # distinct users: 5m <= 1h <= 1d, and every open session belongs to a user active within 5m
    users = {w: back.total('redfire_active_users', window=w) for w in ('5m', '1h', '1d')}
    assert 0 < users['5m'] <= users['1h'] <= users['1d'], users
    assert back.total('redfire_active_sessions') <= users['5m']
    # the contract's example exposition (docs/metrics_example.prom): the same families, types and labels
    dummy, text = back.get('/metrics')
    served = {f.name: f for f in text_string_to_metric_families(text)}
    for family in text_string_to_metric_families(EXAMPLE.read_text(encoding='utf-8')):
        assert family.name in served and served[family.name].type == family.type, family.name
        labels = {frozenset(k for k in s.labels if k != 'le') for s in family.samples}
        assert labels <= {frozenset(k for k in s.labels if k != 'le') for s in served[family.name].samples}, family.name
    names = {n for n, dummy in front.samples()}
    assert not any(n.startswith(('redfire_risk_', 'redfire_active_', 'redfire_logins')) for n in names), names


def test_risk_spike_and_exposure_near_limit(standin):
    """Two risk faults at once (one process, half the wait): rejections, exposure, margin calls."""
    app = standin(role='backend')
    app.wait_for(lambda: app.total('redfire_orders_total') >= 5, what='first orders')
    app.set_faults('risk_spike', 'exposure_near_limit')
    time.sleep(1.5)
    orders, rejected = app.total('redfire_orders_total'), app.total('redfire_risk_rejections_total')
    app.wait_for(lambda: app.total('redfire_orders_total') - orders >= 30, timeout=40, what='30 orders in the spike')
    share = (app.total('redfire_risk_rejections_total') - rejected) / (app.total('redfire_orders_total') - orders)
    assert 0.15 < share < 0.7, share
    assert 'rejected by the risk checks' in app.log_text()
    app.wait_for(lambda: _exposure_ratio(app, 'institutional') > 0.95, what='institutional exposure above 95 %')
    app.wait_for(lambda: app.total('redfire_risk_margin_calls_total', account_group='institutional') >= 2, timeout=40,
                 what='2 margin calls')
    assert _exposure_ratio(app, 'retail') <= 0.65
    assert 'margin call: account group institutional' in app.log_text()
    app.set_faults()
    app.wait_for(lambda: _exposure_ratio(app, 'institutional') <= 0.65, what='exposure back under 65 %')
    time.sleep(1.5)
    orders, rejected = app.total('redfire_orders_total'), app.total('redfire_risk_rejections_total')
    calls = app.total('redfire_risk_margin_calls_total')
    app.wait_for(lambda: app.total('redfire_orders_total') - orders >= 12, timeout=40, what='12 orders after it')
    assert (app.total('redfire_risk_rejections_total') - rejected) / (app.total('redfire_orders_total') - orders) < 0.2
    assert app.total('redfire_risk_margin_calls_total') == calls


def test_users_collapse_drops_sessions_and_failed_logins_burst(standin):
    app = standin(role='backend')
    app.wait_for(lambda: app.total('redfire_active_sessions') >= 50, what='50 open sessions')
    failures = app.total('redfire_logins_total', result='failure')
    app.set_faults('users_collapse', 'failed_logins')
    app.wait_for(lambda: app.total('redfire_active_sessions') <= 3, what='the sessions dropped')
    seen = app.total('redfire_active_users', window='5m')
    time.sleep(3)
    # a trickle at most (one user per 10 s) where 20 users a second came before
    assert app.total('redfire_active_users', window='5m') - seen <= 3
    app.wait_for(lambda: app.total('redfire_logins_total', result='failure') - failures >= 100, what='100 failed logins')
    app.set_faults()
    time.sleep(1.5)
    failures = app.total('redfire_logins_total', result='failure')
    app.wait_for(lambda: app.total('redfire_active_sessions') >= 40, what='sessions again')
    # back to the users' own few failures (3 % of about 20 logins a second)
    assert app.total('redfire_logins_total', result='failure') - failures < 30
