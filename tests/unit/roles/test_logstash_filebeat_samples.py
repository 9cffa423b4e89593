"""logstash and filebeat roles: the rendered pipeline's grok pattern, date formats and error-category tags, and
the rendered filebeat multiline parser, checked on the same RedFire log samples (pygrok for grok); the daily
index name; preflight messages for bad input.

Logstash and Filebeat cannot be installed here (platform.md): the roles run with *_install=false and
*_service_manage=false against a temporary directory, and the tests read what they rendered."""
import datetime
import fnmatch
import json
import re
import sys

import pytest
import yaml
from pygrok import Grok

from tests.conftest import ROOT, run

# (text, expected level or None when the line must not match, expected error tags)
SAMPLES = [
    ("2024-01-15 10:30:00,123 INFO Order 1001 accepted symbol=BTCUSDT", "INFO", []),
    ("2024-01-15 10:30:01,456 DEBUG Risk check passed for account 42", "DEBUG", []),
    ("2024-01-15 10:30:02,789 WARNING API latency above 1s on /api/orders", "WARNING", []),
    ("2024-01-15 10:30:03,001 ERROR DatabaseError: connection pool exhausted", "ERROR", ["database_error"]),
    ("2024-01-15 10:30:04,002 CRITICAL SystemError: matching engine halted", "CRITICAL", ["system_error"]),
    ("2024-01-15 10:30:05.003 WARN HTTPError 502 from upstream quote service", "WARN", ["api_error"]),
    ("2024-01-15T10:30:06,004 INFO ISO 8601 T separator", "INFO", []),
    ("2024-01-15 10:30:07 TRACE no milliseconds", "TRACE", []),
    ("2024-01-15 10:30:08,005 FATAL RuntimeError: out of memory", "FATAL", ["system_error"]),
    ("2024-01-15 10:30:09,006 ERROR OrderError: insufficient margin for order 1002", "ERROR", ["trading_error"]),
    ("2024-01-15 10:30:10,007 ERROR apierror from gateway (lower case)", "ERROR", ["api_error"]),
    ("2024-01-15 10:30:11,008 INFO ConnectionError recovered after retry", "INFO", ["database_error"]),
    ("2024-01-15 10:30:12,009 ERROR TradingError: order rejected; DatabaseError on audit", "ERROR",
     ["database_error", "trading_error"]),
    ("2024-01-15 10:30:13,010 NOTICE market open", "NOTICE", []),
    ("2024-01-15 10:31:00,000 ERROR Unhandled exception in /api/orders\n"
     "Traceback (most recent call last):\n"
     '  File "app/orders.py", line 10, in handle\n'
     "    place_order(order)\n"
     "TradingError: order rejected by exchange", "ERROR", ["trading_error"]),
    ("2024-01-15 10:31:01,000 ERROR Request failed\n"
     "java.lang.RuntimeException: boom\n"
     "\tat com.redfire.Api.handle(Api.java:42)\n"
     "\tat com.redfire.Server.run(Server.java:7)\n"
     "Caused by: com.redfire.db.DatabaseError: timeout\n"
     "\t... 2 more", "ERROR", ["database_error"]),
    ("2024-01-15 10:31:02,000 WARNING retrying\n    attempt 2 of 3", "WARNING", []),
    # malformed: must not match the pipeline's grok
    ("ERROR missing timestamp", None, []),
    ("2024-13-45 10:00:00,000 INFO impossible date", None, []),
    ("15/01/2024 10:30:00 INFO day-first date", None, []),
    ("2024-01-15 10:30:00,123 VERBOSE unknown level", None, []),
    ("2024-01-15 10:30:00,123INFO no space after the timestamp", None, []),
    ("   2024-01-15 10:30:00,123 INFO leading blanks", None, []),
    ("", None, []),
]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("elk")
    ca = tmp / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\nstand-in, only copied\n-----END CERTIFICATE-----\n")
    logstash = {
        "logstash_install": False, "logstash_service_manage": False,
        "logstash_elasticsearch_hosts": ["https://es1.redfire.example:9200"], "logstash_elasticsearch_ca_src": str(ca),
        "logstash_elasticsearch_user": "logstash_writer", "logstash_elasticsearch_password": "Ls-Secret-77",
        "logstash_pipelines": [{"id": "audit", "config": "input { stdin {} }\noutput { stdout {} }\n", "workers": 2}],
        "__logstash_config_dir": str(tmp / "logstash"), "__logstash_systemd_dir": str(tmp / "systemd"),
        "__logstash_group": "root",
    }
    filebeat = {"filebeat_install": False, "filebeat_service_manage": False,
                "filebeat_logstash_ssl_enabled": True, "filebeat_logstash_ssl_ca_src": str(ca),
                "__filebeat_config_dir": str(tmp / "filebeat")}
    cases = {
        "logstash_https_without_ca": ("logstash", dict(logstash, logstash_elasticsearch_ca_src="")),
        "logstash_user_without_password": ("logstash", dict(logstash, logstash_elasticsearch_password="")),
        "logstash_bad_pipeline_id": ("logstash", dict(logstash, logstash_pipelines=[{"id": "a b", "config": "x"}])),
        "filebeat_relative_path": ("filebeat", dict(filebeat, filebeat_inputs=[
            {"id": "redfire-backend", "paths": ["/var/log/redfire/*.log", "logs/app.log"], "service": "redfire-backend"}])),
        "filebeat_tls_without_ca": ("filebeat", dict(filebeat, filebeat_logstash_ssl_ca_src="")),
        "filebeat_bad_host": ("filebeat", dict(filebeat, filebeat_logstash_hosts=["logstash"])),
    }
    tasks = [{"name": "render logstash", "ansible.builtin.include_role": {"name": "redfire.ops.logstash"}, "vars": logstash},
             {"name": "render filebeat", "ansible.builtin.include_role": {"name": "redfire.ops.filebeat"}, "vars": filebeat}]
    for name, (role, case) in cases.items():
        tasks.append({"name": "case " + name, "block": [
            {"ansible.builtin.include_role": {"name": "redfire.ops." + role, "tasks_from": "preflight"}, "vars": case}],
            "rescue": [{"ansible.builtin.set_fact": {
                "results": "{{ results | default({}) | combine({'%s': (ansible_failed_result.results | default([])"
                           " | selectattr('failed', 'defined') | selectattr('failed') | map(attribute='msg') | join(' '))"
                           " or ansible_failed_result.msg}) }}" % name}}]})
    tasks.append({"ansible.builtin.copy": {"content": "{{ results | default({}) | to_json }}",
                                           "dest": str(tmp / "results.json"), "mode": "0600"}})
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": sys.executable}, "tasks": tasks}]
    (tmp / "play.yml").write_text(yaml.safe_dump(play))
    proc = run(["ansible-playbook", "-i", "localhost,", str(tmp / "play.yml")])
    return tmp, proc.stdout, json.loads((tmp / "results.json").read_text())


