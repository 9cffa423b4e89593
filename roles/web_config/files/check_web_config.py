# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks a web config file (as redfire.ops.web_config writes it) before it replaces the live one:
known keys only, bcrypt hashes, and a certificate that loads with its key (and the client CA), as the
services' exporter-toolkit will load them. Standard library only; exit 1 with the reason."""
from __future__ import absolute_import, division, print_function

import json
import re
import ssl
import sys

KNOWN = {
    'tls_server_config': ('cert_file', 'key_file', 'client_auth_type', 'client_ca_file', 'min_version'),
    'basic_auth_users': None,
    'http_server_config': ('http2', 'headers'),
}
BCRYPT = re.compile(r'^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$')


def check(path):
    with open(path) as handle:
        document = json.load(handle)
    if not isinstance(document, dict):
        raise ValueError('not a mapping')
    for key, value in document.items():
        if key not in KNOWN:
            raise ValueError('unknown key %s' % key)
        allowed = KNOWN[key]
        if allowed is not None:
            unknown = sorted(set(value) - set(allowed))
            if unknown:
                raise ValueError('unknown keys in %s: %s' % (key, ', '.join(unknown)))
    for name, hashed in (document.get('basic_auth_users') or {}).items():
        if not BCRYPT.match(str(hashed)):
            raise ValueError('basic_auth_users.%s is not a bcrypt hash' % name)
    tls = document.get('tls_server_config')
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls['cert_file'], tls['key_file'])
        if tls.get('client_ca_file'):
            context.load_verify_locations(tls['client_ca_file'])


def main():
    try:
        check(sys.argv[1])
    except (OSError, ValueError, KeyError, TypeError, ssl.SSLError) as exc:
        sys.stderr.write('web config %s refused: %s\n' % (sys.argv[1], exc))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
