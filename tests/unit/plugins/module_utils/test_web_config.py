"""The web config core: bcrypt hashes kept while the password matches, new ones when it changes, and the password
checks of the preflight (never echoing a password)."""
import json

import bcrypt
import pytest

from ansible_collections.redfire.ops.plugins.module_utils.web_config import (
    WebConfigError, existing_hashes, hash_users, password_problems)

PASSWORD = "unit-test-Secret-4242"


def document(users):
    return json.dumps({"tls_server_config": {"cert_file": "/x", "key_file": "/y"}, "basic_auth_users": users})


def test_same_password_keeps_the_hash():
    first = hash_users({"prometheus": PASSWORD}, {}, rounds=4)
    assert bcrypt.checkpw(PASSWORD.encode(), first["prometheus"].encode())
    second = hash_users({"prometheus": PASSWORD}, existing_hashes(document(first)), rounds=4)
    assert second == first


def test_changed_password_and_new_user_get_new_hashes():
    first = hash_users({"prometheus": PASSWORD}, {}, rounds=4)
    changed = hash_users({"prometheus": PASSWORD + "x", "grafana": PASSWORD}, existing_hashes(document(first)), rounds=4)
    assert changed["prometheus"] != first["prometheus"]
    assert bcrypt.checkpw((PASSWORD + "x").encode(), changed["prometheus"].encode())
    assert bcrypt.checkpw(PASSWORD.encode(), changed["grafana"].encode())


@pytest.mark.parametrize("text", ["", "not json: [", "[1, 2]", json.dumps({"basic_auth_users": {"a": "plain"}}),
                                  "basic_auth_users:\n  a: notahash\n"])
def test_unusable_current_documents_give_no_hashes(text):
    assert existing_hashes(text) == {}


def test_yaml_document_is_read():
    hashed = hash_users({"a": PASSWORD}, {}, rounds=4)["a"]
    assert existing_hashes("basic_auth_users:\n  a: '%s'\n" % hashed) == {"a": hashed}


def test_password_problems_name_the_user_never_the_password():
    problems = password_problems({"prometheus": "short", "ok": PASSWORD, "bad:name": PASSWORD,
                                  "long": "x" * 73, "num": 12345678901234567}, 16)
    text = "; ".join(problems)
    assert len(problems) == 4
    assert "web_config_basic_auth_users[prometheus]" in text and "fewer than the minimum 16" in text
    assert "bad:name" in text and "72 bytes" in text and "[num]" in text
    assert "short" not in text.replace("prometheus", "")
    assert password_problems({"ok": PASSWORD}, 16) == []
    assert "mapping" in password_problems(["a"], 16)[0]


def test_bad_input_raises_named_errors():
    with pytest.raises(WebConfigError, match="web_config_bcrypt_rounds"):
        hash_users({"a": PASSWORD}, {}, rounds=2)
    with pytest.raises(WebConfigError, match="72 bytes"):
        hash_users({"a": "y" * 80}, {})
