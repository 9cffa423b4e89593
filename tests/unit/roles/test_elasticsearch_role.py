"""elasticsearch role: rendered elasticsearch.yml, heap (half of RAM capped at 31g), TLS files, ILM policy and
index template for redfire-logs-*; preflight messages; and the REST steps against a mock Elasticsearch API
(pytest-httpserver on loopback): the ILM policy/template are written once and not again, and the rolling
restart walks the marked nodes one at a time, waiting for the node and the cluster health before the next.

No Elasticsearch runs here (platform.md): the service restart itself is the one step not exercised."""
import base64
import hashlib
import json
import re
import subprocess
import sys

import pytest
import yaml

from tests.conftest import run
from tests.lib.receivers import http_server, json_response, stop_http_server

PASSWORD = "Es-Secret-9"


class MockElasticsearch:
    """Answers the calls the role makes (a pytest-httpserver handler); paths may carry a /<node> prefix naming
    the node addressed."""

    def __init__(self, nodes):
        self.nodes, self.log, self.objects = nodes, [], {}
        self.yellow_polls = 0
        self.allocation_disabled_by = None
        self.violations = []
        self.server = http_server()
        self.server.expect_request(re.compile(".*")).respond_with_handler(self.answer)
        self.server_address = ("127.0.0.1", self.server.port)

    def answer(self, request):
        body = json.loads(request.get_data()) if request.get_data() else None
        if request.headers.get("Authorization", "") != "Basic " + base64.b64encode(("elastic:" + PASSWORD).encode()).decode():
            return json_response({"error": "unauthenticated"}, 401)
        parts = request.path.strip("/").split("/")
        node = parts.pop(0) if parts[0] in self.nodes else None
        api, method = "/" + "/".join(parts), request.method
        self.log.append((node, method, api, body))
        if api == "/_cluster/settings" and method == "PUT":
            value = body["persistent"]["cluster.routing.allocation.enable"]
            if value == "primaries":
                if self.allocation_disabled_by is not None:
                    self.violations.append("%s disabled allocation while %s was restarting" % (node, self.allocation_disabled_by))
                self.allocation_disabled_by = node
                self.yellow_polls = 2
            else:
                self.allocation_disabled_by = None
            return json_response({"acknowledged": True})
        if api == "/_flush":
            return json_response({"_shards": {"total": 2, "successful": 2, "failed": 0}})
        if api == "/_cat/nodes":
            return json_response([{"name": n} for n in self.nodes])
        if api == "/_cluster/health":
            if self.allocation_disabled_by is not None:
                return json_response({"status": "yellow"})
            if self.yellow_polls:
                self.yellow_polls -= 1
                return json_response({"status": "yellow"})
            return json_response({"status": "green"})
        if api.startswith(("/_ilm/policy/", "/_index_template/")):
            if method == "PUT":
                self.objects[api] = body
                return json_response({"acknowledged": True})
            if api not in self.objects:
                return json_response({"error": "not found"}, 404)
            if api.startswith("/_ilm/"):
                return json_response({parts[-1]: {"version": 1, "policy": self.objects[api]["policy"]}})
            return json_response({"index_templates": [{"name": parts[-1], "index_template": self.objects[api]}]})
        return json_response({"error": "unexpected call %s %s" % (method, request.full_path)}, 400)


@pytest.fixture
def mock_es():
    server = MockElasticsearch(["es1", "es2", "es3"])
    yield server
    stop_http_server(server.server)


def playbook(path, hosts, tasks):
    path.write_text(yaml.safe_dump([{"hosts": hosts, "connection": "local", "gather_facts": False,
                                     "vars": {"ansible_python_interpreter": sys.executable}, "tasks": tasks}]))
    return path


