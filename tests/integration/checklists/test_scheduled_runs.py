"""A scheduled run as AWX runs it: the daily check through ansible-runner with a throw-away private data dir, the
project and the collection mounted read-only and no report directory given (as in an execution environment).
What the run leaves behind is checked where it lives: the summary in the job artifacts (set_stats); the report and
the index in the report store on a lab host over SSH, fetched over the store's read-only HTTP server
(redfire-report-store.service, deployed by the checklist role's report_store entry point); the checklist metrics in
a real Pushgateway (Debian's prometheus-pushgateway) and in a real Prometheus scraping it with the prometheus role's
own configuration and rules (honor_labels); then, with a shortened threshold and no further run,
RedFireChecklistMissed fires live (and RedFireChecklistCritical, since the host's service is down)."""
import json
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml

from tests.conftest import ROOT, free_port, project_env, run
from tests.integration.checklists.conftest import start_hosts, stop_hosts, write_inventory
from tests.lib.monitoring import Process, http_get_json, need, wait_for
from tests.unit.roles.test_prometheus_rules import render_rules

STORE_PORT = 8090
MISSED_HOURS = 0.005  # 18 s
STORE_PLAY = """- name: The report store
  hosts: lab
  gather_facts: false
  tasks:
    - name: Deploy it
      ansible.builtin.include_role:
        name: redfire.ops.checklist
        tasks_from: report_store
"""


def get(url):
    with urllib.request.urlopen(url, timeout=5) as answer:
        return answer.read().decode("utf-8")


@pytest.fixture(scope="module")
def store_host(tmp_path_factory):
    """One lab host over SSH: checked by the daily check (its service stopped: a critical finding) and holding the
    report store, served by redfire-report-store.service."""
    hosts = start_hosts("sched", 1)
    host = hosts[0]
    try:
        host.exec("systemctl stop redfire-app")
        work = tmp_path_factory.mktemp("store")
        inventory = write_inventory(work / "inventory.yml", hosts,
                                    redfire_daily_health_checks=["memory", "disk", "services"])
        (work / "store.yml").write_text(STORE_PLAY, encoding="utf-8")
        run(["ansible-playbook", "-i", str(inventory), str(work / "store.yml"),
             "-e", "checklist_report_store_listen_address=0.0.0.0:%d" % STORE_PORT])
        url = "http://%s:%d" % (host.address(), STORE_PORT)
        try:
            wait_for(lambda: get(url + "/") is not None, 30, what="the report store at %s" % url)
        except AssertionError as exc:
            journal = host.exec("systemctl status redfire-report-store; journalctl -u redfire-report-store --no-pager "
                                "| tail -30", check=False)
            raise AssertionError("%s\n%s%s" % (exc, journal.stdout, journal.stderr))
        yield host, inventory, url
    finally:
        stop_hosts(hosts)


@pytest.fixture(scope="module")
def monitoring(tmp_path_factory):
    """Debian's Pushgateway and Prometheus on free loopback ports; Prometheus with the configuration and rules the
    prometheus role renders (scrape job pushgateway with honor_labels, RedFireChecklistMissed after 18 s)."""
    work = tmp_path_factory.mktemp("sched-mon")
    pg_port, prom_port = free_port(), free_port()
    procs = []
    try:
        procs.append(Process("pushgateway", [need("prometheus-pushgateway"), "--web.listen-address=127.0.0.1:%d" % pg_port,
                                             "--persistence.file="], work))
        rules = render_rules(work, prometheus_listen_address="127.0.0.1:%d" % prom_port,
                             prometheus_scrape_interval="1s", prometheus_scrape_timeout="1s",
                             prometheus_evaluation_interval="1s", prometheus_alertmanager_targets=[],
                             prometheus_pushgateway_targets=["127.0.0.1:%d" % pg_port],
                             prometheus_alert_checklist_daily_missed_hours=MISSED_HOURS)
        config = rules.parent / "prometheus.yml"
        jobs = {j["job_name"]: j for j in yaml.safe_load(config.read_text(encoding="utf-8"))["scrape_configs"]}
        assert jobs["pushgateway"]["honor_labels"] is True
        procs.append(Process("prometheus", [need("prometheus"), "--config.file=%s" % config,
                                            "--storage.tsdb.path=%s" % (work / "tsdb"),
                                            "--web.listen-address=127.0.0.1:%d" % prom_port], work))
        pushgateway, prometheus = "http://127.0.0.1:%d" % pg_port, "http://127.0.0.1:%d" % prom_port
        wait_for(lambda: http_get_json(pushgateway + "/api/v1/status"), 30, what="the Pushgateway")
        wait_for(lambda: [t for t in http_get_json(prometheus + "/api/v1/targets")["data"]["activeTargets"]
                          if t["labels"]["job"] == "pushgateway" and t["health"] == "up"], 60,
                 what="Prometheus scraping the Pushgateway")
        yield pushgateway, prometheus, procs
    finally:
        for proc in procs:
            proc.stop()


