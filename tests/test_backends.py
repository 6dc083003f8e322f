"""The suite runs on the default backend; this runs the op and nn suites once more on the other
one, so both backends keep whole-suite coverage from the one test command."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import tinygrad_lite as tl

TESTS = Path(__file__).parent
SUITES = ["test_ops.py", "test_autograd.py", "test_properties.py", "test_nn_layers.py",
          "test_nn_losses.py", "test_nn_module.py", "test_optim.py", "test_errors.py"]


def test_op_and_nn_suites_pass_on_the_other_backend():
    other = "numpy" if tl.get_backend() == "numba" else "numba"
    env = dict(os.environ, TINYGRAD_LITE_BACKEND=other)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
         *[str(TESTS / name) for name in SUITES]],
        env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1]
