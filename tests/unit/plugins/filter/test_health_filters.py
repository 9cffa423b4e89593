"""Filters health_status, health_table, health_textfile."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.redfire.ops.plugins.filter.health import FilterModule

F = FilterModule().filters()

CHECKS = [
    {'name': 'cpu', 'kind': 'cpu', 'status': 'ok', 'value': 12.5, 'unit': '%', 'warning': 80.0, 'critical': 95.0,
     'message': 'cpu usage 12.5%', 'duration_ms': 100.0},
    {'name': 'service:nginx', 'kind': 'service', 'status': 'critical', 'value': 0, 'unit': '', 'warning': None,
     'critical': None, 'message': 'unit nginx.service not found', 'duration_ms': 3.0},
    {'name': 'disk:/', 'kind': 'disk', 'status': 'warning', 'value': 91.0, 'unit': '%', 'warning': 90.0,
     'critical': 95.0, 'message': '/ used 91% > warning 90%', 'duration_ms': 0.2},
]


def test_health_status():
    assert F['health_status'](85.2, 80, 95) == 'warning'
    assert F['health_status'](5, 14, 3, lower_is_worse=True) == 'warning'
    assert F['health_status'](None, 80, 95) == 'unknown'
    with pytest.raises(AnsibleFilterError, match='warning must be a number'):
        F['health_status'](1, 'x', 95)


def test_health_table_worst_first_and_only_problems():
    lines = F['health_table']({'checks': CHECKS}).splitlines()
    assert lines[0].split() == ['NAME', 'STATUS', 'VALUE', 'WARNING', 'CRITICAL', 'MESSAGE']
    assert [line.split()[0] for line in lines[1:]] == ['service:nginx', 'disk:/', 'cpu']
    assert lines[2].split()[:5] == ['disk:/', 'warning', '91%', '90%', '95%']
    assert len(set(line.index('STATUS') if 'STATUS' in line else lines[0].index('STATUS') for line in lines)) == 1
    assert [line.split()[0] for line in F['health_table'](CHECKS, only_problems=True).splitlines()[1:]] == [
        'service:nginx', 'disk:/']
    with pytest.raises(AnsibleFilterError, match='item 0 is not a health check result'):
        F['health_table']([{'foo': 1}])
    with pytest.raises(AnsibleFilterError, match='input must be the checks list'):
        F['health_table']('text')


def test_health_textfile():
    text = F['health_textfile'](CHECKS, timestamp=1700000000)
    assert 'redfire_health_check_status{check="service:nginx",kind="service"} 2' in text
    assert 'redfire_health_check_value{check="disk:/",kind="disk",unit="%"} 91.0' in text
    assert 'redfire_health_check_overall_status 2' in text
    assert text.endswith('redfire_health_check_last_run_timestamp_seconds 1700000000\n')
    with pytest.raises(AnsibleFilterError, match='timestamp must be a number'):
        F['health_textfile'](CHECKS, timestamp='now')
