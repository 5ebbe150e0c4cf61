"""Memory is indexed in threads of lower CPU priority than the worker's other threads."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from activities.memory import BACKGROUND_NICENESS, background_executor


def niceness_of_this_thread() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread niceness is Linux's")
def test_index_threads_run_below_the_workers_priority() -> None:
    here = niceness_of_this_thread()
    there = background_executor().submit(niceness_of_this_thread).result(timeout=10)
    assert there == min(19, here + BACKGROUND_NICENESS)
    assert niceness_of_this_thread() == here  # the rest of the process keeps its priority
