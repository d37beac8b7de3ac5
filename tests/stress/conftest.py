"""The multi-process tests' fork server: the processes they start (and kill) are forked from one that imported
deskterm once (forkserver.py), without a second of imports each."""

from __future__ import annotations

import pytest
from forkserver import ForkServer


@pytest.fixture
def forks(tmp_path):
    server = ForkServer(tmp_path)
    yield server
    server.close()
