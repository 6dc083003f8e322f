"""tools/bench.py and tools/numpy_mlp.py: the quick run produces its tables, JSON and chart,
and the contenders it times compute the same thing from the same weights. No timing is
asserted: timings belong to the benchmark, not to the tests."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import bench  # noqa: E402  (tools/ is not a package)
from numpy_mlp import NumpyMLP  # noqa: E402

F32 = np.float32
SUITES = ("mlp_step", "mlp_infer", "per_op", "chain", "tiny_mlp")
LIBS = {"pytorch": bench.torch_lib, "tl-numba": bench.TL_NUMBA, "tl-numpy": bench.TL_NUMPY,
        "mygrad": bench.mygrad_lib, "micrograd": bench.micrograd_lib}
MODULE_LIBS = ("pytorch", "tl-numba", "tl-numpy")


def _lib(name: str, modules: bool = False) -> bench.Lib:
    """The framework behind contender ``name``, or a skip saying why it cannot run
    (``modules``: its nn, functional and optim are needed too)."""
    if name == "pytorch":
        pytest.importorskip("torch")
    elif name.startswith("tl-"):
        pytest.importorskip("tinygrad_lite")
    try:
        lib = LIBS[name]()
    except bench.Unavailable as exc:
        pytest.skip(str(exc))
    if modules and name in MODULE_LIBS and lib.nn is None:
        pytest.skip(f"{name}: nn, nn.functional or optim not importable")
    lib.activate()
    return lib


@pytest.fixture(scope="module")
def seed_case() -> bench.Case:
    """The seed MLP on 64 samples with dropout off: every implementation must agree."""
    X, y = bench.make_data(64, bench.SEED_SIZES[0], bench.SEED_SIZES[-1])
    return bench.Case("64", X, y, weights=bench.make_weights(bench.SEED_SIZES),
                      dropout=(0.0, 0.0))


def _reference_net(case: bench.Case) -> NumpyMLP:
    sizes = [case.weights[0][0].shape[1]] + [W.shape[0] for W, _ in case.weights]
    net = NumpyMLP(sizes, dropout=case.dropout)
    net.load_weights(case.weights)
    return net


def _reference_loss(case: bench.Case) -> float:
    net = _reference_net(case)
    return net.loss_and_grad(net.forward(case.X), case.y)[0]


# --- the command --------------------------------------------------------------------------


def test_quick_run_prints_tables_and_writes_json_and_png(tmp_path):
    out_json, out_png = tmp_path / "bench.json", tmp_path / "bench.png"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "bench.py"), "--quick",
         "--json", str(out_json), "--png", str(out_png)],
        check=False, capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = proc.stdout
    assert ("| case | pytorch | tl-numba | tl-numpy | tl-jit | numpy-mlp | mygrad | gemm-floor |"
            in table)
    assert "ratio to numpy-mlp / gemm-floor" in table
    assert "threads:" in table

    data = json.loads(out_json.read_text())
    assert set(data) == {"meta", "suites"}
    assert {"versions", "blas", "rounds", "batches", "quick"} <= set(data["meta"])
    assert data["meta"]["quick"] is True
    assert set(data["suites"]) == set(SUITES)
    for key, suite in data["suites"].items():
        assert suite["unit"] == "s" and suite["cases"], key
        for label, contenders in suite["cases"].items():
            for name, entry in contenders.items():
                assert entry["status"] in {"ok", "failed", "skipped"}, (key, label, name)
                if entry["status"] == "ok":
                    assert entry["median_s"] > 0 and len(entry["samples_s"]) == 3
                else:
                    assert entry["median_s"] is None and entry["detail"]
    step = data["suites"]["mlp_step"]["cases"]["32"]
    assert {"pytorch", "tl-numba", "tl-numpy", "numpy-mlp", "mygrad", "gemm-floor"} <= set(step)
    assert step["numpy-mlp"]["status"] == step["gemm-floor"]["status"] == "ok"
    if _importable("matplotlib"):
        assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _importable(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


# --- the numpy network on its own ---------------------------------------------------------


def test_numpy_mlp_keeps_float32_everywhere():
    net = NumpyMLP(seed=0)
    X, y = bench.make_data(16, 784, 10)
    logits = net.forward(X, train=True)
    assert logits.dtype == F32 and all(m.dtype == F32 for m in net._masks)
    loss, dlogits = net.loss_and_grad(logits, y)
    assert isinstance(loss, float) and dlogits.dtype == F32
    net.backward(dlogits)
    assert all(dW.dtype == F32 and db.dtype == F32 for dW, db in net.grads)
    net.sgd(0.1)
    assert all(W.dtype == F32 and b.dtype == F32 for W, b in net.params)
    assert net.forward(X.astype(np.float64)).dtype == F32


def test_numpy_mlp_dropout_mask_is_inverted_with_the_right_keep_rate():
    net = NumpyMLP(sizes=(50, 4000, 4000, 3), dropout=(0.5, 0.3), seed=1)
    X, _ = bench.make_data(8, 50, 3)
    net.forward(X, train=True)
    for mask, p in zip(net._masks, net.dropout):
        assert set(np.unique(mask)) <= {F32(0), F32(1 / (1 - p))}
    # mask 0 also where ReLU is off, so compare the kept fraction among the live units
    z1 = X @ net.params[0][0] + net.params[0][1]
    kept = (net._masks[0] > 0)[z1 > 0].mean()
    assert abs(kept - 0.5) < 0.01


def test_numpy_mlp_gradient_matches_a_central_difference():
    net = NumpyMLP(sizes=(6, 5, 4, 3), dropout=(0.0, 0.0), seed=2)
    X, y = bench.make_data(7, 6, 3)
    net.backward(net.loss_and_grad(net.forward(X, train=True), y)[1])
    rng = np.random.default_rng(3)
    directions = [(rng.standard_normal(W.shape).astype(F32), rng.standard_normal(b.shape)
                   .astype(F32)) for W, b in net.params]
    predicted = sum(float((dW * u).sum() + (db * v).sum())
                    for (dW, db), (u, v) in zip(net.grads, directions))
    base = [(W.copy(), b.copy()) for W, b in net.params]

    def loss_at(t: float) -> float:
        net.params = [(W + F32(t) * u, b + F32(t) * v) for (W, b), (u, v) in zip(base, directions)]
        return net.loss_and_grad(net.forward(X), y)[0]

    eps = 1e-2
    numeric = (loss_at(eps) - loss_at(-eps)) / (2 * eps)
    assert numeric == pytest.approx(predicted, rel=2e-2, abs=1e-3)


def test_numpy_mlp_load_and_get_weights_round_trip_in_torch_layout():
    weights = bench.make_weights(bench.SEED_SIZES)
    net = NumpyMLP()
    net.load_weights(weights)
    assert [W.shape for W, _ in net.params] == [(784, 256), (256, 128), (128, 10)]
    for (W, b), (W2, b2) in zip(weights, net.get_weights()):
        np.testing.assert_array_equal(W, W2)
        np.testing.assert_array_equal(b, b2)
    with pytest.raises(ValueError):
        net.load_weights([(W.T, b) for W, b in weights])


# --- the contenders agree -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["pytorch", "tl-numba", "tl-numpy", "mygrad"])
def test_contender_first_training_loss_matches_numpy_mlp(name, seed_case):
    lib = _lib(name, modules=True)
    maker = bench.module_mlp if name in MODULE_LIBS else bench.mygrad_mlp
    step = maker(lib, seed_case)
    assert step() == pytest.approx(_reference_loss(seed_case), rel=1e-5)


@pytest.mark.parametrize("name", ["pytorch", "tl-numba", "tl-numpy", "mygrad"])
def test_contender_eval_logits_match_numpy_mlp_with_dropout_configured(name, seed_case):
    case = bench.Case("64", seed_case.X, seed_case.y, weights=seed_case.weights,
                      dropout=bench.SEED_DROPOUT, train=False)
    lib = _lib(name, modules=True)
    maker = bench.module_mlp if name in MODULE_LIBS else bench.mygrad_mlp
    logits = maker(lib, case)()
    assert logits.dtype == F32
    expected = bench.numpy_mlp(bench.numpy_lib(), case)()
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-5)


def test_jitted_contender_trains_and_predicts_like_the_eager_one(seed_case):
    """TinyJit replays from the fourth call: five steps cover recording and replay."""
    lib = _lib("tl-numba", modules=True)
    eager, jitted = bench.module_mlp(lib, seed_case), bench.module_mlp(lib, seed_case, jit=True)
    assert [jitted() for _ in range(5)] == pytest.approx([eager() for _ in range(5)], rel=1e-6)
    case = bench.Case("64", seed_case.X, seed_case.y, weights=seed_case.weights,
                      dropout=bench.SEED_DROPOUT, train=False)
    forward = bench.module_mlp(lib, case, jit=True)
    expected = bench.numpy_mlp(bench.numpy_lib(), case)()
    for _ in range(5):
        np.testing.assert_allclose(forward(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", MODULE_LIBS)
def test_one_sgd_step_gives_the_numpy_mlp_weights(name, seed_case):
    lib = _lib(name, modules=True)
    lr = 0.1
    model = bench.build_mlp(lib, seed_case.weights, seed_case.dropout)
    opt = lib.optim.SGD(model.parameters(), lr=lr)
    opt.zero_grad()
    loss = lib.F.cross_entropy(model(lib.tensor(seed_case.X)), lib.tensor(seed_case.y))
    loss.backward()
    opt.step()
    linears = [m for m in model.modules() if isinstance(m, lib.nn.Linear)]
    got = [(lib.to_numpy(m.weight), lib.to_numpy(m.bias)) for m in linears]

    net = _reference_net(seed_case)
    net.step(seed_case.X, seed_case.y, lr)
    for (W, b), (W_ref, b_ref), (W0, _) in zip(got, net.get_weights(), seed_case.weights):
        assert W.dtype == F32
        assert np.abs(W_ref - W0).max() > 1e-4          # the step really moved the weights
        np.testing.assert_allclose(W, W_ref, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(b, b_ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["pytorch", "tl-numba", "tl-numpy", "micrograd"])
def test_tiny_mlp_first_loss_matches_numpy(name):
    X, y = bench.make_data(1, bench.TINY_SIZES[0], bench.TINY_SIZES[-1])
    case = bench.Case("1", X, y, weights=bench.make_weights(bench.TINY_SIZES),
                      dropout=(0.0,), loss="mse")
    lib = _lib(name, modules=True)
    maker = bench.micrograd_mlp if name == "micrograd" else bench.module_mlp
    logits = _reference_net(case).forward(X)
    expected = float(np.mean((logits - bench.one_hot(y, bench.TINY_SIZES[-1])) ** 2))
    assert maker(lib, case)() == pytest.approx(expected, rel=1e-5)


def test_gemm_floor_and_weight_grad_special_case_agree_with_matmul():
    from numpy_mlp import weight_grad

    rng = np.random.default_rng(0)
    x, d = rng.random((1, 7), dtype=F32), rng.random((1, 3), dtype=F32)
    np.testing.assert_allclose(weight_grad(x, d), x.T @ d, rtol=1e-6)
    assert weight_grad(x, d).dtype == F32
    X, y = bench.make_data(4, 784, 10)
    case = bench.Case("4", X, y, weights=bench.make_weights(bench.SEED_SIZES))
    assert bench.gemm_floor(bench.numpy_lib(), case)() is None


def test_timing_when_no_contender_runs_reports_each_failure():
    def broken():
        raise ImportError("not installed here")
    entries = [("a", broken, bench._nothing), ("b", broken, bench._nothing)]
    timings = bench.time_interleaved(entries, rounds=3, warmup_s=0.0, settle_s=0.0,
                                     min_sample_s=0.0)
    assert {name: (t.status, t.median_s) for name, t in timings.items()} == {
        "a": ("failed", None), "b": ("failed", None)}
    assert "not installed here" in timings["a"].detail


def test_bench_numba_names_its_sections_when_asked_for_an_unknown_one():
    done = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "bench_numba.py"),
                           "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert "unknown section(s): --help; choose from chain small parallel mlp start" in done.stderr


def test_gemm_ceiling_runs_and_its_kernel_computes_x_at_w_transposed():
    """tools/gemm_ceiling.py checks its numba kernel against numpy before timing it; a short
    run (one batch size) must get through every row."""
    out = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gemm_ceiling.py"),
                          "--batches", "32"],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    assert "| 32 |" in out and "numba parallel, then layer 2 in OpenBLAS" in out