def pipeline(rendered):
    return (rendered[0] / "logstash" / "conf.d" / "redfire.conf").read_text()


def grok_of(conf):
    """The grok match of the rendered pipeline, translated from Oniguruma to Python's `regex`: Logstash's (?m)
    is "dot matches newline", which Python spells (?s); \\A means start of the event in both."""
    match = re.search(r'grok \{\s*match => \{ "message" => "(.*)" \}', conf)
    assert match, conf
    pattern = match.group(1)
    assert pattern.startswith("(?m)\\A")
    return Grok("(?s)" + pattern[len("(?m)"):])


def joda_to_strptime(fmt):
    return fmt.replace("yyyy", "%Y").replace("MM", "%m").replace("dd", "%d").replace("HH", "%H") \
              .replace("mm", "%M").replace("ss", "%S").replace("SSS", "%f")


def test_grok_date_and_error_tags_on_samples(rendered):
    conf = pipeline(rendered)
    grok = grok_of(conf)
    assert "%{TIMESTAMP_ISO8601:timestamp} %{LOGLEVEL:level} %{GREEDYDATA:message}" in conf
    assert 'if [fields][service] in ["redfire-backend"]' in conf and 'overwrite => ["message"]' in conf
    date_formats = json.loads("[%s]" % re.search(r'match => \["timestamp", (.*)\]', conf).group(1))
    tags = {name: re.compile(rx) for rx, name in
            re.findall(r'if \[message\] =~ /\(\?i\)(.+)/ \{\s*mutate \{ add_tag => \["(\w+)"\] \}', conf)}
    assert set(tags) == {"database_error", "api_error", "trading_error", "system_error"}
    assert len(SAMPLES) >= 20
    for text, level, expected_tags in SAMPLES:
        fields = grok.match(text)
        if level is None:
            assert fields is None, "malformed line matched: %r" % text
            continue
        assert fields is not None, text
        assert fields["level"] == level
        first, trace = (text.split("\n", 1) + [""])[:2]
        assert fields["message"] == first.split(" %s " % level, 1)[1] + ("\n" + trace if trace else "")
        stamp = fields["timestamp"]
        parsed = []
        for fmt in date_formats:
            try:
                parsed.append(datetime.datetime.fromisoformat(stamp) if fmt == "ISO8601"
                              else datetime.datetime.strptime(stamp, joda_to_strptime(fmt)))
            except ValueError:
                pass
        assert parsed and parsed[0].date() == datetime.date(2024, 1, 15), (stamp, date_formats)
        got = sorted(name for name, rx in tags.items() if re.search("(?i)" + rx.pattern, fields["message"]))
        assert got == sorted(expected_tags), text


