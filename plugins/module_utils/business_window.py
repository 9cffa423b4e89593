# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The business window of the daily and periodic checks (交易量, 成功率, 风险指标, 用户活跃度; docs/metrics_contract.md):
Prometheus's answers to the window's instant queries turned into check results (the health check result model),
one per series: the status from the value and the query's thresholds, and the message.

Pure Python (no Ansible imports): the filter redfire.ops.business_window wraps :func:`window_checks`."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
from collections import namedtuple

from ansible_collections.redfire.ops.plugins.module_utils import health_checks

KIND = 'business'

# One query of the window: its Prometheus answer (HTTP status, decoded JSON body) or the error of the request.
Answer = namedtuple('Answer', ['spec', 'http_status', 'body', 'error'])


class SpecError(ValueError):
    """A query spec that cannot be judged; ``str(exc)`` names the query and the field."""


def _number_or_none(spec, key):
    value = spec.get(key)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float('nan')
    if isinstance(value, bool) or not math.isfinite(number):
        raise SpecError('business query %r: %s must be a number or null, got %r' % (spec.get('name'), key, value))
    return number


def check_spec(spec):
    """The spec with its thresholds as floats; SpecError on a spec without name or query or with bad thresholds."""
    if not isinstance(spec, dict):
        raise SpecError('a business query must be a mapping with name and query, got %r' % (spec,))
    for key in ('name', 'query'):
        if not isinstance(spec.get(key), str) or not spec[key].strip():
            raise SpecError('business query %r: %s must be a non-empty string' % (spec.get('name'), key))
    checked = dict(spec, warning=_number_or_none(spec, 'warning'), critical=_number_or_none(spec, 'critical'))
    checked['lower_is_worse'] = bool(spec.get('lower_is_worse', False))
    checked['unit'] = str(spec.get('unit') or '')
    return checked


def _fmt(value):
    return ('%.4f' % value).rstrip('0').rstrip('.') if value != int(value) else '%d' % value


def _message(spec, who, window, value, status):
    subject = '%s%s over %s' % (spec.get('title') or spec['name'], (' of %s' % who) if who else '', window)
    shown = '%s%s' % (_fmt(value), spec['unit'])
    if status in ('warning', 'critical'):
        op = '<' if spec['lower_is_worse'] else '>'
        return '%s: %s %s %s %s%s' % (subject, shown, op, status, _fmt(spec[status]), spec['unit'])
    return '%s: %s' % (subject, shown)


def _series_checks(spec, window, series):
    out = []
    label = spec.get('label') or 'job'
    for item in series:
        who = (item.get('metric') or {}).get(label, '')
        name = spec['name'] + ((':' + who) if who else '')
        try:
            value = float(item['value'][1])
        except (KeyError, IndexError, TypeError, ValueError):
            value = float('nan')
        if not math.isfinite(value):
            out.append(health_checks.result(
                name, KIND, 'unknown', None, spec['unit'], spec['warning'], spec['critical'],
                '%s over %s: not a number (%s; nothing to divide by in the window?)'
                % (spec.get('title') or spec['name'], window, item.get('value', ['', '?'])[-1])))
            continue
        status = health_checks.status_of(value, spec['warning'], spec['critical'], lower_is_worse=spec['lower_is_worse'])
        out.append(health_checks.result(name, KIND, status, round(value, 4), spec['unit'], spec['warning'],
                                        spec['critical'], _message(spec, who, window, value, status)))
    return out


def window_checks(answers, window):
    """Check results of the business window from the answers (Answer records), worst first within a query."""
    checks = []
    for answer in answers:
        spec = check_spec(answer.spec)
        body = answer.body if isinstance(answer.body, dict) else {}
        if answer.http_status != 200 or body.get('status') != 'success':
            why = body.get('error') or answer.error or 'no answer'
            checks.append(health_checks.result(
                spec['name'], KIND, 'unknown', None, spec['unit'], spec['warning'], spec['critical'],
                'Prometheus query failed (HTTP %s): %s' % (answer.http_status if answer.http_status else '-', why)))
            continue
        series = (body.get('data') or {}).get('result') or []
        if not series:
            checks.append(health_checks.result(
                spec['name'], KIND, 'unknown', None, spec['unit'], spec['warning'], spec['critical'],
                'no data over %s for %s (does the application export the metrics of docs/metrics_contract.md?)'
                % (window, spec['query'])))
            continue
        checks.extend(sorted(_series_checks(spec, window, series),
                             key=lambda c: (-health_checks.SEVERITY.get(c['status'], 2), c['name'])))
    return checks
