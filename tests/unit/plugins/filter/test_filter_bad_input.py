"""Every filter fails on malformed input with AnsibleFilterError naming the filter and what is wrong, never
with a raw KeyError or TypeError (issue 14). The issue's examples are rows; the sweep feeds every filter every
malformed shape of a small table."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.redfire.ops.plugins.filter.awx import FilterModule as AwxFilters
from ansible_collections.redfire.ops.plugins.filter.checklist import FilterModule as ChecklistFilters
from ansible_collections.redfire.ops.plugins.filter.health import FilterModule as HealthFilters
from ansible_collections.redfire.ops.plugins.filter.log_report import FilterModule as LogFilters
from ansible_collections.redfire.ops.plugins.filter.periodic import FilterModule as PeriodicFilters
from ansible_collections.redfire.ops.plugins.filter.report import FilterModule as ReportFilters

F = {}
for _module in (AwxFilters, ChecklistFilters, HealthFilters, LogFilters, PeriodicFilters, ReportFilters):
    F.update(_module().filters())

NAN, INF = float('nan'), float('inf')
CHECK = {'name': 'cpu', 'kind': 'cpu', 'status': 'ok', 'value': 1.0, 'unit': '%', 'warning': 80, 'critical': 95,
         'message': 'ok'}
REPORT = F['checklist_report']({'h1': [CHECK]}, 'daily_check', generated_at='2024-05-01T00:00:00+00:00')
LOG = {'error_counts': {'database_error': 1}, 'total_errors': 1, 'error_details': [],
       'top_messages': [{'message': 'm', 'count': 1, 'first_seen': '2024-05-01 00:00:00',
                         'last_seen': '2024-05-01 00:00:00'}], 'files': [], 'window': {}}


def _without(d, key):
    return dict((k, v) for k, v in d.items() if k != key)


ISSUE_EXAMPLES = [
    ('health_textfile', ([_without(CHECK, 'kind')],), {}, 'has no kind'),
    ('health_table', ([dict(CHECK, value=NAN)],), {}, 'value must be a finite number'),
    ('health_table', ([dict(CHECK, status=['ok'])],), {}, 'status must be one of'),
    ('report_html', (_without(REPORT, 'title'),), {}, 'has no title'),
    ('report_text', (_without(REPORT, 'title'),), {}, 'has no title'),
    ('report_html', (dict(REPORT, hosts=[_without(REPORT['hosts'][0], 'counts')]),), {}, 'counts'),
    ('report_text', (dict(REPORT, hosts=[_without(REPORT['hosts'][0], 'counts')]),), {}, 'counts'),
    ('log_report', (dict(LOG, top_messages=[_without(LOG['top_messages'][0], 'message')]),), {}, 'message must be'),
    ('log_report', ([dict(LOG, top_messages=[_without(LOG['top_messages'][0], 'message')])],), {}, 'message must be'),
    ('log_report', (dict(LOG, error_counts={'a': 'x'}),), {}, 'error_counts.a must be a whole number'),
    ('log_report', (dict(LOG, error_counts={'a': 1.5}),), {}, 'error_counts.a must be a whole number'),
    ('log_report', (dict(LOG, total_errors='3'),), {}, 'total_errors must be'),
    ('log_report', (LOG,), {'max_details': 'x'}, 'max_details must be'),
    ('log_report', (dict(LOG, top_messages=[dict(LOG['top_messages'][0], count=None)]),), {}, 'count must be'),
    ('checklist_report', ({'h': [CHECK]}, 'daily_check'), {'timeline': 5}, 'timeline must be a list'),
    ('checklist_report', ({'h': [CHECK]}, 'daily_check'), {'actions': 'x'}, 'actions must be a list'),
    ('checklist_report', ({'h': [CHECK]}, 'daily_check'), {'extra': [1]}, 'extra must be a dict'),
    ('checklist_report', ({'h': [CHECK]}, 'daily_check'), {'timeline': [5]}, 'timeline[0] must be'),
    ('health_status', (1, INF), {}, 'warning must be a number'),
    ('health_status', (1, 80, NAN), {}, 'critical must be a number'),
    ('health_textfile', ([CHECK],), {'timestamp': INF}, 'timestamp must be a number'),
]


@pytest.mark.parametrize('name, args, kwargs, text', ISSUE_EXAMPLES, ids=[str(i) for i in range(len(ISSUE_EXAMPLES))])
def test_issue_examples_name_what_is_wrong(name, args, kwargs, text):
    with pytest.raises(AnsibleFilterError) as err:
        F[name](*args, **kwargs)
    assert str(err.value).startswith(name + ': ') and text in str(err.value)


MALFORMED = [None, 5, NAN, 'x', b'x', [], [None], [5], [{}], [[]], {}, {'checks': 5}, {'checks': [{}]},
             {'hosts': 5, 'kind': 'x'}, {'hosts': [5], 'kind': 'x', 'title': 't', 'status': 'ok'},
             {'hosts': [{}], 'kind': 'x', 'title': 't', 'status': 'ok'}, {'error_counts': 5},
             {'error_counts': {'a': None}}, {'error_counts': {}, 'files': [5]}, {'error_counts': {}, 'window': 5},
             {'frequency': 5}, {'frequency': 'daily', 'time': 5}, [dict(CHECK, name=None, status=None)],
             [dict(CHECK, value=[1])], [dict(CHECK, warning={})], dict(REPORT, problems=[5]),
             dict(REPORT, hosts=[dict(REPORT['hosts'][0], checks=[5])])]
SECOND = {'checklist_report': ('daily_check',), 'checklist_results': (['h'],), 'prometheus_requests': (24,),
          'prometheus_checks': ([{'name': 'q', 'query': 'up'}], 24), 'alerting_check': ('id',)}


@pytest.mark.parametrize('name', sorted(F))
@pytest.mark.parametrize('value', MALFORMED, ids=[str(i) for i in range(len(MALFORMED))])
def test_no_malformed_input_gives_a_raw_exception(name, value):
    try:
        F[name](value, *SECOND.get(name, ()))
    except AnsibleFilterError as exc:
        assert str(exc).startswith(name + ': ')
