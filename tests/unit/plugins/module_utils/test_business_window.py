"""The business window's decision (module_utils/business_window.py) and its filter: status from value and
thresholds, the message, and the unknown cases (failed query, no data, not a number)."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.redfire.ops.plugins.filter.business import business_window
from ansible_collections.redfire.ops.plugins.module_utils import business_window as core

SUCCESS = {"name": "success_ratio", "title": "order success ratio", "unit": "%", "warning": 99, "critical": 95,
           "lower_is_worse": True, "query": "100 * avg_over_time(job:redfire_order_success:ratio_rate5m[$window])"}
REJECTIONS = {"name": "risk_rejections", "unit": "%", "warning": 5, "critical": 10,
              "query": "100 * avg_over_time(job:redfire_risk_rejections:ratio_rate5m[$window])"}


def ok_body(*series):
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"job": job}, "value": [1764648000.0, value]} for job, value in series]}}


def answer(spec, body, http_status=200, error=""):
    return core.Answer(spec, http_status, body, error)


def test_status_and_message_from_value_and_thresholds_per_series():
    checks = core.window_checks([answer(SUCCESS, ok_body(("a", "99.5"), ("b", "97"), ("c", "90.25")))], "24h")
    by_name = {c["name"]: c for c in checks}
    assert [c["name"] for c in checks] == ["success_ratio:c", "success_ratio:b", "success_ratio:a"]  # worst first
    assert by_name["success_ratio:a"]["status"] == "ok"
    assert by_name["success_ratio:a"]["message"] == "order success ratio of a over 24h: 99.5%"
    assert by_name["success_ratio:b"]["status"] == "warning"
    assert by_name["success_ratio:b"]["message"] == "order success ratio of b over 24h: 97% < warning 99%"
    assert by_name["success_ratio:c"]["status"] == "critical"
    assert by_name["success_ratio:c"]["message"] == "order success ratio of c over 24h: 90.25% < critical 95%"
    assert by_name["success_ratio:c"]["kind"] == "business" and by_name["success_ratio:c"]["value"] == 90.25
    assert (by_name["success_ratio:c"]["warning"], by_name["success_ratio:c"]["critical"]) == (99.0, 95.0)


def test_higher_is_worse_by_default():
    checks = core.window_checks([answer(REJECTIONS, ok_body(("a", "12"), ("b", "6"), ("c", "0")))], "168h")
    assert {c["name"]: c["status"] for c in checks} == {
        "risk_rejections:a": "critical", "risk_rejections:b": "warning", "risk_rejections:c": "ok"}
    assert checks[0]["message"] == "risk_rejections of a over 168h: 12% > critical 10%"


def test_failed_query_no_data_and_nan_are_unknown():
    checks = core.window_checks([
        answer(SUCCESS, {"status": "error", "error": "parse error at char 3"}, http_status=400),
        answer(REJECTIONS, None, http_status=None, error="Connection refused"),
        answer(dict(REJECTIONS, name="orders"), ok_body()),
        answer(dict(SUCCESS, name="nan"), ok_body(("a", "NaN"))),
    ], "24h")
    assert [c["status"] for c in checks] == ["unknown"] * 4
    assert checks[0]["message"] == "Prometheus query failed (HTTP 400): parse error at char 3"
    assert checks[1]["message"] == "Prometheus query failed (HTTP -): Connection refused"
    assert checks[2]["message"].startswith("no data over 24h for 100 * avg_over_time(")
    assert checks[3]["name"] == "nan:a" and checks[3]["value"] is None and "not a number (NaN" in checks[3]["message"]


def test_no_thresholds_reports_the_value():
    spec = {"name": "orders", "query": "sum by (job) (increase(redfire_orders_total[$window]))"}
    checks = core.window_checks([answer(spec, ok_body(("a", "1234.0")))], "24h")
    assert checks == [dict(checks[0], status="ok", value=1234.0, message="orders of a over 24h: 1234")]


def test_filter_takes_the_registered_uri_loop():
    registered = {"results": [
        {"item": SUCCESS, "status": 200, "json": ok_body(("redfire-backend", "98"))},
        {"item": REJECTIONS, "status": -1, "msg": "Status code was -1 and not [200]: Request failed: timed out"},
    ]}
    checks = business_window(registered, "24h")
    assert [(c["name"], c["status"]) for c in checks] == [("success_ratio:redfire-backend", "warning"),
                                                          ("risk_rejections", "unknown")]
    assert "timed out" in checks[1]["message"]


@pytest.mark.parametrize("answers,window,message", [
    ("text", "24h", "input must be the registered result"),
    ([{"status": 200}], "24h", "answer 0 is not a loop result"),
    ([{"item": {"name": "x"}, "status": 200, "json": ok_body()}], "24h", "'x': query must be a non-empty string"),
    ([{"item": dict(SUCCESS, warning="high"), "status": 200, "json": ok_body()}], "24h",
     "'success_ratio': warning must be a number or null, got 'high'"),
    ([], "", "window must be a Prometheus duration"),
])
def test_bad_input_names_what_to_change(answers, window, message):
    with pytest.raises(AnsibleFilterError) as err:
        business_window(answers, window)
    assert message in str(err.value)
