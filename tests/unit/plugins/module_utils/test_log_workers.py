# -*- coding: utf-8 -*-
"""Worker processes of the log scan (module_utils/log_workers.py)."""
import pytest

from ansible_collections.redfire.ops.plugins.module_utils import log_workers


def _square_or_fail(x):
    if x == 3:
        raise OSError(13, 'Permission denied', '/var/log/x')
    return x * x


def test_workers_return_in_order_and_report_errors(monkeypatch):
    assert log_workers.in_parallel(_square_or_fail, [(1,), (2,), (4,)]) == [1, 4, 16]
    with pytest.raises(OSError) as err:
        log_workers.in_parallel(_square_or_fail, [(1,), (3,), (4,)])
    assert err.value.errno == 13 and err.value.filename == '/var/log/x'

    def no_fork():
        raise OSError(11, 'Resource temporarily unavailable')
    monkeypatch.setattr(log_workers.os, 'fork', no_fork)  # no process to spare: the shares run here
    assert log_workers.in_parallel(_square_or_fail, [(1,), (2,), (5,)]) == [1, 4, 25]
