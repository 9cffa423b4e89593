# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""web_config_users: bcrypt hashes of basic-auth users that keep the current hash while the password is the same."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # pragma: no cover - only without Ansible
    AnsibleFilterError = ValueError

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


class FilterModule(object):
    def filters(self):
        return {'web_config_users': web_config_users, 'web_config_password_problems': web_config_password_problems}