def sha1_json(value):
    return hashlib.sha1(json.dumps(value, sort_keys=True).encode()).hexdigest()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("es")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=redfire-test-ca",
                    "-keyout", str(tmp / "node.key"), "-out", str(tmp / "ca.crt")], check=True, capture_output=True)
    (tmp / "node.crt").write_bytes((tmp / "ca.crt").read_bytes())
    base = {
        "elasticsearch_install": False, "elasticsearch_service_manage": False, "elasticsearch_api_password": PASSWORD,
        "elasticsearch_tls_ca_src": str(tmp / "ca.crt"), "elasticsearch_tls_cert_src": str(tmp / "node.crt"),
        "elasticsearch_tls_key_src": str(tmp / "node.key"),
        "elasticsearch_seed_hosts": ["es1:9300", "es2:9300"], "elasticsearch_initial_master_nodes": ["es1", "es2"],
        "elasticsearch_ilm_retention": "14d", "elasticsearch_settings": {"indices.query.bool.max_clause_count": 4096},
        "elasticsearch_data_dir": str(tmp / "data"), "elasticsearch_log_dir": str(tmp / "log"),
        "__elasticsearch_config_dir": str(tmp / "etc"), "__elasticsearch_certs_dir": str(tmp / "etc" / "certs"),
        "__elasticsearch_user": "root", "__elasticsearch_group": "root",
    }
    cases = {
        "heap_over_ram": {"elasticsearch_heap_size": "100000g"},
        "heap_not_a_size": {"elasticsearch_heap_size": "4 GB"},
        "retention_not_duration": {"elasticsearch_ilm_retention": "30 days"},
        "tls_without_ca": {"elasticsearch_tls_ca_src": ""},
        "security_without_password": {"elasticsearch_api_password": ""},
        "version_of_other_major": {"elasticsearch_version": "7.17.0"},
    }
    tasks = [{"name": "render", "ansible.builtin.include_role": {"name": "redfire.ops.elasticsearch"}, "vars": base}]
    for name, case in cases.items():
        tasks.append({"name": "case " + name, "block": [
            {"ansible.builtin.include_role": {"name": "redfire.ops.elasticsearch", "tasks_from": "preflight"},
             "vars": dict(base, **case)}],
            "rescue": [{"ansible.builtin.set_fact": {
                "results": "{{ results | default({}) | combine({'%s': ansible_failed_result.msg}) }}" % name}}]})
    tasks.append({"ansible.builtin.copy": {"content": "{{ results | default({}) | combine({'memtotal_mb': ansible_facts.memtotal_mb}) | to_json }}",
                                           "dest": str(tmp / "results.json"), "mode": "0600"}})
    proc = run(["ansible-playbook", "-i", "localhost,", str(playbook(tmp / "play.yml", "localhost", tasks))])
    return tmp, proc.stdout, json.loads((tmp / "results.json").read_text())