def filebeat_events(lines, pattern):
    """Filebeat's multiline parser with negate: true, match: after: a line matching `pattern` starts an event,
    any other line is appended to the current event (or starts one when there is none)."""
    events = []
    for line in lines:
        if re.search(pattern, line) or not events:
            events.append(line)
        else:
            events[-1] += "\n" + line
    return events


def test_filebeat_multiline_joins_traces_on_the_same_samples(rendered):
    config = yaml.safe_load((rendered[0] / "filebeat" / "filebeat.yml").read_text())
    (source,) = config["filebeat.inputs"]
    assert source["type"] == "filestream" and source["paths"] == ["/var/log/redfire/*.log"]
    assert source["fields"] == {"service": "redfire-backend"}
    multiline = source["parsers"][0]["multiline"]
    assert multiline["negate"] is True and multiline["match"] == "after" and multiline["type"] == "pattern"
    assert config["output.logstash"]["hosts"] == ["localhost:5044"]
    assert config["output.logstash"]["ssl"]["certificate_authorities"] == [str(rendered[0] / "filebeat" / "certs" / "logstash-ca.crt")]
    assert (rendered[0] / "filebeat" / "filebeat.yml").stat().st_mode & 0o777 == 0o600

    good = [sample[0] for sample in SAMPLES if sample[1]]
    stream = "\n".join(good).split("\n")
    assert filebeat_events(stream, multiline["pattern"]) == good
    grok = grok_of(pipeline(rendered))
    assert all(grok.match(event) for event in filebeat_events(stream, multiline["pattern"]))
    # lines without a leading timestamp never start an event; a date-shaped but impossible line does, and grok
    # then rejects it (it is tagged _grokparsefailure in Logstash, not silently merged)
    for text, level, _tags in SAMPLES:
        if level is None and text:
            starts = bool(re.search(multiline["pattern"], text))
            assert starts == text.startswith(("2024-13-45", "2024-01-15 10:30:00,123")), text
            assert filebeat_events(["2024-01-15 10:00:00,000 INFO before", text], multiline["pattern"]) == \
                (["2024-01-15 10:00:00,000 INFO before", text] if starts else ["2024-01-15 10:00:00,000 INFO before\n" + text])


def test_daily_index_and_output(rendered):
    conf = pipeline(rendered)
    index = re.search(r'index => "([^"]+)"', conf).group(1)
    assert index == "redfire-logs-%{+YYYY.MM.dd}"
    day = datetime.datetime(2024, 1, 5, 23, 59, tzinfo=datetime.timezone.utc)
    name = re.sub(r"%\{\+([^}]+)\}", lambda m: day.strftime(joda_to_strptime(m.group(1).replace("YYYY", "yyyy"))), index)
    assert name == "redfire-logs-2024.01.05"
    es_defaults = yaml.safe_load((ROOT / "roles" / "elasticsearch" / "defaults" / "main.yml").read_text())
    grafana_defaults = yaml.safe_load((ROOT / "roles" / "grafana" / "defaults" / "main.yml").read_text())
    assert fnmatch.fnmatch(name, es_defaults["elasticsearch_index_pattern"])
    assert fnmatch.fnmatch(name, grafana_defaults["grafana_elasticsearch_index"])
    assert 'hosts => ["https://es1.redfire.example:9200"]' in conf
    assert 'password => "${LOGSTASH_ES_PASSWORD}"' in conf and "Ls-Secret-77" not in conf
    assert "ilm_enabled => false" in conf and "manage_template => false" in conf
    root = rendered[0]
    assert (root / "logstash" / "redfire-secrets.env").read_text() == "LOGSTASH_ES_PASSWORD=Ls-Secret-77\n"
    assert (root / "logstash" / "redfire-secrets.env").stat().st_mode & 0o777 == 0o600
    assert "EnvironmentFile=" in (root / "systemd" / "redfire.conf").read_text()
    assert "-Xms1g -Xmx1g" in (root / "systemd" / "redfire.conf").read_text()
    pipelines = yaml.safe_load((root / "logstash" / "pipelines.yml").read_text())
    assert [p["pipeline.id"] for p in pipelines] == ["redfire", "audit"] and pipelines[1]["pipeline.workers"] == 2
    assert (root / "logstash" / "conf.d" / "audit.conf").read_text().startswith("input { stdin {} }")
    assert "Ls-Secret-77" not in rendered[1]


def test_preflight_messages(rendered):
    results = rendered[2]
    assert "logstash_elasticsearch_ca_src" in results["logstash_https_without_ca"]
    assert "logstash_elasticsearch_password" in results["logstash_user_without_password"]
    assert "letters, digits" in results["logstash_bad_pipeline_id"]
    assert "absolute" in results["filebeat_relative_path"] and "logs/app.log" in results["filebeat_relative_path"]
    assert "filebeat_logstash_ssl_ca_src" in results["filebeat_tls_without_ca"]
    assert "host:port" in results["filebeat_bad_host"]
    assert "Ls-Secret-77" not in json.dumps(results)
