"""The README's first example runs as written (it is the first code a new user copies)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_first_look_example_runs_and_draws_its_graph(tmp_path):
    text = README.read_text(encoding="utf-8")
    code = text.split("## A first look", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    (tmp_path / "first_look.py").write_text(code, encoding="utf-8")
    run = subprocess.run([sys.executable, "first_look.py"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "[ 8., 12.]" in run.stdout and "Total mult-adds" in run.stdout
    assert (tmp_path / "step.svg").read_text(encoding="utf-8").lstrip().startswith("<")
