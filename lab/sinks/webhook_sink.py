"""Webhook sink of the lab: stands in for the on-call's chat/pager channel behind Alertmanager's webhook receiver.

POST /alerts   stores Alertmanager's JSON body with the time it arrived (one JSON line per notification in
               /var/lib/redfire-sinks/webhook.jsonl, the last 1000 in memory)
GET  /alerts   the stored notifications, oldest first: [{"received_at": epoch seconds, "body": {...}}, ...]
GET  /healthy  200
"""
import collections
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sink_args import parse_sink_args

KEEP = 1000


def main():
    args, host, port = parse_sink_args(__doc__, "0.0.0.0:9095", "--store", "/var/lib/redfire-sinks/webhook.jsonl",
                                       "file of the stored notifications, one JSON line each")
    lock = threading.Lock()
    recent = collections.deque(maxlen=KEEP)
    try:
        with open(args.store, encoding="utf-8") as fh:
            for line in fh:
                try:
                    recent.append(json.loads(line))
                except ValueError:
                    continue
    except OSError:
        pass

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):  # noqa: N802
            if self.path != "/alerts":
                self._reply(404, {"error": "POST /alerts"})
                return
            raw = self.rfile.read(min(int(self.headers.get("Content-Length") or 0), 1 << 22))
            try:
                entry = {"received_at": time.time(), "body": json.loads(raw)}
            except ValueError:
                self._reply(400, {"error": "body is not JSON"})
                return
            with lock:
                recent.append(entry)
                with open(args.store, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self._reply(200, {"stored": True})

        def do_GET(self):  # noqa: N802
            if self.path == "/healthy":
                self._reply(200, {"status": "ok"})
            elif self.path == "/alerts":
                with lock:
                    self._reply(200, list(recent))
            else:
                self._reply(404, {"error": "GET /alerts or /healthy"})

        def log_message(self, *args):
            pass

    ThreadingHTTPServer((host or "0.0.0.0", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
