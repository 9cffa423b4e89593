"""docs/metrics_contract.md and its example exposition docs/metrics_example.prom: promtool accepts the example, and
every application metric the rules and dashboards read is in the example and the contract (and the other way round)."""
import re
import shutil
import subprocess

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ROOT

DOC = ROOT / "docs" / "metrics_contract.md"
EXAMPLE = ROOT / "docs" / "metrics_example.prom"
# where metrics are read: rule templates and dashboards (PromQL only), and the checklists and plugins (PromQL among
# variables of the same prefix: there a metric is a word followed by a selector or a range)
PROMQL = sorted((ROOT / "roles" / "prometheus" / "templates").rglob("*.j2")) \
    + sorted((ROOT / "roles" / "grafana" / "files" / "dashboards").glob("*.json"))
MIXED = sorted((ROOT / "playbooks").rglob("*.yml")) + sorted((ROOT / "plugins").rglob("*.py"))
# a redfire_* word that is no part of a recording rule name (level:metric:operation)
METRIC_WORD = re.compile(r"(?<![\w:])(redfire_[a-z0-9_]+)(?=\{|\[| |\)|\"|$)", re.M)
SELECTED_WORD = re.compile(r"(?<![\w:])(redfire_[a-z0-9_]+)(?=\{|\[)")
# the collection's own metrics (health_check's textfile, the checklists' Pushgateway series: docs/scheduled_runs.md)
# and words that are not metrics
NOT_THE_APPLICATIONS = re.compile(r"^redfire_health_check_|^redfire_checklist_|^redfire_(jobs|recording|business_recording)$")
SUFFIXES = ("_bucket", "_count", "_sum")


def example_families():
    return {f.name: f for f in text_string_to_metric_families(EXAMPLE.read_text(encoding="utf-8"))}


def test_promtool_accepts_the_example():
    promtool = shutil.which("promtool")
    assert promtool, "promtool not found: install the Debian package 'prometheus' (./scripts/setup test)"
    with EXAMPLE.open("rb") as fh:
        proc = subprocess.run([promtool, "check", "metrics"], stdin=fh, capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and not proc.stdout.strip() and not proc.stderr.strip(), proc.stdout + proc.stderr


def test_every_metric_read_is_in_the_example_and_the_contract():
    words = set()
    for paths, pattern in ((PROMQL, METRIC_WORD), (MIXED, SELECTED_WORD)):
        for path in paths:
            words.update(pattern.findall(path.read_text(encoding="utf-8")))
    histograms = {name for name, f in example_families().items() if f.type == "histogram"}
    read = set()
    for word in words:
        if NOT_THE_APPLICATIONS.search(word):
            continue
        base = re.sub("(%s)$" % "|".join(SUFFIXES), "", word)
        read.add(base if base in histograms else word)
    families = example_families()
    # prometheus_client names a counter family without _total
    served = {name + "_total" if f.type == "counter" else name for name, f in families.items()}
    assert read <= served, sorted(read - served)
    doc = DOC.read_text(encoding="utf-8")
    for name in served:
        assert "`%s`" % name in doc, name
    # and the example holds only metrics something reads
    assert served <= read, sorted(served - read)


def test_example_uses_the_contracts_label_values():
    families = example_families()

    def values(family, label):
        return {s.labels[label] for s in families[family].samples if label in s.labels}

    assert values("redfire_orders", "status") == {"success", "failed", "cancelled"}
    assert values("redfire_active_users", "window") == {"5m", "1h", "1d"}
    assert values("redfire_logins", "result") == {"success", "failure"}
    assert values("redfire_risk_exposure", "account_group") == values("redfire_risk_exposure_limit", "account_group")
    for family in families.values():
        for sample in family.samples:
            assert not {"job", "instance"} & set(sample.labels), sample