def test_rendered_settings_heap_tls(rendered):
    tmp, stdout, results = rendered
    settings = yaml.safe_load((tmp / "etc" / "elasticsearch.yml").read_text())
    assert settings["cluster.name"] == "redfire-logs" and settings["node.name"] == "localhost"
    assert settings["discovery.seed_hosts"] == ["es1:9300", "es2:9300"] and "discovery.type" not in settings
    assert settings["xpack.security.enabled"] is True and settings["xpack.security.http.ssl.enabled"] is True
    assert settings["xpack.security.http.ssl.certificate_authorities"] == [str(tmp / "etc" / "certs" / "ca.crt")]
    assert settings["indices.query.bool.max_clause_count"] == 4096
    assert (tmp / "etc" / "certs" / "node.key").stat().st_mode & 0o777 == 0o640
    assert (tmp / "etc" / "certs" / "ca.crt").read_bytes() == (tmp / "ca.crt").read_bytes()
    heap = [line for line in (tmp / "etc" / "jvm.options.d" / "redfire-heap.options").read_text().splitlines() if line.startswith("-X")]
    expected = "%dm" % max(min(results["memtotal_mb"] // 2, 31744), 256)
    assert heap == ["-Xms" + expected, "-Xmx" + expected]
    assert "PRIVATE KEY" not in stdout and PASSWORD not in stdout


def test_ilm_policy_and_index_template(rendered):
    tmp = rendered[0]
    policy = json.loads((tmp / "etc" / "redfire" / "ilm-policy.json").read_text())["policy"]
    phases = policy["phases"]
    assert phases["delete"] == {"min_age": "14d", "actions": {"delete": {}}}
    assert phases["hot"]["min_age"] == "0ms" and phases["warm"]["min_age"] == "7d"
    meta = policy.pop("_meta")
    assert meta["managed_by"] == "redfire.ops" and meta["checksum"] == sha1_json(policy)

    template = json.loads((tmp / "etc" / "redfire" / "index-template.json").read_text())
    meta = template.pop("_meta")
    assert meta["checksum"] == sha1_json(template)
    assert template["index_patterns"] == ["redfire-logs-*"]
    index_settings = template["template"]["settings"]
    assert index_settings["index.lifecycle.name"] == "redfire-logs"
    assert index_settings["index.number_of_shards"] == 1 and index_settings["index.number_of_replicas"] == 1
    props = template["template"]["mappings"]["properties"]
    assert props["@timestamp"]["type"] == "date" and props["level"]["type"] == "keyword"
    assert props["fields"]["properties"]["service"]["type"] == "keyword" and props["tags"]["type"] == "keyword"


def test_preflight_messages(rendered):
    results = rendered[2]
    assert "elasticsearch_heap_size '100000g'" in results["heap_over_ram"] and "MiB" in results["heap_over_ram"]
    assert "elasticsearch_heap_size '4 GB'" in results["heap_not_a_size"]
    assert "elasticsearch_ilm_retention ('30 days')" in results["retention_not_duration"]
    assert "elasticsearch_tls_ca_src" in results["tls_without_ca"]
    assert "elasticsearch_api_password" in results["security_without_password"]
    assert "'7.17.0'" in results["version_of_other_major"]


COMMON = {"elasticsearch_tls_enabled": False, "elasticsearch_api_password": PASSWORD, "elasticsearch_api_host": "127.0.0.1",
          "elasticsearch_restart_wait_delay": 0, "elasticsearch_restart_wait_retries": 5}


def test_index_template_written_once_then_unchanged(tmp_path, mock_es):
    role_vars = dict(COMMON, elasticsearch_http_port=mock_es.server_address[1])
    book = playbook(tmp_path / "play.yml", "localhost", [
        {"ansible.builtin.include_role": {"name": "redfire.ops.elasticsearch", "tasks_from": "index_template"}, "vars": role_vars}])
    first = run(["ansible-playbook", "-i", "localhost,", str(book)]).stdout
    puts = [(call[1], call[2]) for call in mock_es.log if call[1] == "PUT"]
    assert puts == [("PUT", "/_ilm/policy/redfire-logs"), ("PUT", "/_index_template/redfire-logs")]
    assert "changed=2" in first and PASSWORD not in first
    stored = mock_es.objects["/_ilm/policy/redfire-logs"]["policy"]
    assert stored["phases"]["delete"]["min_age"] == "30d"
    assert mock_es.objects["/_index_template/redfire-logs"]["index_patterns"] == ["redfire-logs-*"]

    second = run(["ansible-playbook", "-i", "localhost,", str(book)]).stdout
    assert "changed=0" in second
    assert [(call[1], call[2]) for call in mock_es.log if call[1] == "PUT"] == puts

    # a new retention is written again
    role_vars["elasticsearch_ilm_retention"] = "90d"
    book = playbook(tmp_path / "play.yml", "localhost", [
        {"ansible.builtin.include_role": {"name": "redfire.ops.elasticsearch", "tasks_from": "index_template"}, "vars": role_vars}])
    assert "changed=1" in run(["ansible-playbook", "-i", "localhost,", str(book)]).stdout
    assert mock_es.objects["/_ilm/policy/redfire-logs"]["policy"]["phases"]["delete"]["min_age"] == "90d"


def test_index_template_written_once_per_cluster(tmp_path, mock_es):
    """es1 and es2 are one cluster (seed hosts), es3 a single-node cluster of its own: the objects go to es1 and
    to es3, never to es2 (a play's hosts are not one cluster unless their settings say so)."""
    port = mock_es.server_address[1]
    cluster = {"elasticsearch_seed_hosts": ["es1:9300", "es2:9300"]}
    inventory = {"all": {"hosts": {
        name: dict({"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                   **(cluster if name != "es3" else {}))
        for name in ("es1", "es2", "es3")}}}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    book = playbook(tmp_path / "play.yml", "all", [
        {"ansible.builtin.include_role": {"name": "redfire.ops.elasticsearch", "tasks_from": "index_template"},
         "vars": dict(COMMON, __elasticsearch_api_url="http://127.0.0.1:%d/{{ inventory_hostname }}" % port)}])
    out = run(["ansible-playbook", "-i", str(tmp_path / "inventory.yml"), str(book)]).stdout
    assert PASSWORD not in out
    puts = sorted((call[0], call[2]) for call in mock_es.log if call[1] == "PUT")
    assert puts == [("es1", "/_ilm/policy/redfire-logs"), ("es1", "/_index_template/redfire-logs"),
                    ("es3", "/_ilm/policy/redfire-logs"), ("es3", "/_index_template/redfire-logs")], mock_es.log
    assert {call[0] for call in mock_es.log} == {"es1", "es3"}


def test_rolling_restart_one_node_at_a_time(tmp_path, mock_es):
    port = mock_es.server_address[1]
    inventory = {"all": {"hosts": {
        name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
               "__elasticsearch_node_api_url": "http://127.0.0.1:%d/%s" % (port, name),
               "__elasticsearch_node_name": name, "__elasticsearch_restart_needed": name != "es2"}
        for name in ("es1", "es2", "es3")}}}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    book = playbook(tmp_path / "play.yml", "all", [
        {"ansible.builtin.include_role": {"name": "redfire.ops.elasticsearch", "tasks_from": "rolling_restart"},
         "vars": dict(COMMON, elasticsearch_service_manage=False)},
        {"ansible.builtin.assert": {"that": ["not __elasticsearch_restart_needed"]}}])
    out = run(["ansible-playbook", "-i", str(tmp_path / "inventory.yml"), str(book)]).stdout
    assert PASSWORD not in out and mock_es.violations == []
    calls = [call[:3] for call in mock_es.log]
    per_node = [("PUT", "/_cluster/settings"), ("POST", "/_flush"), ("GET", "/_cat/nodes"), ("PUT", "/_cluster/settings"),
                ("GET", "/_cluster/health"), ("GET", "/_cluster/health"), ("GET", "/_cluster/health")]
    assert calls == [("es1",) + c for c in per_node] + [("es3",) + c for c in per_node]
    bodies = [body for node, method, api, body in mock_es.log if api == "/_cluster/settings"]
    assert [b["persistent"]["cluster.routing.allocation.enable"] for b in bodies] == ["primaries", None, "primaries", None]
