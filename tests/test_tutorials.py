"""Every tutorial runs end to end in fast mode, as a script, and shows what it says it shows.

Each tutorial asserts its own claims as it runs; these tests run it in a subprocess (fresh
interpreter, temporary working folder, TINYGRAD_LITE_FAST=1, MPLBACKEND=Agg) and also parse
its key numbers from what it prints and check the pictures it writes.
"""
import gzip
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = ROOT / "tutorials"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_tutorial(name: str, cwd: Path, **env_overrides: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "TINYGRAD_LITE_MNIST_ROOT"}
    # NOTE: one BLAS thread: the tutorials' matrices are small, so a second OpenBLAS thread
    # only spins (PERF-NOTES.md), and on a busy machine that costs several times the run
    env.update(TINYGRAD_LITE_FAST="1", MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    env.update(env_overrides)
    result = subprocess.run([sys.executable, str(TUTORIALS / name)], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (f"{name} failed:\n{result.stdout[-3000:]}\n"
                                    f"{result.stderr[-3000:]}")
    return result.stdout


def number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, f"no line matching {pattern!r} in the output:\n{text[-2000:]}"
    return float(match.group(1).replace(",", ""))


def assert_pictures(folder: Path, *names: str) -> None:
    for name in names:
        data = (folder / name).read_bytes()
        if name.endswith(".png"):
            assert data[:8] == PNG_MAGIC, name
        else:
            assert b"<svg" in data, name


needs_sklearn = pytest.mark.skipif(importlib.util.find_spec("sklearn") is None,
                                   reason="the digits data set needs scikit-learn")


def test_every_tutorial_is_a_numbered_percent_format_notebook_with_its_claims_stated():
    names = sorted(p.name for p in TUTORIALS.glob("*.py"))
    assert len(names) >= 7
    assert [n[:3] for n in names] == [f"{i:02d}_" for i in range(1, len(names) + 1)]
    this_file = Path(__file__).read_text()
    for name in names:
        assert f'"{name}"' in this_file, f"{name} has no end-to-end test here"
        text = (TUTORIALS / name).read_text()
        assert "#     formats: py:percent" in text, name
        first_cell = text.split("# %%\n")[0]
        assert "# %% [markdown]" in first_cell and "**What you should see**" in first_cell, name
        for line in text.splitlines():
            assert len(line) < 100, f"{name}: line over 99 characters: {line!r}"


def test_tutorial_01_autograd_gradcheck_and_symmetry(tmp_path):
    out = run_tutorial("01_tensors_and_autograd.py", tmp_path)
    assert "neuron passes gradcheck: True" in out
    assert "BuggyCube passes gradcheck: False" in out
    assert number(r"zeros init: loss (\d\.\d+)", out) == pytest.approx(0.693, abs=1e-3)
    assert number(r"all equal init: .* weights (\d\.\d+)", out) == 0.0
    assert_pictures(tmp_path, "01_neuron_graph.svg")


def test_tutorial_02_layers_softmax_gradient_dropout_and_counts(tmp_path):
    out = run_tutorial("02_layers_from_ops.py", tmp_path)
    assert number(r"Jacobian vs simple: +(\S+)", out) < 1e-12
    assert number(r"kept (\d\.\d+) of a million", out) == pytest.approx(0.5, abs=0.005)
    assert "total: 235,146 parameters, 940,584 bytes" in out
    assert "saved mask: dtype bool, 1,000,000 bytes" in out
    assert_pictures(tmp_path, "02_dense_graph.svg")


def test_tutorial_03_spiral_accuracy_above_0_9(tmp_path):
    out = run_tutorial("03_spiral_classification.py", tmp_path)
    assert number(r"2 classes: training accuracy (\d\.\d+)", out) > 0.9
    assert number(r"3 classes: training accuracy (\d\.\d+)", out) > 0.9
    assert_pictures(tmp_path, "03_two_class_boundary.png", "03_three_class_curves.png",
                    "03_three_class_boundary.png")


@needs_sklearn
def test_tutorial_04_digits_test_accuracy_above_0_95(tmp_path):
    out = run_tutorial("04_mnist_mlp.py", tmp_path)
    assert "Total params: 50,826" in out  # 64-256-128-10
    assert number(r"8x8 digits test accuracy: (\d\.\d+)", out) > 0.95
    assert_pictures(tmp_path, "04_training_curves.png", "04_predictions.png")


def write_fake_mnist(folder: Path) -> None:
    """MNIST-format IDX files made from the 8x8 digits (each pixel 3x3, padded to 28x28)."""
    from sklearn.datasets import load_digits

    images, labels = load_digits(return_X_y=True)
    big = np.kron(images.reshape(-1, 8, 8), np.ones((3, 3)))
    big = np.pad(big, ((0, 0), (2, 2), (2, 2))) / 16 * 255
    folder.mkdir()
    for prefix, rows in (("train", slice(0, 1500)), ("t10k", slice(1500, None))):
        pixels, targets = big[rows].astype(np.uint8), labels[rows].astype(np.uint8)
        header = (2051).to_bytes(4, "big") + b"".join(
            n.to_bytes(4, "big") for n in pixels.shape)
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(
            gzip.compress(header + pixels.tobytes()))
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(
            (2049).to_bytes(4, "big") + len(targets).to_bytes(4, "big") + targets.tobytes())


@needs_sklearn
def test_tutorial_04_uses_mnist_files_when_they_are_there(tmp_path):
    write_fake_mnist(tmp_path / "mnist")
    out = run_tutorial("04_mnist_mlp.py", tmp_path,
                       TINYGRAD_LITE_MNIST_ROOT=str(tmp_path / "mnist"))
    assert "MNIST: 1350 training, 150 validation, 297 test images of 784 pixels" in out
    assert "Total params: 235,146" in out
    assert re.search(r"MNIST test accuracy: \d\.\d+", out)


def test_tutorial_05_graphs_and_memory_estimate_within_10_percent(tmp_path):
    out = run_tutorial("05_seeing_inside.py", tmp_path)
    assert "Total params: 235,146" in out
    ratios = [float(r) for r in re.findall(r"^ +\d+ .* (\d\.\d{3})$", out, re.MULTILINE)]
    assert len(ratios) == 3 and all(0.9 < r < 1.1 for r in ratios)
    assert "difference 61,440 = masks 12,288 + outputs 49,152" in out
    assert_pictures(tmp_path, "05_ops_graph.svg", "05_saved_for_backward.svg",
                    "05_module_graph.svg")
    assert "fc1: Linear" in (tmp_path / "05_module_graph.svg").read_text()


def test_tutorial_06_fused_kernel_matches_numpy(tmp_path):
    if importlib.util.find_spec("tinygrad_lite.debug") is None:
        pytest.skip("tinygrad_lite.debug is missing: no numba backend to show kernels from")
    pytest.importorskip("numba")
    out = run_tutorial("06_under_the_hood_numba.py", tmp_path)
    assert "def kernel" in out and "mul, add, relu, sigmoid" in out
    assert number(r"largest difference from numpy: (\S+)", out) < 1e-6
    assert re.search(r"numba backend \(one fused kernel\): +\d+\.\d+ ms", out)
    assert "same loss and same updated weights on both backends" in out


@needs_sklearn
def test_tutorial_07_init_scales_and_regularisers(tmp_path):
    out = run_tutorial("07_init_and_regularisation.py", tmp_path)
    assert number(r"He: loss per epoch .* test accuracy (\d\.\d+)", out) > 0.9
    assert number(r"too small: loss per epoch .* test accuracy (\d\.\d+)", out) < 0.2
    l1_tiny = number(r"L1 2e-4 +\S+ +\S+ +(\d+\.\d)%", out)
    none_tiny = number(r"none +\S+ +\S+ +(\d+\.\d)%", out)
    assert l1_tiny > 10 * none_tiny
    assert_pictures(tmp_path, "07_activation_scale.png", "07_weight_histograms.png")
