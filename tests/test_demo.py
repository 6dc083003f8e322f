"""`tinygrad-lite demo`: trains the spiral MLP past the accuracy bar and writes its pictures."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_lite.cli import main

ROOT = Path(__file__).resolve().parent.parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_demo_writes_pictures_to_demo_out_and_reaches_the_accuracy_bar(tmp_path):
    pytest.importorskip("matplotlib")
    # NOTE: one BLAS thread: the demo's matrices are small, so a second OpenBLAS thread only
    # spins (PERF-NOTES.md), and on a busy machine that costs several times the run
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-m", "tinygrad_lite.cli", "demo"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "Total params: 17,283" in out  # the summary: 2-128-128-3
    assert "Dropout" in out
    train_accuracy = float(re.search(r"training accuracy (\d\.\d+)", out).group(1))
    assert train_accuracy >= 0.9
    assert "1500/1500" in result.stderr  # the progress bar
    folder = tmp_path / "demo_out"
    for name in ("graph.svg", "training_curve.png", "decision_boundary.png"):
        assert f"wrote {folder.name}/{name}" in out
    svg = (folder / "graph.svg").read_text()
    assert "<svg" in svg and "fc1.weight" in svg and "fc2: Linear" in svg and "loss" in svg
    for name in ("training_curve.png", "decision_boundary.png"):
        assert (folder / name).read_bytes()[:8] == PNG_MAGIC


def test_demo_out_option_and_epochs_are_honoured(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    folder = tmp_path / "nested" / "pictures"
    assert main(["demo", "--out", str(folder), "--epochs", "3"]) == 0
    assert "Trained 3 epochs" in capsys.readouterr().out
    assert sorted(p.name for p in folder.iterdir()) == [
        "decision_boundary.png", "graph.svg", "training_curve.png"]


def test_demo_rejects_a_non_positive_epoch_count(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--epochs", "0"]) == 2
    assert "--epochs 0: must be at least 1" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
