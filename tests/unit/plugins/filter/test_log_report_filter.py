"""The log_report filter on real analysis results: one result, a merged list, bad input."""
from datetime import datetime

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.redfire.ops.plugins.filter.log_report import FilterModule
from ansible_collections.redfire.ops.plugins.module_utils import log_scan

log_report = FilterModule().filters()['log_report']


def _result(tmp_path, name, lines):
    path = tmp_path / name
    path.write_bytes(b''.join(lines))
    return log_scan.analyze([str(path)], hours=2, now=datetime(2024, 5, 1, 10, 0, 0))


def test_single_and_merged_reports(tmp_path):
    a = _result(tmp_path, 'a.log', [b'2024-05-01 09:00:00 ERROR DatabaseError: pool id=1\n',
                                    b'2024-05-01 09:30:00 ERROR HTTPError 502\n'])
    b = _result(tmp_path, 'b.log', [b'2024-05-01 08:30:00 ERROR DatabaseError: pool id=2\n'])
    text = log_report(a, 'en')
    assert 'Analysis range: last 2 hours\nTotal errors: 2\n' in text
    merged = log_report([a, b])
    assert u'总错误数: 3\n' in merged and u'- database_error: 2次\n' in merged
    details = merged.split(u'详细错误信息:\n')[1].split(u'\n\n')[0].splitlines()
    assert [x.split(' [')[0] for x in details] == ['- 2024-05-01 08:30:00', '- 2024-05-01 09:00:00',
                                                   '- 2024-05-01 09:30:00']
    assert u'- 2 x ERROR DatabaseError: pool id=<n> (2024-05-01 08:30:00 .. 2024-05-01 09:00:00)' in merged
    assert len(log_report([a, b], 'zh', max_details=1).split(u'详细错误信息:\n')[1].split(u'\n\n')[0].splitlines()) == 1


@pytest.mark.parametrize('value, language, text', [
    ({'x': 1}, 'zh', 'registered redfire.ops.log_analysis result'),
    ([{'x': 1}], 'zh', 'every item'),
    ({'error_counts': {}}, 'fr', 'language must be one of en, zh'),
])
def test_bad_input(value, language, text):
    with pytest.raises(AnsibleFilterError) as err:
        log_report(value, language)
    assert text in str(err.value)


def test_merged_levels_and_histogram(tmp_path):
    a = _result(tmp_path, 'a.log', [b'2024-05-01 09:00:00 ERROR DatabaseError: pool id=1\n',
                                    b'2024-05-01 09:30:00 WARN HTTPError 502\n'])
    b = _result(tmp_path, 'b.log', [b'2024-05-01 08:30:00 ERROR DatabaseError: pool id=2\n'])
    merged = log_report([a, b], 'en')
    assert 'Errors by level:\n- error: 2\n- warning: 1\n' in merged
    assert 'Errors over time (per 1h):\n  from                 database_error  api_error  total\n' \
           '  2024-05-01 08:00:00               1          0      1\n' \
           '  2024-05-01 09:00:00               1          1      2\n' in merged
    broken = dict(a, histogram={'buckets': [{'start': '2024-05-01 08:00:00', 'counts': {'x': -1}, 'total': 0}]})
    with pytest.raises(AnsibleFilterError) as err:
        log_report(broken)
    assert 'histogram.buckets[0].counts.x' in str(err.value)
