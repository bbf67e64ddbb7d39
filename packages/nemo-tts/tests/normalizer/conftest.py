"""Fixtures of the text normalizer's tests."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture
def nemo_log(caplog):
    """``caplog`` that also sees ``nemo.utils.logging`` records (the ``nemo`` logger does not propagate)."""
    logger = logging.getLogger("nemo")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)
