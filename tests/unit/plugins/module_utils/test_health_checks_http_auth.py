"""health_check's HTTP checks against an endpoint like the collection's (TLS with a private CA, basic auth):
ca_path trusts the CA, url_username/url_password authenticate, a client certificate is presented, and the
password never appears in a result."""
import base64
import datetime
import http.server
import json
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.redfire.ops.plugins.module_utils import health_checks as hc

USER, PASSWORD = "prometheus", "unit-http-Secret-9931"


def _cert(tmp_path, name, issuer_key=None, issuer_name=None, ca=False):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name or subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=1)).not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        import ipaddress  # pylint: disable=import-outside-toplevel
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                        critical=False)
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    cert_path, key_path = tmp_path / (name + ".crt"), tmp_path / (name + ".key")
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert, key, str(cert_path), str(key_path)


@pytest.fixture
def endpoint(tmp_path):
    ca, ca_key, ca_path = _cert(tmp_path, "ca", ca=True)[:3]
    server_cert, server_key = _cert(tmp_path, "server", ca_key, ca.subject)[2:]
    client_cert, client_key = _cert(tmp_path, "client", ca_key, ca.subject)[2:]
    expected = "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
    seen = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            seen["client_cert"] = bool(self.connection.getpeercert())
            self.send_response(200 if self.headers.get("Authorization") == expected else 401)
            self.end_headers()
            self.wfile.write(b"node_load1 0.5\n")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(server_cert, server_key)
    context.load_verify_locations(ca_path)
    context.verify_mode = ssl.CERT_OPTIONAL
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"url": "https://127.0.0.1:%d/metrics" % server.server_address[1], "ca_path": ca_path,
               "client_cert": client_cert, "client_key": client_key, "seen": seen}
    finally:
        server.shutdown()
        server.server_close()


def _check(spec):
    res = hc.run_checks(hc.normalize({"checks": ["http"], "http": [dict(spec, timeout=5)]}))
    text = json.dumps(res, default=str)
    assert PASSWORD not in text
    http = [r for r in res.get("checks", res.get("results", [])) if r.get("kind", r.get("check")) == "http"]
    assert len(http) == 1, res
    return http[0]


def test_right_credentials_and_the_ca_are_ok(endpoint):
    spec = {"url": endpoint["url"], "ca_path": endpoint["ca_path"], "url_username": USER, "url_password": PASSWORD}
    assert _check(spec)["status"] == "ok"
    assert endpoint["seen"]["client_cert"] is False


def test_wrong_password_or_none_is_critical(endpoint):
    for extra in ({}, {"url_username": USER, "url_password": PASSWORD + "-wrong"}):
        got = _check(dict({"url": endpoint["url"], "ca_path": endpoint["ca_path"]}, **extra))
        assert got["status"] == "critical" and "401" in got["message"], got


def test_without_the_ca_the_check_fails(endpoint):
    got = _check({"url": endpoint["url"], "url_username": USER, "url_password": PASSWORD})
    assert got["status"] == "critical" and "CERTIFICATE_VERIFY_FAILED" in got["message"], got


def test_client_certificate_is_presented(endpoint):
    spec = {"url": endpoint["url"], "ca_path": endpoint["ca_path"], "url_username": USER, "url_password": PASSWORD,
            "client_cert": endpoint["client_cert"], "client_key": endpoint["client_key"]}
    assert _check(spec)["status"] == "ok"
    assert endpoint["seen"]["client_cert"] is True


@pytest.mark.parametrize("extra,message", [
    ({"client_key": "/nonexistent/key.pem"}, "client_key: no such file"),
    ({"url_password": PASSWORD}, r"url_password needs http\[0\]\.url_username"),
])
def test_bad_options_are_named(extra, message):
    with pytest.raises(hc.ConfigError, match=message) as info:
        hc.normalize({"checks": ["http"], "http": [dict({"url": "https://127.0.0.1:1/"}, **extra)]})
    assert PASSWORD not in str(info.value)
