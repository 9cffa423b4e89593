"""The four roles rendered in the systemd container (installs and services skipped): every file with its owner,
group and mode; the dashboards byte-identical to the role's files; secrets only where they belong."""
import hashlib
import json
import sys
from pathlib import Path

import pytest
import testinfra

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from tests.lib.molecule_hosts import containers  # noqa: E402  pylint: disable=wrong-import-position

CONTAINERS = containers("logging_render")
ROOT = Path(__file__).resolve().parents[3]
FILES = {
    # path: (owner, group, mode)
    "/etc/grafana/grafana.ini": ("root", "grafana", 0o640),
    "/etc/grafana/provisioning/datasources/redfire.yml": ("root", "grafana", 0o640),
    "/etc/grafana/provisioning/dashboards/redfire.yml": ("root", "grafana", 0o640),
    "/etc/elasticsearch/elasticsearch.yml": ("root", "elasticsearch", 0o660),
    "/etc/elasticsearch/jvm.options.d/redfire-heap.options": ("root", "elasticsearch", 0o640),
    "/etc/elasticsearch/certs/node.key": ("root", "elasticsearch", 0o640),
    "/etc/elasticsearch/certs/ca.crt": ("root", "elasticsearch", 0o644),
    "/etc/elasticsearch/redfire/ilm-policy.json": ("root", "elasticsearch", 0o640),
    "/etc/elasticsearch/redfire/index-template.json": ("root", "elasticsearch", 0o640),
    "/etc/logstash/logstash.yml": ("root", "logstash", 0o640),
    "/etc/logstash/pipelines.yml": ("root", "logstash", 0o640),
    "/etc/logstash/conf.d/redfire.conf": ("root", "logstash", 0o640),
    "/etc/logstash/certs/elasticsearch-ca.crt": ("root", "logstash", 0o640),
    "/etc/logstash/redfire-secrets.env": ("root", "root", 0o600),
    "/etc/systemd/system/logstash.service.d/redfire.conf": ("root", "root", 0o644),
    "/etc/filebeat/filebeat.yml": ("root", "root", 0o600),
}
DIRS = {
    "/etc/grafana": ("root", "grafana", 0o750),
    "/var/lib/grafana/dashboards": ("root", "grafana", 0o750),
    "/etc/elasticsearch": ("root", "elasticsearch", 0o2750),
    "/var/lib/elasticsearch": ("elasticsearch", "elasticsearch", 0o750),
    "/etc/logstash/conf.d": ("root", "logstash", 0o750),
    "/etc/filebeat": ("root", "root", 0o750),
}


@pytest.fixture(scope="module", params=CONTAINERS)
def container(request):
    return request.param


@pytest.fixture(scope="module")
def host(container):
    return testinfra.get_host("podman://" + container)


def test_files_owners_and_modes(host):
    wrong = []
    for path, (owner, group, mode) in list(FILES.items()) + list(DIRS.items()):
        f = host.file(path)
        got = (f.exists and f.user, f.exists and f.group, f.exists and f.mode)
        if got != (owner, group, mode):
            wrong.append("%s: %s, expected %s" % (path, got, (owner, group, oct(mode))))
    assert wrong == []


def test_dashboards_provisioned_unchanged(host):
    for folder in ("system", "application", "business", "checklist"):
        path = "/var/lib/grafana/dashboards/%s/redfire-%s.json" % (folder, folder)
        f = host.file(path)
        assert (f.user, f.group, f.mode) == ("root", "grafana", 0o640), path
        source = ROOT / "roles" / "grafana" / "files" / "dashboards" / ("%s.json" % folder)
        assert f.sha256sum == hashlib.sha256(source.read_bytes()).hexdigest(), path
    providers = host.file("/etc/grafana/provisioning/dashboards/redfire.yml").content_string
    for title in ("系统监控", "应用监控", "业务监控", "运维检查"):
        assert "folder: %s" % title in providers
    assert "allowUiUpdates: false" in providers


def test_contents_and_secrets(host):
    ini = host.file("/etc/grafana/grafana.ini").content_string
    assert "admin_password = molecule-Admin-1" in ini and "[security]" in ini
    assert "basicAuthPassword: molecule-Es-2" in host.file("/etc/grafana/provisioning/datasources/redfire.yml").content_string
    es = host.file("/etc/elasticsearch/elasticsearch.yml").content_string
    assert "discovery.type: single-node" in es and "xpack.security.http.ssl.enabled: true" in es
    assert "molecule-Es-3" not in es
    heap = host.file("/etc/elasticsearch/jvm.options.d/redfire-heap.options").content_string
    assert "-Xms" in heap and "-Xmx" in heap
    policy = json.loads(host.file("/etc/elasticsearch/redfire/ilm-policy.json").content_string)
    assert policy["policy"]["phases"]["delete"]["min_age"] == "30d"
    pipeline = host.file("/etc/logstash/conf.d/redfire.conf").content_string
    assert "port => 5044" in pipeline and 'index => "redfire-logs-%{+YYYY.MM.dd}"' in pipeline
    assert "molecule-Ls-4" not in pipeline
    assert host.file("/etc/logstash/redfire-secrets.env").content_string == "LOGSTASH_ES_PASSWORD=molecule-Ls-4\n"
    filebeat = host.file("/etc/filebeat/filebeat.yml").content_string
    assert "/var/log/redfire/*.log" in filebeat and "localhost:5044" in filebeat and "negate: true" in filebeat


def test_rolling_restart_and_api_objects_through_the_mock_node(host):
    """The `elasticsearch` unit is the mock API (prepare.yml): converge restarted the running node once through
    the rolling-restart steps, then wrote the ILM policy and template; the idempotence run only read them."""
    log = host.file("/var/lib/mock-es/requests.log").content_string.splitlines()
    assert "401" not in " ".join(log)
    starts = [i for i, line in enumerate(log) if line.startswith("START")]
    assert len(starts) == 2, log  # started by prepare, restarted once by converge, not by the idempotence run
    restart = log[starts[1] - 2:starts[1] + 4]
    assert restart == ['PUT /_cluster/settings "primaries"', "POST /_flush", log[starts[1]],
                       "GET /_cat/nodes", "PUT /_cluster/settings null", "GET /_cluster/health"], log
    after = log[starts[1] + 4:]
    assert after.count("PUT /_ilm/policy/redfire-logs") == 1 and after.count("PUT /_index_template/redfire-logs") == 1
    # check mode (before converge) and the idempotence run only read
    assert after[-2:] == ["GET /_ilm/policy/redfire-logs", "GET /_index_template/redfire-logs"], after
    objects = json.loads(host.file("/var/lib/mock-es/objects.json").content_string)
    assert objects["/_ilm/policy/redfire-logs"]["policy"]["phases"]["delete"]["min_age"] == "30d"
    assert objects["/_index_template/redfire-logs"]["index_patterns"] == ["redfire-logs-*"]
    assert host.service("elasticsearch").is_enabled
