# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a scheduled checklist run leaves behind: the run's summary for set_stats (checklist_run_summary), its
metrics for the Pushgateway (checklist_metrics, pushgateway_last_success) and the report store's index and
retention (report_store_index). The cores are in module_utils/checklist_run.py; the store's index page is rendered by
the report renderer (redfire.ops.report_index_html)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.redfire.ops.plugins.module_utils import checklist_run
from ansible_collections.redfire.ops.plugins.module_utils.filter_input import guarded

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # pragma: no cover - only without Ansible
    AnsibleFilterError = ValueError


def _as_filter_error(func):
    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ValueError as exc:  # the cores' errors name the filter and the option
            if isinstance(exc, AnsibleFilterError):
                raise
            raise AnsibleFilterError(str(exc))
    run.__name__ = func.__name__
    run.__doc__ = func.__doc__
    return run


def checklist_run_summary(report, files=None, url='', started=None):
    """The run's summary (status, per-host status, counts, where the report is) for set_stats."""
    return checklist_run.summary(report, files, url, started)


def checklist_metrics(report, started=None, previous_success=None, labels=None):
    """The run's checklist metrics as text exposition for a PUT to the Pushgateway."""
    return checklist_run.metrics(report, started, previous_success, labels)


def pushgateway_last_success(groups, job='redfire_checklist', checklist='daily_check'):
    """The last-success time a Pushgateway holds for a checklist (None: none)."""
    return checklist_run.last_success(groups, job, checklist)


def report_store_index(index, report, files, now=None, max_age_days=90, max_count=100):
    """The store's index after adding this run, and the runs retention removes."""
    entry = checklist_run.store_entry(report, files)
    return checklist_run.store_plan(index, entry, report['generated_at'] if now is None else now,
                                    max_age_days, max_count)


class FilterModule(object):
    def filters(self):
        return dict((name, guarded(name, _as_filter_error(func), AnsibleFilterError)) for name, func in (
            ('checklist_run_summary', checklist_run_summary), ('checklist_metrics', checklist_metrics),
            ('pushgateway_last_success', pushgateway_last_success), ('report_store_index', report_store_index)))
