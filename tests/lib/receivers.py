"""What the tests' playbooks and servers talk to on loopback: HTTP servers (pytest-httpserver), the webhook
receiver built on one, and the SMTP sink (aiosmtpd). Each listens on 127.0.0.1 on a free port and is stopped by
the fixture or `with` block that started it."""
from __future__ import annotations

import email
import email.policy
import json
import re
import threading

from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Response


def http_server(ssl_context=None):
    """A started pytest-httpserver on 127.0.0.1 (a free port), threaded so that a slow handler holds up only its
    own request. Stop it with stop_http_server()."""
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=ssl_context, threaded=True)
    server.start()
    return server


def stop_http_server(server):
    server.clear()
    if server.is_running():
        server.stop()


def json_response(data, status=200):
    return Response(json.dumps(data), status=status, content_type="application/json")


class WebhookReceiver:
    """Records every POST (path, headers, JSON body or text) and lists them as JSON on GET /received, which the
    periodic check's alerting test polls to confirm delivery."""

    def __init__(self):
        self.server = http_server()
        self.server.expect_request("/received", method="GET").respond_with_handler(
            lambda request: json_response(self.received()))
        self.server.expect_request(re.compile(".*"), method="POST").respond_with_data("")
        self.url = "http://127.0.0.1:%d" % self.server.port

    def received(self):
        """The POSTs so far, oldest first: [{path, headers, body}]."""
        out = []
        for request, dummy in list(self.server.log):
            if request.method != "POST":
                continue
            raw = request.get_data(as_text=True)
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw
            out.append({"path": request.path, "headers": dict(request.headers), "body": body})
        return out

    def payloads(self):
        """Only the JSON bodies."""
        return [entry["body"] for entry in self.received()]

    def stop(self):
        stop_http_server(self.server)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class SmtpSink:
    """aiosmtpd SMTP server on loopback keeping every message: [{from, to, message}] (an email.message object)."""

    def __init__(self, port):
        from aiosmtpd.controller import Controller

        self.messages = []
        self._lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
                msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
                with sink._lock:
                    sink.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": msg})
                return "250 OK"

        self.port = port
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        self.controller.start()

    def received(self):
        with self._lock:
            return list(self.messages)

    def stop(self):
        self.controller.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
