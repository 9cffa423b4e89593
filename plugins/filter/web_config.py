# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""web_config_users: bcrypt hashes of basic-auth users that keep the current hash while the password is the same;
web_config_password_problems: what is wrong with them; rulebook_webhook_tls: a rulebook whose webhook serves TLS."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # pragma: no cover - only without Ansible
    AnsibleFilterError = ValueError

import yaml

from ansible_collections.redfire.ops.plugins.module_utils.web_config import (
    WebConfigError, existing_hashes, hash_users, password_problems)


def web_config_users(users, current_document='', rounds=10):
    """users (name -> password) -> name -> bcrypt hash; current_document is the web config now on the host."""
    try:
        return hash_users(users, existing_hashes(current_document or ''), rounds=int(rounds))
    except (WebConfigError, TypeError, ValueError) as exc:
        raise AnsibleFilterError('web_config_users: %s' % exc)


def web_config_password_problems(users, min_length=16, variable='web_config_basic_auth_users'):
    """Messages naming each user whose name or password is not acceptable (never the password); [] when all are."""
    try:
        return password_problems(users, int(min_length), variable)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError('web_config_password_problems: %s' % exc)


# eda.builtin.webhook turns TLS on whenever its args hold a certfile, so the shipped rulebook (plain, for users
# whose EDA controller terminates TLS) cannot carry an empty one: the rulebook role renders a copy with the paths.
WEBHOOK_SOURCES = ('eda.builtin.webhook', 'ansible.eda.webhook')
TLS_ARGS = ('certfile', 'keyfile', 'cafile', 'capath', 'password')


def rulebook_webhook_tls(rulebook, certfile, keyfile, cafile='', source='rulebook'):
    """The rulebook (YAML text) as YAML text whose every webhook source serves TLS with certfile and keyfile and,
    with cafile, requires client certificates signed by it. Rules and everything else stay as they are."""
    try:
        rulesets = yaml.safe_load(rulebook)
    except yaml.YAMLError as exc:
        raise AnsibleFilterError('rulebook_webhook_tls: %s is not YAML: %s' % (source, exc))
    if not isinstance(rulesets, list) or not all(isinstance(r, dict) for r in rulesets):
        raise AnsibleFilterError('rulebook_webhook_tls: %s is not a rulebook (a list of rulesets)' % source)
    for name, value in (('certfile', certfile), ('keyfile', keyfile), ('cafile', cafile)):
        if not isinstance(value, str) or (name != 'cafile' and not value):
            raise AnsibleFilterError('rulebook_webhook_tls: %s must be a path, got %r' % (name, value))
    webhooks = 0
    for ruleset in rulesets:
        for entry in ruleset.get('sources') or []:
            for plugin in WEBHOOK_SOURCES:
                if isinstance(entry, dict) and plugin in entry:
                    args = entry[plugin] if isinstance(entry[plugin], dict) else {}
                    present = [a for a in TLS_ARGS if a in args]
                    if present:
                        raise AnsibleFilterError(
                            'rulebook_webhook_tls: the webhook of ruleset %r in %s sets %s itself; remove them, or '
                            'run it without the role\'s TLS (web_config_enabled: false)'
                            % (ruleset.get('name'), source, ', '.join(present)))
                    tls = {'certfile': certfile, 'keyfile': keyfile}
                    if cafile:
                        tls['cafile'] = cafile
                    entry[plugin] = dict(args, **tls)
                    webhooks += 1
    if not webhooks:
        raise AnsibleFilterError('rulebook_webhook_tls: %s has no webhook source (%s) to serve TLS'
                                 % (source, ' or '.join(WEBHOOK_SOURCES)))
    return ('# Rendered by redfire.ops.rulebook from %s: its webhook serves TLS. Do not edit.\n' % source
            + yaml.safe_dump(rulesets, sort_keys=False, allow_unicode=True, width=120))


class FilterModule(object):
    def filters(self):
        return {'web_config_users': web_config_users, 'web_config_password_problems': web_config_password_problems,
                'rulebook_webhook_tls': rulebook_webhook_tls}
