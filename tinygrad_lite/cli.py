"""The `tinygrad-lite` command.

    tinygrad-lite summary MODEL [--input-size 32,784] [--optimizer adam] [--measure]
    tinygrad-lite graph MODEL --input-size 32,784 -o graph.svg [--modules] [--backward]
    tinygrad-lite demo [--out DIR] [--epochs N] [--seed S]
    tinygrad-lite bench [tools/bench.py's options, e.g. --quick --json out.json]

MODEL is `package.module:factory` or `path/to/file.py:factory` (a callable returning a
Module, or a Module), or a file written by `tl.save(model, path)`. Each subcommand is one
`_add_<name>` function that declares its arguments and the function that runs it; a mistake
in what the user typed is one line on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import nn, optim
from .tensor import Tensor

PROG = "tinygrad-lite"
_OPTIMIZERS = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW,
               "rmsprop": optim.RMSprop, "adagrad": optim.Adagrad}
_FORMATS = {".svg": "svg", ".png": "png", ".dot": None, ".gv": None}


class CLIError(Exception):
    """A problem with what the user asked for: printed as one line, no traceback."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog=PROG, description="tinygrad_lite tools")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_summary(commands)
    _add_graph(commands)
    _add_demo(commands)
    _add_bench(commands)
    # NOTE: known args only, so that bench can pass every option on to tools/bench.py
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "bench":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.options = extra
    try:
        args.run(args)
    except CLIError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return e.status
    return 0


# --- summary --------------------------------------------------------------------------------
def _add_summary(commands: Any) -> None:
    p = commands.add_parser("summary", help="layer table and training-step memory of a model")
    _model_arguments(p, input_required=False)
    p.add_argument("--depth", type=int, default=3, help="deepest nesting shown (default 3)")
    p.add_argument("--optimizer", choices=sorted(_OPTIMIZERS),
                   help="count this optimizer's state (default options)")
    p.add_argument("--mode", choices=("train", "eval", "same"), default="train")
    p.add_argument("--measure", action="store_true",
                   help="also measure the peak with tracemalloc")
    p.set_defaults(run=_summary)


def _summary(args: argparse.Namespace) -> None:
    from .summary import summary

    model = load_model_spec(args.model)
    opt = _OPTIMIZERS[args.optimizer](model.parameters()) if args.optimizer else None
    size = parse_shape(args.input_size) if args.input_size else None
    result = _run_forward(lambda: summary(model, input_size=size, depth=args.depth,
                                          optimizer=opt, mode=args.mode,
                                          measure=args.measure), size)
    print(result)


# --- graph ----------------------------------------------------------------------------------
def _add_graph(commands: Any) -> None:
    p = commands.add_parser("graph", help="draw the computation graph of one forward pass")
    _model_arguments(p, input_required=True)
    p.add_argument("-o", "--output", default="graph.svg",
                   help="file to write: .svg, .png, or .dot/.gv for the DOT source "
                        "(default graph.svg)")
    p.add_argument("--modules", action="store_true", help="one cluster per module call")
    p.add_argument("--backward", action="store_true",
                   help="draw the graph of the outputs' sum after backward: the arrays saved "
                        "for it and each parameter's gradient shape")
    p.add_argument("--max-nodes", type=int, default=None, help="draw at most this many nodes")
    p.set_defaults(run=_graph)


def _graph(args: argparse.Namespace) -> None:
    from .summary import outputs_sum
    from .viz import RendererNotFound, draw_graph, trace_modules

    model = load_model_spec(args.model)
    size = parse_shape(args.input_size)
    suffix = os.path.splitext(args.output)[1].lower()
    if suffix not in _FORMATS:
        raise CLIError(f"-o {args.output}: the file name must end in one of "
                       f"{', '.join(_FORMATS)}")
    x = Tensor(np.zeros(size, dtype=np.float32))
    with trace_modules(model) as trace:
        out = _run_forward(lambda: model(x), size)
    if args.backward:
        out = outputs_sum(out)
        if out is None:
            raise CLIError("--backward: the model's output does not depend on any parameter")
        out.backward(retain_graph=True)  # NOTE: keeps the graph, so it can still be drawn
    try:
        names = {**dict(model.named_parameters()), "input": x}
        graph = draw_graph(out, params=names, modules=trace if args.modules else False,
                           show_saved=args.backward, show_grads=args.backward,
                           max_nodes=args.max_nodes)
    except ValueError as e:
        raise CLIError(str(e)) from None
    try:
        data = graph.source.encode() if _FORMATS[suffix] is None else graph.pipe(
            format=_FORMATS[suffix])
    except RendererNotFound as e:
        raise CLIError(str(e), status=1) from None
    with open(args.output, "wb") as f:
        f.write(data)
    print(f"wrote {args.output}")


