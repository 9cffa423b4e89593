# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.redfire.ops.plugins.filter import report
from ansible_collections.redfire.ops.plugins.module_utils import check_result as cr
from ansible_collections.redfire.ops.plugins.module_utils import health_checks as hc


def test_severity_order_is_ok_warning_unknown_critical():
    assert cr.worst([]) == 'ok'
    assert cr.worst(['ok', 'warning']) == 'warning'
    assert cr.worst(['warning', 'unknown', 'ok']) == 'unknown'
    assert cr.worst(['unknown', 'critical', 'warning']) == 'critical'


def test_an_unknown_word_counts_as_unknown():
    assert cr.worst(['ok', 'bogus']) == 'unknown'
    assert cr.worst(['critical', None]) == 'critical'
    assert cr.normalize_status('weird') == 'unknown'
    assert cr.severity('weird') == cr.severity('unknown')


def test_worst_first_sorts_by_severity_then_name():
    rows = [{'name': 'b', 'status': 'ok'}, {'name': 'a', 'status': 'critical'}, {'name': 'c', 'status': 'unknown'},
            {'name': 'a2', 'status': 'ok'}]
    assert [r['name'] for r in cr.worst_first(rows)] == ['a', 'c', 'a2', 'b']


def test_result_has_every_key_and_optional_details():
    out = cr.result('sshd:permitrootlogin', 'sshd', 'critical', 'yes', message='root login allowed',
                    reason='policy_violation', details={'file': '/etc/ssh/sshd_config.d/x.conf'})
    assert out == {'name': 'sshd:permitrootlogin', 'kind': 'sshd', 'status': 'critical', 'value': 'yes', 'unit': '',
                   'warning': None, 'critical': None, 'message': 'root login allowed', 'reason': 'policy_violation',
                   'details': {'file': '/etc/ssh/sshd_config.d/x.conf'}}
    timed = cr.result('cpu', 'cpu', 'ok', 1.0, '%', duration=0.5)
    assert timed['duration_ms'] == 500.0 and 'details' not in timed and timed['reason'] is None


def test_result_refuses_a_status_outside_the_model():
    with pytest.raises(ValueError, match='status must be one of'):
        cr.result('x', 'x', 'fine')


def test_health_checks_and_report_use_the_one_model():
    assert hc.worst is cr.worst and report.worst is cr.worst
    assert hc.SEVERITY is cr.SEVERITY and report.SEVERITY is cr.SEVERITY
    assert tuple(report.STATUSES) == cr.BY_SEVERITY


def test_service_reason_is_machine_readable():
    assert hc.service_reason({'LoadState': 'not-found', 'ActiveState': 'inactive'}) == 'unit_not_found'
    assert hc.service_reason({'LoadState': 'loaded', 'ActiveState': 'active'}) == 'active'
    assert hc.service_reason({'LoadState': 'loaded', 'ActiveState': 'failed'}) == 'unit_failed'
    assert hc.service_reason({'LoadState': 'masked', 'ActiveState': 'inactive'}) == 'unit_masked'
    assert hc.service_reason({'LoadState': 'bad-setting'}) == 'unit_bad_setting'
