"""grafana role: the dashboards are valid Grafana dashboard JSON (round-trip through grafana-foundation-sdk's
models, no key lost), use the provisioned datasources, template variables and the prometheus role's recording
rules; the role renders grafana.ini and provisioning files from its variables; bad input fails in preflight.

Grafana itself cannot be installed here (platform.md): the role runs with grafana_install=false against a
temporary directory; the Molecule scenario `logging_render` checks owners and idempotence in a container."""
import json
import re
import sys
from pathlib import Path

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard

from tests.conftest import ROOT, run

ROLE = ROOT / "roles" / "grafana"
BOARDS = sorted((ROLE / "files" / "dashboards").glob("*.json"))
FOLDERS = {"system": "系统监控", "application": "应用监控", "business": "业务监控", "checklist": "运维检查",
           "postgresql": "PostgreSQL监控", "redis": "Redis监控"}
RECORDING_RULES = [
    "instance:redfire_node_cpu_usage:percent", "instance:redfire_node_memory_usage:percent",
    "instance_mountpoint:redfire_node_filesystem_usage:percent", "endpoint:redfire_api_response_time_seconds:p50",
    "endpoint:redfire_api_response_time_seconds:p95", "endpoint:redfire_api_response_time_seconds:p99",
    "job:redfire_orders:rate5m", "job:redfire_order_success:ratio_rate5m", "job:redfire_order_failure:ratio_rate5m",
]
HEALTH_METRICS = ["redfire_health_check_status", "redfire_health_check_value",
                  "redfire_health_check_overall_status", "redfire_health_check_last_run_timestamp_seconds"]
# Keys the SDK models do not carry but Grafana reads (the variable editor's text form of the query).
KNOWN_EXTRA_KEYS = {"definition"}


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def lost_keys(original, encoded, where=""):
    """Keys of `original` that the SDK round trip dropped (a typo or a structure Grafana would not read)."""
    lost = []
    if isinstance(original, dict) and isinstance(encoded, dict):
        for key, value in original.items():
            if key not in encoded:
                if key not in KNOWN_EXTRA_KEYS:
                    lost.append(where + "/" + key)
            else:
                lost += lost_keys(value, encoded[key], where + "/" + key)
    elif isinstance(original, list) and isinstance(encoded, list):
        assert len(original) == len(encoded), where
        for i, (a, b) in enumerate(zip(original, encoded)):
            lost += lost_keys(a, b, "%s[%d]" % (where, i))
    return lost