# --- demo -----------------------------------------------------------------------------------
def _add_demo(commands: Any) -> None:
    from .demo import EPOCHS

    p = commands.add_parser("demo", help="train an MLP on spiral data and write its pictures")
    p.add_argument("--out", default="demo_out", metavar="DIR",
                   help="folder for graph.svg, training_curve.png, decision_boundary.png "
                        "(default ./demo_out)")
    p.add_argument("--epochs", type=int, default=EPOCHS, help=f"default {EPOCHS}")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(run=_demo)


def _demo(args: argparse.Namespace) -> None:
    from .demo import run_demo

    if args.epochs < 1:
        raise CLIError(f"--epochs {args.epochs}: must be at least 1")
    run_demo(args.out, epochs=args.epochs, seed=args.seed)


# --- bench ----------------------------------------------------------------------------------
BENCH = Path(__file__).resolve().parents[1] / "tools" / "bench.py"


def _add_bench(commands: Any) -> None:
    p = commands.add_parser("bench", help="run tools/bench.py (tinygrad_lite next to PyTorch, "
                                          "numpy, MyGrad, micrograd) from a source checkout; "
                                          "options go to it (see bench --help)",
                            add_help=False)
    p.set_defaults(run=_bench)


def _bench(args: argparse.Namespace) -> None:
    if not BENCH.is_file():
        raise CLIError(f"bench: {BENCH} is not here: the benchmark is a developer tool of the "
                       "source checkout (git clone, then pip install -e '.[bench]')")
    status = subprocess.call([sys.executable, str(BENCH), *args.options])
    if status:
        raise CLIError(f"bench: tools/bench.py exited with status {status}", status)


# --- shared arguments -------------------------------------------------------------------------
def _model_arguments(p: argparse.ArgumentParser, input_required: bool) -> None:
    p.add_argument("model", metavar="MODEL",
                   help="package.module:factory, path/to/file.py:factory, or a file saved "
                        "with tl.save(model, path)")
    p.add_argument("--input-size", required=input_required, metavar="N,N,...",
                   help="shape of the input batch, e.g. 32,784")


def parse_shape(text: str) -> tuple[int, ...]:
    """`"32,784"` -> (32, 784); anything else is a CLIError naming the expected form."""
    parts = text.replace(" ", "").split(",")
    if not all(part.isdigit() and int(part) > 0 for part in parts):
        raise CLIError(f"--input-size {text!r}: expected positive integers separated by "
                       "commas, e.g. 32,784")
    return tuple(int(part) for part in parts)


def load_model_spec(spec: str) -> nn.Module:
    """The Module that MODEL names (see the module docstring)."""
    if os.path.isfile(spec):
        if spec.endswith(".py"):
            raise CLIError(f"MODEL {spec!r}: name the factory too, e.g. {spec}:make_model")
        from .serialization import load_model

        try:
            return load_model(spec)
        except (ValueError, OSError) as e:
            raise CLIError(f"MODEL {spec!r}: {e}") from None
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name.isidentifier():
        raise CLIError(f"MODEL {spec!r}: expected package.module:factory, "
                       "path/to/file.py:factory, or an existing file saved with tl.save")
    module = _import(where, spec)
    factory = getattr(module, name, None)
    if factory is None:
        raise CLIError(f"MODEL {spec!r}: {where} has no attribute {name!r}")
    model = factory if isinstance(factory, nn.Module) else _call(factory, spec)
    if not isinstance(model, nn.Module):
        raise CLIError(f"MODEL {spec!r}: {name} returned {type(model).__name__}, not a Module")
    return model


def _import(where: str, spec: str) -> Any:
    try:
        if where.endswith(".py"):
            if not os.path.isfile(where):
                raise CLIError(f"MODEL {spec!r}: no such file {where}")
            module_spec = importlib.util.spec_from_file_location(
                os.path.splitext(os.path.basename(where))[0], where)
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
            return module
        if os.getcwd() not in sys.path:  # NOTE: as `python -m` does, so local modules import
            sys.path.insert(0, os.getcwd())
        return importlib.import_module(where)
    except CLIError:
        raise
    except Exception as e:  # noqa: BLE001  the user's module failed: say how, in one line
        raise CLIError(f"MODEL {spec!r}: importing {where} failed: "
                       f"{type(e).__name__}: {e}") from None


def _call(factory: Any, spec: str) -> Any:
    if not callable(factory):
        raise CLIError(f"MODEL {spec!r}: {type(factory).__name__} is neither a Module nor "
                       "callable")
    try:
        return factory()
    except Exception as e:  # noqa: BLE001
        raise CLIError(f"MODEL {spec!r}: calling the factory failed: "
                       f"{type(e).__name__}: {e}") from None


def _run_forward(run: Callable[[], Any], size: tuple | None) -> Any:
    """`run()`, with a forward that rejects the input (its shape, mostly) reported as one line."""
    try:
        return run()
    except (RuntimeError, ValueError, TypeError, IndexError) as e:
        where = f"on an input of shape {size}" if size else "without an input"
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CLIError(f"running the model {where} failed: {reason}") from None


if __name__ == "__main__":
    sys.exit(main())
