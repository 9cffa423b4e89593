"""redfire.ops.web_config through the prometheus and alertmanager roles' files (rendered on this machine, no
services): a run with -v --diff and a second run show none of the passwords and the second changes nothing (the
bcrypt hashes are kept); preflight stops, naming the variable, on a short password, TLS half configured, a
certificate that does not match its key and an expired certificate (issue 19)."""
import datetime
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import project_env
from tests.lib import leaks
from tests.lib.monitoring import render

PASSWORD = leaks.password("web_config client password", "web-config-Secret-16180")
OTHER_PASSWORD = leaks.password("web_config second user's password", "second-user-Secret-27182")


def _role_vars(tmp_path, **extra):
    return dict({
        "web_config_enabled": True, "web_config_client_password": PASSWORD,
        "web_config_basic_auth_users": {"prometheus": PASSWORD, "grafana": OTHER_PASSWORD},
        "web_config_ca_dir": str(tmp_path / "ca"),
        "prometheus_config_dir": str(tmp_path / "prometheus"), "prometheus_storage_path": str(tmp_path / "data"),
        "alertmanager_config_dir": str(tmp_path / "alertmanager"), "alertmanager_webhook_url": "http://127.0.0.1:9/x",
    }, **extra)


def _files_text(root):
    return "".join(p.read_text(errors="replace") for p in root.rglob("*") if p.is_file() and p.suffix != ".key"
                   and "ca" not in p.relative_to(root).parts[:1])


def test_runs_show_no_password_and_a_second_run_changes_nothing(tmp_path):
    env = dict(project_env(), ANSIBLE_DIFF_ALWAYS="1", ANSIBLE_VERBOSITY="1")
    first = render(tmp_path, ["prometheus", "alertmanager"], _role_vars(tmp_path), env)
    second = render(tmp_path, ["prometheus", "alertmanager"], _role_vars(tmp_path), env)
    for proc in (first, second):
        out = proc.stdout + proc.stderr
        assert PASSWORD not in out and OTHER_PASSWORD not in out
    assert "changed=0" in second.stdout, second.stdout[-4000:]
    web = json.loads((tmp_path / "prometheus" / "web" / "web-config.yml").read_text())
    assert sorted(web["basic_auth_users"]) == ["grafana", "prometheus"]
    assert all(h.startswith("$2b$") for h in web["basic_auth_users"].values())
    # the password is only in Prometheus's 0640 client password file, nowhere else the run wrote
    password_file = tmp_path / "prometheus" / "web_client_password"
    assert password_file.read_text() == PASSWORD and oct(password_file.stat().st_mode & 0o777) == "0o640"
    password_file.unlink()
    written = _files_text(tmp_path / "prometheus") + _files_text(tmp_path / "alertmanager")
    assert PASSWORD not in written and OTHER_PASSWORD not in written


def _cert_files(tmp_path, days, other_key=False):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=400))
            .not_valid_after(now + datetime.timedelta(days=days)).sign(key, hashes.SHA256()))
    used_key = ec.generate_private_key(ec.SECP256R1()) if other_key else key
    paths = {n: tmp_path / ("own." + n) for n in ("crt", "key")}
    paths["crt"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(used_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    return {"web_config_tls_cert_file": str(paths["crt"]), "web_config_tls_key_file": str(paths["key"]),
            "web_config_ca_cert_file": str(paths["crt"])}


@pytest.mark.parametrize("case", ["short_password", "half_tls", "key_mismatch", "expired"])
def test_preflight_names_the_variable(tmp_path, case):
    make, expected = {
        "short_password": (lambda: {"web_config_client_password": "short-Pw1"},
                           "web_config_basic_auth_users[prometheus]: the password has 9 characters"),
        "half_tls": (lambda: {"web_config_tls_cert_file": str(tmp_path / "x.crt")}, "TLS is half configured"),
        "key_mismatch": (lambda: _cert_files(tmp_path, 30, other_key=True), "does not match web_config_tls_key_file"),
        "expired": (lambda: _cert_files(tmp_path, -1), "expired on"),
    }[case]
    extra = make()
    if case == "short_password":
        extra["web_config_basic_auth_users"] = {"prometheus": "short-Pw1"}
    proc = render(tmp_path, ["prometheus"], _role_vars(tmp_path, **extra), project_env(), check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and expected in out, out[-3000:]
    assert "Traceback" not in out and "short-Pw1" not in out.replace("web_config_client_password", "")
    assert not (tmp_path / "prometheus").exists(), "preflight must stop before any file is written"
