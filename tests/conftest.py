"""Shared pytest options: `--long` runs the fuzzers with thousands of examples."""
from __future__ import annotations

import os


def pytest_addoption(parser):
    parser.addoption("--long", action="store_true",
                     help="fuzz with thousands of examples (same as TINYGRAD_LITE_FUZZ_LONG=1)")


def pytest_configure(config):
    # NOTE: hypothesis reads its example counts when a test module is imported, which happens
    # after this hook: the environment variable is how the option reaches it
    if config.getoption("--long"):
        os.environ["TINYGRAD_LITE_FUZZ_LONG"] = "1"
