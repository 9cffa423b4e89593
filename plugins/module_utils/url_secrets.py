# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credentials inside URLs and DSNs (``user:pass@``, query values, ``password=``): found and masked, so that check
names, messages and textfile labels never carry them. Pure Python, no Ansible imports."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

try:
    from urllib.parse import unquote
except ImportError:  # pragma: no cover - Python 2 is not supported by this collection
    from urllib import unquote  # type: ignore

# userinfo of a URL (scheme://user:pass@host), query values (?token=...&k=v) and DSN key=value secrets
_USERINFO = re.compile(r'([A-Za-z][A-Za-z0-9+.-]*://)([^/?#@\s]*)@')
_QUERY_VALUE = re.compile(r'([?&;][^=&#\s]+=)[^&#\s]*')
_QUERY_VALUE_CAPTURE = re.compile(r'([?&;][^=&#\s]+=)([^&#\s]*)')
_DSN_SECRET = re.compile(r'(\b(?:password|passwd|pwd|token|secret|sslpassword|api_?key)\s*=\s*)[^\s&]+', re.I)
_DSN_SECRET_CAPTURE = re.compile(r'(\b(?:password|passwd|pwd|token|secret|sslpassword|api_?key)\s*=\s*)([^\s&]+)',
                                 re.I)


def mask_url(text):
    """``text`` with the secrets a URL or DSN may hold masked: the password of ``user:pass@`` (the whole userinfo
    of ``token@``) and every query value, so names, messages and textfile labels never carry them."""
    text = str(text)
    if '://' in text or '@' in text or '?' in text or '=' in text:
        text = _USERINFO.sub(_mask_userinfo, text)
        text = _QUERY_VALUE.sub(r'\1***', text)
        text = _DSN_SECRET.sub(r'\1***', text)
    return text


def _mask_userinfo(m):
    user, sep, _password = m.group(2).partition(':')
    return m.group(1) + (user + ':***' if sep else '***') + '@'


def mask_secrets(text, *sources):
    """``text`` with the secrets of the URLs or DSNs ``sources`` (their passwords and query values, also
    percent-decoded) replaced, and every URL in it masked (see mask_url)."""
    text = str(text)
    for source in sources:
        for secret in _secrets_of(source):
            text = text.replace(secret, '***')
    return mask_url(text)


def option_secrets(params):
    """The credentials held in the URLs and DSNs of module-style parameters (http[].url, network_targets[].address,
    postgresql[].host, redis[].host), for Ansible's no_log masking."""
    found = set()
    for option, key in (('http', 'url'), ('network_targets', 'address'), ('postgresql', 'host'), ('redis', 'host')):
        for item in (params or {}).get(option) or []:
            if isinstance(item, dict) and isinstance(item.get(key), str):
                found.update(_secrets_of(item[key], min_query=6))
    return found


def _secrets_of(source, min_query=3):
    """Passwords, lone userinfo tokens, DSN secrets and query values (those of at least ``min_query``
    characters: Ansible masks a no_log value wherever it appears, and a short one such as json would hide
    unrelated text) of ``source``, also percent-decoded, longest first."""
    if not source:
        return []
    source = str(source)
    found = []
    for m in _USERINFO.finditer(source):
        user, sep, password = m.group(2).partition(':')
        found.append(password if sep else user)
    found.extend(m.group(2) for m in _QUERY_VALUE_CAPTURE.finditer(source) if len(m.group(2)) >= min_query)
    found.extend(m.group(2) for m in _DSN_SECRET_CAPTURE.finditer(source))
    out = []
    for secret in found:
        if len(secret) >= 3:  # shorter ones would mask unrelated text
            out.extend([secret, unquote(secret)])
    return sorted(set(out), key=len, reverse=True)
