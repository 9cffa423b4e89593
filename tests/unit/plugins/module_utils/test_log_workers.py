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


def test_a_blank_line_at_a_block_end_is_no_continuation_for_workers_or_one_reader(tmp_path):
    """Found by the property test: a blank line that ends a block was a continuation line for the workers only."""
    from ansible_collections.redfire.ops.plugins.module_utils import log_scan
    path = tmp_path / "app.log"
    path.write_bytes(b"DatabaseError DatabaseError DatabaseError\n2024-05-01 00:00:00 \n\nDatabaseError\n")
    details = [log_scan.analyze([str(path)], since="2024-05-01 00:00:00", until="2024-05-01 00:00:00", seek=False,
                                order_tolerance=0, include_rotated=False, block_size=64, probe_size=32, workers=workers,
                                parallel_min_bytes=0)["error_details"] for workers in (1, 3)]
    assert details[0] == details[1]
    assert [d["continuation"] for d in details[0]] == [["DatabaseError"]]
