# -*- coding: utf-8 -*-
"""Readers of the log scan (module_utils/log_readers.py)."""
import pytest

from ansible_collections.redfire.ops.plugins.module_utils import log_readers


def test_gzip_reader_thread_passes_errors_and_stops_early():
    def failing():
        yield b'one\n'
        raise OSError(5, 'Input/output error')
    with log_readers.ReadAhead(failing()) as blocks:
        it = iter(blocks)
        assert next(it) == b'one\n'
        with pytest.raises(OSError):
            next(it)

    def endless():
        while True:
            yield b'x\n'
    with log_readers.ReadAhead(endless(), depth=2) as blocks:
        assert next(iter(blocks)) == b'x\n'
    assert not blocks._thread.is_alive()
