# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The web configuration of the Prometheus projects (``--web.config.file``): basic-auth users with bcrypt hashes
that stay the same while the password does, and the checks of the passwords. Pure Python, no Ansible imports;
runs on the controller (the filter ``redfire.ops.web_config_users``)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

# bcrypt (OpenBSD, $2a$/$2b$/$2y$) as exporter-toolkit reads it.
_BCRYPT_HASH = re.compile(r'^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$')
# bcrypt uses the first 72 bytes only (bcrypt 4.1+ refuses longer passwords): longer is an error, not a silent cut.
BCRYPT_MAX_BYTES = 72
# A user name of the web config: no colon (basic auth separates user and password with it), printable.
_USER_NAME = re.compile(r'^[A-Za-z0-9_.@-]{1,64}$')


class WebConfigError(ValueError):
    """Bad input, with a message that names the variable and what to change."""


def password_problems(users, min_length, variable='web_config_basic_auth_users'):
    """Messages for the users whose name or password is not acceptable (empty list: all fine).
    Never includes a password, only names and lengths."""
    problems = []
    if not isinstance(users, dict):
        return ['%s must be a mapping of user name to password (got a %s)' % (variable, type(users).__name__)]
    for name in sorted(users, key=str):
        password = users[name]
        if not isinstance(name, str) or not _USER_NAME.match(name):
            problems.append('%s: user name %r must be 1-64 of A-Z a-z 0-9 _ . @ -' % (variable, name))
            continue
        if not isinstance(password, str):
            problems.append('%s[%s]: the password must be a string (from a Vault-encrypted variable)' % (variable, name))
            continue
        if len(password) < min_length:
            problems.append('%s[%s]: the password has %d characters, fewer than the minimum %d '
                            '(web_config_password_min_length)' % (variable, name, len(password), min_length))
        if len(password.encode('utf-8')) > BCRYPT_MAX_BYTES:
            problems.append('%s[%s]: the password has more than %d bytes, which bcrypt cannot hash'
                            % (variable, name, BCRYPT_MAX_BYTES))
    return problems


def existing_hashes(document_text):
    """The basic_auth_users of a web config file as it is on the host (JSON, as the role writes it, or YAML).
    An unreadable or empty document gives no hashes (every password is hashed anew)."""
    if not document_text or not document_text.strip():
        return {}
    try:
        document = json.loads(document_text)
    except ValueError:
        try:
            import yaml  # controller side: PyYAML comes with ansible-core
            document = yaml.safe_load(document_text)
        except Exception:  # pylint: disable=broad-except
            return {}
    if not isinstance(document, dict) or not isinstance(document.get('basic_auth_users'), dict):
        return {}
    return dict((str(k), v) for k, v in document['basic_auth_users'].items()
                if isinstance(v, str) and _BCRYPT_HASH.match(v))


def _bcrypt():
    try:
        import bcrypt  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise WebConfigError('web_config_users needs the Python library bcrypt on the controller '
                             '(pip install bcrypt, or python3-bcrypt from the distribution)')
    return bcrypt


def hash_users(users, current_hashes, rounds=10):
    """user -> bcrypt hash. A user whose current hash matches the password keeps it (a second run changes
    nothing); a new user or a changed password gets a new hash with a random salt."""
    problems = password_problems(users, 0)
    if problems:
        raise WebConfigError('; '.join(problems))
    if not isinstance(rounds, int) or not 4 <= rounds <= 31:
        raise WebConfigError('web_config_bcrypt_rounds must be an integer from 4 to 31 (got %r)' % (rounds,))
    bcrypt = _bcrypt()
    result = {}
    for name in sorted(users):
        password = users[name].encode('utf-8')
        current = (current_hashes or {}).get(name)
        if current and _BCRYPT_HASH.match(current) and bcrypt.checkpw(password, current.encode('ascii')):
            result[name] = current
        else:
            result[name] = bcrypt.hashpw(password, bcrypt.gensalt(rounds=rounds)).decode('ascii')
    return result
