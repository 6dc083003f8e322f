"""Shared pytest options and fixtures: `--long` runs the fuzzers with thousands of examples;
`backend` runs a test once per backend."""
from __future__ import annotations

import os

import pytest

import tinygrad_lite as tl


def pytest_addoption(parser):
    parser.addoption("--long", action="store_true",
                     help="fuzz with thousands of examples (same as TINYGRAD_LITE_FUZZ_LONG=1)")


def pytest_configure(config):
    # NOTE: hypothesis reads its example counts when a test module is imported, which happens
    # after this hook: the environment variable is how the option reaches it
    if config.getoption("--long"):
        os.environ["TINYGRAD_LITE_FUZZ_LONG"] = "1"


@pytest.fixture(params=["numpy", "numba"])
def backend(request):
    """Run the test on each backend, restoring the active one afterwards."""
    before = tl.get_backend()
    tl.set_backend(request.param)
    try:
        yield request.param
    finally:
        tl.set_backend(before)
