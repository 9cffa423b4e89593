# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""business_window: the business window of the daily and periodic checks as check results, from the registered
answers of ansible.builtin.uri to Prometheus's instant query API (core: module_utils/business_window.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.redfire.ops.plugins.module_utils import business_window as core
from ansible_collections.redfire.ops.plugins.module_utils.filter_input import guarded


def business_window(answers, window):
    """Check results of each query's series; the query spec is each answer's loop item."""
    if isinstance(answers, dict) and 'results' in answers:
        answers = answers['results']
    if not isinstance(answers, (list, tuple)):
        raise AnsibleFilterError('business_window: input must be the registered result of an ansible.builtin.uri '
                                 'loop over the business queries, got %s' % type(answers).__name__)
    if not isinstance(window, str) or not window.strip():
        raise AnsibleFilterError('business_window: window must be a Prometheus duration such as 24h, got %r' % (window,))
    records = []
    for i, answer in enumerate(answers):
        if not isinstance(answer, dict) or 'item' not in answer:
            raise AnsibleFilterError('business_window: answer %d is not a loop result (no item, the query spec)' % i)
        status = answer.get('status')
        records.append(core.Answer(answer['item'], status if isinstance(status, int) else None,
                                   answer.get('json'), str(answer.get('msg') or '')))
    try:
        return core.window_checks(records, window)
    except core.SpecError as exc:
        raise AnsibleFilterError('business_window: %s' % exc)


class FilterModule(object):
    def filters(self):
        return {'business_window': guarded('business_window', business_window, AnsibleFilterError)}
