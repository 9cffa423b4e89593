"""The daily checklist run with -vvv --diff, credentials everywhere a user can give them (a PostgreSQL DSN and
password, a Redis password, credentials and tokens in HTTP URLs, the notification webhook's token and header, the
SMTP password): none appears in the output, in the JSON/HTML reports, in the textfile or any other file the run
writes, nor in the notifications it sends (issue 14). The checked host is this machine over a local connection;
the webhook receiver, the SMTP sink and Redis listen on loopback."""
import json
import sys

from tests.conftest import ROOT, free_port, project_env, run
from tests.lib import leaks
from tests.lib.datastores import Redis
from tests.lib.receivers import SmtpSink, WebhookReceiver, http_server, stop_http_server

SECRETS = {label: leaks.password(label, value) for label, value in {
    "pg_dsn": "PgDsnS3cret", "pg_password": "PgOptS3cret", "redis_password": "RedisS3cret",
    "http_password": "HttpS3cret", "http_token": "HttpT0ken", "network_token": "NetT0ken",
    "hook_token": "HookT0ken", "dead_hook_token": "DeadH00k", "hook_header": "HookBearer",
    "smtp_password": "SmtpS3cret",
}.items()}


def test_daily_check_prints_and_writes_no_secret(tmp_path):
    s = SECRETS
    reports, textfiles, logs = tmp_path / "reports", tmp_path / "textfile", tmp_path / "logs"
    textfiles.mkdir()
    logs.mkdir()
    (logs / "app.log").write_text("2026-01-01 00:00:00 INFO started\n")
    closed = free_port()
    site = http_server()
    site.expect_request("/ok").respond_with_data("ok")
    redis = Redis(tmp_path)
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"children": {
        "lab": {"hosts": {"secrets-host": {"ansible_connection": "local"}}},
        "control": {"hosts": {"localhost": {"ansible_connection": "local"}}}},
        "vars": {"ansible_python_interpreter": sys.executable}}}))
    try:
        with WebhookReceiver() as hook, SmtpSink(free_port()) as sink:
            extra = {
                "redfire_report_dir": str(reports), "redfire_health_textfile_dir": str(textfiles),
                "redfire_daily_log_dirs": [str(logs)],
                "redfire_daily_health_checks": ["memory", "http", "network", "postgresql", "redis"],
                "redfire_daily_http": [{"url": "http://admin:%s@127.0.0.1:%d/ok?token=%s" % (
                    s["http_password"], site.port, s["http_token"]), "body_regex": "ok"}],
                "redfire_daily_network_targets": [{"type": "http", "address": "http://127.0.0.1:%d/ok?access_token=%s"
                                                   % (site.port, s["network_token"])}],
                # a closed port: the check is critical, so the run notifies
                "redfire_daily_postgresql": [
                    {"host": "postgresql://app:%s@127.0.0.1:%d/app" % (s["pg_dsn"], closed), "port": closed},
                    {"host": "127.0.0.1", "port": closed, "user": "app", "password": s["pg_password"]}],
                # Redis without a password: AUTH fails, and its error must not carry the password
                "redfire_daily_redis": [{"host": "127.0.0.1", "port": redis.port, "password": s["redis_password"]}],
                "redfire_notify_webhook_url": "%s/hook?token=%s" % (hook.url, s["hook_token"]),
                "redfire_notify_webhook_headers": {"Authorization": "Bearer " + s["hook_header"]},
                # a second webhook nobody answers: the run says which failed, without its address
                "redfire_escalation_contacts": {"1": {"webhooks": ["http://127.0.0.1:%d/x?token=%s" % (
                    closed, s["dead_hook_token"])]}},
                "redfire_notify_email_to": ["ops@redfire.test"],
                "redfire_notify_smtp_host": "127.0.0.1", "redfire_notify_smtp_port": sink.port,
                "redfire_notify_smtp_username": "ops", "redfire_notify_smtp_password": s["smtp_password"],
                "redfire_notify_smtp_secure": "never",
            }
            varfile = tmp_path / "vars.json"
            varfile.write_text(json.dumps(extra))
            proc = run(["ansible-playbook", "-i", str(inventory), "-e", "@%s" % varfile, "-vvv", "--diff",
                        str(ROOT / "playbooks" / "daily_check.yml")], env=project_env(), cwd=str(tmp_path), check=False)
            sent = json.dumps(hook.payloads()) + "".join(str(m["message"]) for m in sink.received())
            hook_paths = [entry["path"] for entry in hook.received()]
    finally:
        redis.stop()
        stop_http_server(site)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "REDFIRE_REPORT_STATUS=critical" in out, out[-3000:]
    # the run did what the secrets are for: it checked the URLs, notified, and wrote its files
    assert hook_paths == ["/hook"], hook_paths
    assert "webhook 2 of 2: HTTP no answer" in out, out[-3000:]
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p not in (inventory, varfile)
               and not p.name.startswith("redis-")]
    names = {p.suffix for p in written if p.parent == reports}
    assert names == {".json", ".html"}, written
    assert (textfiles / "redfire_health.prom").read_text().count("redfire_health_check_status") > 3
    report = next(p for p in written if p.suffix == ".json").read_text()
    assert "http://admin:***@127.0.0.1:%d/ok?token=***" % site.port in report, report[:3000]
    assert "postgresql://app:***@127.0.0.1" in report, report[:3000]
    for key, secret in s.items():
        at = out.find(secret)
        assert at < 0, "%s (%s) printed:\n%s" % (secret, key, out[max(0, at - 2500):at + 300])
        assert secret not in sent, "%s (%s) sent in a notification" % (secret, key)
        for path in written:
            assert secret not in path.read_text(errors="replace"), "%s (%s) written to %s" % (secret, key, path)