def test_dashboards_are_valid_grafana_json_for_each_folder():
    register_default_plugins()
    assert sorted(p.stem for p in BOARDS) == sorted(FOLDERS)
    uids, all_exprs = set(), {}
    for path in BOARDS:
        board = load(path)
        encoded = json.loads(json.dumps(Dashboard.from_json(board), cls=JSONEncoder))
        assert lost_keys(board, encoded) == [], path.name
        assert board["uid"] not in uids and 8 <= len(board["uid"]) <= 40
        uids.add(board["uid"])
        assert FOLDERS[path.stem] in board["title"]
        assert board["editable"] is False and board["schemaVersion"] >= 39

        names = [v["name"] for v in board["templating"]["list"]]
        assert names[:2] == ["job", "instance"], path.name
        for var in board["templating"]["list"]:
            assert var["datasource"]["uid"] == "redfire-prometheus"
            assert re.fullmatch(r"label_values\((\w+)(\{[^}]*\})?, (\w+)\)", var["query"]["query"]), var
            assert var["includeAll"] and var["allValue"] == ".*"

        ids, exprs = set(), []
        for panel in board["panels"]:
            assert panel["id"] not in ids
            ids.add(panel["id"])
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24 and grid["w"] > 0 and grid["h"] > 0
            if panel["type"] == "row":
                continue
            assert panel["title"] and panel["targets"], panel
            uid = panel["datasource"]["uid"]
            assert uid in ("redfire-prometheus", "redfire-elasticsearch")
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == uid
                if uid == "redfire-prometheus":
                    exprs.append(target["expr"])
                else:
                    assert "query" in target and target["bucketAggs"][-1]["field"] == "@timestamp"
        # panels never overlap
        cells = set()
        for panel in board["panels"]:
            g = panel["gridPos"]
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    assert (x, y) not in cells, (path.name, panel["title"])
                    cells.add((x, y))
        all_exprs[path.stem] = exprs

    text = json.dumps(all_exprs)
    for rule in RECORDING_RULES:
        assert rule in text, "recording rule %s is used by no dashboard" % rule
    checklist = " ".join(all_exprs["checklist"])
    for metric in HEALTH_METRICS:
        assert metric in checklist
    # the raw histogram/cpu expressions are not recomputed where a recording rule exists
    assert "histogram_quantile" not in text and 'mode="idle"}[' not in text


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Run the role (install and service skipped) into a temporary tree, plus the preflight bad-input cases."""
    tmp = tmp_path_factory.mktemp("grafana")
    extra = tmp / "own.json"
    extra.write_text(json.dumps({"title": "Own", "uid": "own-board", "panels": []}))
    bad_cases = {
        "no_password": {"grafana_admin_password": ""},
        "bad_version": {"grafana_version": "latest", "grafana_install": True},
        "bad_folder": {"grafana_dashboard_folders": ["system", "sales"]},
        "extra_without_src": {"grafana_dashboards_extra": [{"folder": "Own"}]},
    }
    base = {
        "grafana_install": False, "grafana_service_manage": False, "grafana_admin_password": "s3cret-Passw0rd",
        "grafana_config_dir": str(tmp / "etc"), "grafana_dashboards_dir": str(tmp / "dashboards"),
        "grafana_ini": {"server": {"domain": "grafana.redfire.example"}, "auth.anonymous": {"enabled": False}},
        "grafana_elasticsearch_user": "grafana_reader", "grafana_elasticsearch_password": "es-Secret-42",
        "grafana_dashboards_extra": [{"folder": "Own boards", "src": str(extra)}],
        "__grafana_group": "root",
    }
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": sys.executable},
             "tasks": [{"name": "render", "ansible.builtin.include_role": {"name": "redfire.ops.grafana"}, "vars": base}]
             + [{"name": "case %s" % name, "block": [
                 {"ansible.builtin.include_role": {"name": "redfire.ops.grafana", "tasks_from": "preflight"},
                  "vars": dict(base, **case)}],
                 "rescue": [{"ansible.builtin.set_fact": {"results": "{{ results | default({}) | combine({'%s': ansible_failed_result.msg}) }}" % name}}]}
                for name, case in bad_cases.items()]
             + [{"ansible.builtin.copy": {"content": "{{ results | default({}) | to_json }}", "dest": str(tmp / "results.json"), "mode": "0600"}}]}]
    (tmp / "play.yml").write_text(yaml.safe_dump(play, allow_unicode=True))
    proc = run(["ansible-playbook", "-i", "localhost,", str(tmp / "play.yml")])
    return tmp, proc.stdout, json.loads((tmp / "results.json").read_text())


def test_role_renders_ini_datasources_and_providers(rendered):
    tmp, stdout = rendered[:2]
    assert "s3cret-Passw0rd" not in stdout and "es-Secret-42" not in stdout
    ini = (tmp / "etc" / "grafana.ini").read_text()
    sections = re.findall(r"^\[(.+)\]$", ini, re.M)
    assert sections == sorted(sections) and {"server", "security", "auth.anonymous", "paths"} <= set(sections)
    assert "admin_password = s3cret-Passw0rd" in ini and "domain = grafana.redfire.example" in ini
    assert re.search(r"^\[auth\.anonymous\]\nenabled = false$", ini, re.M)
    assert (tmp / "etc" / "grafana.ini").stat().st_mode & 0o777 == 0o640

    ds = yaml.safe_load((tmp / "etc" / "provisioning" / "datasources" / "redfire.yml").read_text())
    by_uid = {d["uid"]: d for d in ds["datasources"]}
    assert by_uid["redfire-prometheus"]["type"] == "prometheus" and by_uid["redfire-prometheus"]["isDefault"]
    es = by_uid["redfire-elasticsearch"]
    assert es["jsonData"]["index"] == "redfire-logs-*" and es["jsonData"]["timeField"] == "@timestamp"
    assert es["basicAuthUser"] == "grafana_reader" and es["secureJsonData"]["basicAuthPassword"] == "es-Secret-42"

    providers = yaml.safe_load((tmp / "etc" / "provisioning" / "dashboards" / "redfire.yml").read_text(encoding="utf-8"))["providers"]
    folders = {p["folder"]: p["options"]["path"] for p in providers}
    assert set(FOLDERS.values()) | {"Own boards"} == set(folders)
    assert all(p["allowUiUpdates"] is False and p["disableDeletion"] for p in providers)
    for key, title in FOLDERS.items():
        copied = Path(folders[title]) / ("redfire-%s.json" % key)
        assert copied.read_bytes() == (ROLE / "files" / "dashboards" / ("%s.json" % key)).read_bytes()
        assert copied.stat().st_mode & 0o777 == 0o640
    assert (Path(folders["Own boards"]) / "own.json").is_file()


def test_preflight_rejects_bad_input_with_clear_messages(rendered):
    results = rendered[2]
    assert "grafana_admin_password" in results["no_password"] and "8 characters" in results["no_password"]
    assert "grafana_version" in results["bad_version"] and "'latest'" in results["bad_version"]
    assert "grafana_dashboard_folders" in results["bad_folder"] and "sales" in results["bad_folder"]
    assert "'src'" in results["extra_without_src"]
    assert "s3cret-Passw0rd" not in json.dumps(results)