def runner_dir(tmp_path, inventory, extravars):
    data = tmp_path / "runner"
    for sub in ("project", "inventory", "env", "tmp"):
        (data / sub).mkdir(parents=True)
    (data / "project" / "daily.yml").write_text(
        "- name: Daily check\n  ansible.builtin.import_playbook: redfire.ops.daily_check\n", encoding="utf-8")
    (data / "inventory" / "hosts.yml").write_text(inventory.read_text(encoding="utf-8"), encoding="utf-8")
    (data / "env" / "extravars").write_text(yaml.safe_dump(extravars), encoding="utf-8")
    # the working directory is the read-only project, as in an execution environment; Ansible's own temporary
    # files go where an EE has them (its home), here inside the private data dir
    (data / "env" / "envvars").write_text(yaml.safe_dump({"PWD": str(data / "project"),
                                                          "ANSIBLE_LOCAL_TEMP": str(data / "tmp")}), encoding="utf-8")
    return data


def read_only_run(data, ident):
    """ansible-runner in a mount namespace where the collection's checkout and the project are read-only."""
    script = ('set -e; mount --bind -o ro "$1" "$1"; mount --bind -o ro "$2" "$2"; '
              'if touch "$1/.rw-probe" 2>/dev/null || touch "$2/.rw-probe" 2>/dev/null; then echo writable; exit 99; fi; '
              'exec ansible-runner run "$3" -p daily.yml --ident "$4" -j')
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", str(ROOT),
                           str(data / "project"), str(data), ident],
                          env=project_env(), capture_output=True, text=True, timeout=300, check=False)


def test_scheduled_daily_check_leaves_artifacts_a_stored_report_and_metrics(store_host, monitoring, tmp_path):
    host, inventory, store_url = store_host
    pushgateway, prometheus, procs = monitoring
    data = runner_dir(tmp_path, inventory, {
        "checklist_report_store_host": host.name, "checklist_report_store_url": store_url + "/",
        "checklist_pushgateway_url": pushgateway, "checklist_report_store_max_count": 5})
    proc = read_only_run(data, "sched1")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    artifacts = data / "artifacts" / "sched1"
    assert (artifacts / "status").read_text().strip() == "successful"
    events = [json.loads(p.read_text(encoding="utf-8")) for p in (artifacts / "job_events").glob("*.json")]
    stats = [e for e in events if e["event"] == "playbook_on_stats"]
    assert len(stats) == 1 and not stats[0]["event_data"]["failures"]

    # the job artifacts (what AWX shows and a workflow branches on)
    summary = stats[0]["event_data"]["artifact_data"]["redfire_checklist"]
    assert summary["kind"] == "daily_check" and summary["status"] == "critical" and summary["succeeded"] is True
    assert summary["hosts"] == {host.name: "critical"} and summary["problems"] >= 1
    assert summary["host_counts"]["critical"] == 1 and summary["check_counts"]["critical"] >= 1
    assert summary["duration_seconds"] > 0
    name = summary["report"]["html"].rsplit("/", 1)[-1]
    assert summary["report"]["html"] == "/var/lib/redfire/reports/" + name
    assert summary["report"]["url"] == "%s/%s" % (store_url, name)

    # the report store, over its HTTP server: the report, the index (newest first, the status of each), read-only
    page = get(summary["report"]["url"])
    assert "日常检查报告" in page and host.name in page and "service:redfire-app" in page
    index = json.loads(get(store_url + "/index.json"))
    assert [r["name"] for r in index["runs"]] == [name[:-len(".html")]]
    assert index["runs"][0]["status"] == "critical"
    index_page = get(store_url + "/index.html")
    assert 'href="%s"' % name in index_page and "检查报告存档" in index_page
    report = json.loads(get(store_url + "/" + name.replace(".html", ".json")))
    assert report["status"] == "critical" and [h["name"] for h in report["hosts"]] == [host.name]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(store_url + "/index.json", data=b"{}", method="PUT"), timeout=5)
    assert refused.value.code == 501

    # the metrics: in the Pushgateway under job/checklist, and in Prometheus with those labels (honor_labels)
    metrics = get(pushgateway + "/metrics")
    assert 'redfire_checklist_host_status{checklist="daily_check",host="%s",instance="",job="redfire_checklist"} 2' \
        % host.name in metrics, metrics[-3000:]
    assert 'redfire_checklist_check_status{check="service:redfire-app",checklist="daily_check",host="%s"' % host.name \
        in metrics

    def series(expr):
        answer = http_get_json(prometheus + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        return answer["data"]["result"]

    success = wait_for(lambda: series('redfire_checklist_last_success_timestamp_seconds{job="redfire_checklist",'
                                      'checklist="daily_check"}'), 30, what="the pushed series in Prometheus")
    assert abs(float(success[0]["value"][1]) - float(report_time(report))) < 1
    assert series('redfire_checklist_run_duration_seconds{checklist="daily_check"} > 0')

    # no further run: the daily check is "missed" once the shortened threshold has passed; its critical host alerts
    def firing(name):
        alerts = http_get_json(prometheus + "/api/v1/alerts")["data"]["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] == name and a["state"] == "firing"]
    critical = wait_for(lambda: firing("RedFireChecklistCritical"), 30, what="RedFireChecklistCritical")
    assert critical[0]["labels"]["checklist"] == "daily_check"
    missed = wait_for(lambda: firing("RedFireChecklistMissed"), 60, what="RedFireChecklistMissed")
    assert missed[0]["labels"]["checklist"] == "daily_check" and missed[0]["labels"]["severity"] == "warning"
    assert "daily_check" in missed[0]["annotations"]["description"]
    for proc in procs:
        assert proc.proc.poll() is None, proc.output()


def report_time(report):
    from ansible_collections.redfire.ops.plugins.module_utils.checklist_run import parse_time
    return parse_time(report["generated_at"])
