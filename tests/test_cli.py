"""Tests for the `tinygrad-lite` command: both commands end to end, and bad input."""
from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tinygrad_lite import nn
from tinygrad_lite.cli import main
from tinygrad_lite.serialization import save

ROOT = Path(__file__).resolve().parents[1]
FACTORY = """
from tinygrad_lite import nn


def mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10))


def broken():
    raise ValueError("no weights here")


def not_a_model():
    return 42
"""


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A folder with a factory module `models.py`, as the current directory."""
    (tmp_path / "models.py").write_text(FACTORY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("models", None)
    yield tmp_path
    sys.modules.pop("models", None)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(cwd)])}
    return subprocess.run([sys.executable, "-m", "tinygrad_lite.cli", *args], cwd=cwd, check=False,
                          env=env, capture_output=True, text=True, timeout=120)


def test_summary_command_end_to_end(workdir):
    proc = run_cli("summary", "models:mlp", "--input-size", "32,784", "--optimizer", "adam",
                   cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "├─Linear: 1-1" in proc.stdout and "Total params: 235,146" in proc.stdout
    assert "Optimizer state (Adam):" in proc.stdout and "940.58 kB" in proc.stdout


def test_graph_command_end_to_end_writes_svg_with_module_clusters(workdir):
    proc = run_cli("graph", "models:mlp", "--input-size", "32,784", "-o", "g.svg", "--modules",
                   "--backward", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    text = "".join(ET.parse(workdir / "g.svg").getroot().itertext())
    for expected in ("0: Linear", "2: Dropout", "0.weight", "grad (256, 784)", "input"):
        assert expected in text


def test_graph_png_and_dot_outputs_and_a_saved_model_file(workdir, capsys):
    save(nn.Sequential(nn.Linear(3, 4), nn.Tanh()), workdir / "model.npz")
    assert main(["graph", "model.npz", "--input-size", "2,3", "-o", "g.png"]) == 0
    assert (workdir / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["graph", "models.py:mlp", "--input-size", "1,784", "-o", "g.dot"]) == 0
    assert (workdir / "g.dot").read_text().startswith("digraph {")
    assert main(["summary", "model.npz"]) == 0
    assert "└─Tanh: 1-2" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["summary", "models:nope"], "models has no attribute 'nope'"),
    (["summary", "models:broken"], "calling the factory failed: ValueError: no weights"),
    (["summary", "models:not_a_model"], "not_a_model returned int, not a Module"),
    (["summary", "nosuchmodule:mlp"], "No module named 'nosuchmodule'"),
    (["summary", "missing.py:mlp"], "no such file missing.py"),
    (["summary", "models.py"], "name the factory too"),
    (["summary", "just-words"], "expected package.module:factory"),
    (["summary", "models:mlp", "--input-size", "32,x"], "expected positive integers"),
    (["summary", "models:mlp", "--input-size", "32,0"], "expected positive integers"),
    (["summary", "models:mlp", "--input-size", "32,100"], "expected input with last dim"),
    (["graph", "models:mlp", "--input-size", "2,784", "-o", "g.pdf"], "must end in one of"),
])
def test_bad_input_is_one_line_on_stderr_with_status_2(workdir, capsys, args, message):
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and message in err
    assert err.startswith("tinygrad-lite: error: ")


def test_bad_input_in_a_real_process_has_no_traceback(workdir):
    proc = run_cli("graph", "models:mlp", "--input-size", "32,100", cwd=workdir)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert not (workdir / "graph.svg").exists()


def test_bench_command_passes_its_options_on_to_tools_bench(capfd):
    assert main(["bench", "--help"]) == 0
    assert "--quick" in capfd.readouterr().out  # tools/bench.py's own help
    assert main(["bench", "--suites", "no_such_suite"]) != 0


def test_bench_command_outside_a_source_checkout_says_where_the_benchmark_lives(
        monkeypatch, capsys):
    from tinygrad_lite import cli

    monkeypatch.setattr(cli, "BENCH", Path("/nonexistent/tools/bench.py"))
    assert main(["bench"]) == 2
    assert "source checkout" in capsys.readouterr().err


def test_other_commands_still_refuse_unknown_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--bogus"])
    assert exit_info.value.code == 2 and "--bogus" in capsys.readouterr().err
