"""A stand-in for the Elasticsearch REST API inside the logging_render container (Elasticsearch itself is not
installable here). Runs as the `elasticsearch` systemd unit so the role's real start, rolling restart and API
calls hit it; it answers the calls the role makes, persists the ILM policy and index template like a real
cluster, and appends every start and request to a log the verifier reads."""
import argparse
import base64
import json
import os
import ssl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = "/var/lib/mock-es"


def record(line):
    with open(os.path.join(STATE, "requests.log"), "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def load_objects():
    try:
        with open(os.path.join(STATE, "objects.json"), encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        return {}


def save_objects(objects):
    with open(os.path.join(STATE, "objects.json"), "w", encoding="utf-8") as fh:
        json.dump(objects, fh)


class Handler(BaseHTTPRequestHandler):
    node_name = "node"
    auth = ""

    def log_message(self, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def answer(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        if self.headers.get("Authorization", "") != self.auth:
            record("%s %s 401" % (method, self.path))
            return self.reply(401, {"error": "unauthenticated"})
        path = self.path.partition("?")[0]
        detail = ""
        if path == "/_cluster/settings":
            detail = " " + json.dumps(body["persistent"]["cluster.routing.allocation.enable"])
        record("%s %s%s" % (method, path, detail))
        if path == "/_cluster/settings":
            return self.reply(200, {"acknowledged": True})
        if path == "/_flush":
            return self.reply(200, {"_shards": {"total": 1, "successful": 1, "failed": 0}})
        if path == "/_cat/nodes":
            return self.reply(200, [{"name": self.node_name}])
        if path == "/_cluster/health":
            return self.reply(200, {"status": "green"})
        if path.startswith(("/_ilm/policy/", "/_index_template/")):
            objects = load_objects()
            name = path.rsplit("/", 1)[1]
            if method == "PUT":
                objects[path] = body
                save_objects(objects)
                return self.reply(200, {"acknowledged": True})
            if path not in objects:
                return self.reply(404, {"error": "not found"})
            if path.startswith("/_ilm/"):
                return self.reply(200, {name: {"version": 1, "policy": objects[path]["policy"]}})
            return self.reply(200, {"index_templates": [{"name": name, "index_template": objects[path]}]})
        return self.reply(400, {"error": "unexpected call"})

    def do_GET(self):
        self.answer("GET")

    def do_PUT(self):
        self.answer("PUT")

    def do_POST(self):
        self.answer("POST")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=9200)
    parser.add_argument("--node-name", required=True)
    parser.add_argument("--user", default="elastic")
    parser.add_argument("--password-file", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    with open(args.password_file, encoding="utf-8") as fh:
        password = fh.read().strip()
    Handler.node_name = args.node_name
    Handler.auth = "Basic " + base64.b64encode(("%s:%s" % (args.user, password)).encode()).decode()
    os.makedirs(STATE, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    record("START pid=%d" % os.getpid())
    server.serve_forever()


if __name__ == "__main__":
    main()
