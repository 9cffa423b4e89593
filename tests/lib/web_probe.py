"""HTTP(S) requests made inside a test container (testinfra host) against an endpoint behind the web config:
the status (or the TLS/connection error) for a given CA and basic-auth credentials."""
import json
import shlex

# Runs inside the container with its python3 (standard library only); prints one JSON line.
_PROBE = r"""
import base64, json, ssl, sys, urllib.error, urllib.request
url, ca, user, password, cert, key = sys.argv[1:7]
request = urllib.request.Request(url)
if user:
    request.add_header('Authorization', 'Basic ' + base64.b64encode((user + ':' + password).encode()).decode())
context = ssl.create_default_context(cafile=ca or None) if url.startswith('https:') else None
if context is not None and cert:
    context.load_cert_chain(cert, key)
try:
    response = urllib.request.urlopen(request, timeout=15, context=context)
    print(json.dumps({'status': response.status, 'body': response.read().decode('utf-8', 'replace')}))
except urllib.error.HTTPError as exc:
    print(json.dumps({'status': exc.code, 'body': exc.read().decode('utf-8', 'replace')}))
except Exception as exc:
    print(json.dumps({'status': None, 'error': '%s: %s' % (type(exc).__name__, exc)}))
"""


def probe(host, url, ca="", user="", password="", cert="", key=""):
    """{'status': int or None, 'body': str} or {'status': None, 'error': str} for one GET from inside host;
    cert and key: a client certificate to present."""
    out = host.check_output("python3 -c %s" % shlex.quote(_PROBE) + "".join(
        " " + shlex.quote(arg) for arg in (url, ca, user, password, cert, key)))
    return json.loads(out)


def assert_protected(host, address, path, ca, user, password, expect):
    """The endpoint's web security, as issue 19 asks: plain HTTP refused, no credentials 401, a wrong password
    401, a client that does not trust the CA fails, the right credentials get the page (containing expect)."""
    plain = probe(host, "http://%s%s" % (address, path))
    assert plain["status"] in (None, 400) and expect not in plain.get("body", ""), plain
    https = "https://%s%s" % (address, path)
    assert probe(host, https, ca)["status"] == 401
    assert probe(host, https, ca, user, password + "-wrong")["status"] == 401
    untrusted = probe(host, https, "", user, password)
    assert untrusted["status"] is None and "CERTIFICATE_VERIFY_FAILED" in untrusted["error"], untrusted
    good = probe(host, https, ca, user, password)
    assert good["status"] == 200 and expect in good["body"], {"status": good["status"], "error": good.get("error")}
    return good["body"]


def assert_client_certificate_required(host, address, path, ca, cert, key, expect):
    """An endpoint that authenticates clients by certificate (redis_exporter 1.45 has no basic auth): plain HTTP
    refused, HTTPS without a client certificate fails, an untrusting client fails, the certificate gets the page."""
    plain = probe(host, "http://%s%s" % (address, path))
    assert plain["status"] in (None, 400) and expect not in plain.get("body", ""), plain
    https = "https://%s%s" % (address, path)
    anonymous = probe(host, https, ca)
    assert anonymous["status"] is None and expect not in anonymous.get("body", ""), anonymous
    untrusted = probe(host, https, "", cert=cert, key=key)
    assert untrusted["status"] is None and "CERTIFICATE_VERIFY_FAILED" in untrusted["error"], untrusted
    good = probe(host, https, ca, cert=cert, key=key)
    assert good["status"] == 200 and expect in good["body"], {"status": good["status"], "error": good.get("error")}
    return good["body"]
