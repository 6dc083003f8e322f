"""Errors that teach: every common misuse raises a message that says what happened and how to
fix it. The catalogue asserts each message exactly, on both backends (they must word it alike).
"""
from __future__ import annotations

import io
import pickle
import warnings

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn, optim
from tinygrad_lite.serialization import load, save


class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(784, 256), nn.Linear(256, 10)

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())


class Block(nn.Module):
    """A user's module whose own code (not a library layer) makes the shape error."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(tl.ones(3, 4))

    def forward(self, x):
        return x @ self.w


def _mlp_with_wrong_fc2():
    model = MLP()
    model.fc2 = nn.Linear(128, 10)
    return model(tl.zeros(2, 784))


def _backward_twice():
    loss = (tl.ones(3, requires_grad=True) * 2).sum()
    loss.backward()
    loss.backward()


def _modify_saved_then_backward():
    w = tl.ones(3, requires_grad=True)
    loss = (w * w).sum()
    with tl.no_grad():
        w.mul_(2)  # e.g. an optimizer step taken between forward and backward
    loss.backward()


def _optimizer_on_a_used_generator():
    params = nn.Linear(2, 2).parameters()
    list(params)
    optim.SGD(params, lr=0.1)


def _load(state):
    nn.Sequential(nn.Linear(2, 3)).load_state_dict(state)


GOOD = {"0.weight": np.zeros((3, 2)), "0.bias": np.zeros(3)}
BROADCAST_HINT = ("(counting dims from the right, sizes must match or be 1); reshape one "
                  "operand, e.g. with .unsqueeze()")
LOSS_SHAPES = ("differ; they would broadcast into a wrong loss. Reshape one of them "
               "(e.g. target.view(-1, 1) or input.squeeze(1))")
LINEAR_784 = "Linear(in_features=784, out_features=256): expected input with last dimension 784"
EMPTY = ("optimizer got an empty parameter list; pass the parameters of a model that has some "
         "(model.parameters() is a generator: it is empty the second time it is read)")
LOAD_ERRORS = "Error(s) in loading state_dict for Sequential:\n\t"
LOAD_HINT = ("\nNothing was loaded. Build the model with the checkpoint's layers and sizes, or "
             "pass strict=False to skip missing and unexpected keys.")

# (id, misuse, exception type, the exact message)
CATALOGUE = [
    ("matmul inner dims", lambda: tl.ones(2, 3) @ tl.ones(4, 5), RuntimeError,
     "matmul: (2, 3) @ (4, 5): inner dimensions 3 and 4 differ (the left operand's last dim "
     "must equal the right one's second-to-last dim); transpose or reshape an operand, e.g. b.T"),
    ("matmul with a vector", lambda: tl.ones(2, 3) @ tl.ones(4), RuntimeError,
     "matmul: (2, 3) @ (4,): inner dimensions 3 and 4 differ (the left operand's last dim "
     "must equal the right one's first dim); transpose or reshape an operand, e.g. b.T"),
    ("broadcasting", lambda: tl.ones(2, 3) + tl.ones(4), RuntimeError,
     f"add: shapes (2, 3) and (4,) do not broadcast: at dim -1 the sizes 3 and 4 differ "
     f"{BROADCAST_HINT}"),
    ("broadcasting, inner dim", lambda: tl.ones(8, 3, 1) * tl.ones(2, 5), RuntimeError,
     f"mul: shapes (8, 3, 1) and (2, 5) do not broadcast: at dim -2 the sizes 3 and 2 differ "
     f"{BROADCAST_HINT}"),
    ("Linear called alone", lambda: nn.Linear(784, 256)(tl.zeros(32, 100)), RuntimeError,
     f"{LINEAR_784}, got shape (32, 100)"),
    ("Linear inside a model", lambda: MLP()(tl.zeros(32, 100)), RuntimeError,
     f"MLP.fc1: {LINEAR_784}, got shape (32, 100)"),
    ("second Linear inside a model", _mlp_with_wrong_fc2, RuntimeError,
     "MLP.fc2: Linear(in_features=128, out_features=10): expected input with last dimension "
     "128, got shape (2, 256)"),
    ("Linear inside Sequential", lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 10))(
        tl.zeros(2, 1, 28, 27)), RuntimeError,
     "Sequential.1: Linear(in_features=784, out_features=10): expected input with last "
     "dimension 784, got shape (2, 756)"),
    ("Linear nested two deep", lambda: nn.Sequential(nn.Sequential(nn.Linear(3, 4)))(
        tl.zeros(2, 5)), RuntimeError,
     "Sequential.0.0: Linear(in_features=3, out_features=4): expected input with last "
     "dimension 3, got shape (2, 5)"),
    ("op inside a user's module", lambda: nn.Sequential(nn.Linear(2, 2), Block())(
        tl.zeros(1, 2)), RuntimeError,
     "Sequential.1: matmul: (1, 2) @ (3, 4): inner dimensions 2 and 3 differ (the left "
     "operand's last dim must equal the right one's second-to-last dim); transpose or reshape "
     "an operand, e.g. b.T"),
    ("mse_loss shapes", lambda: F.mse_loss(tl.ones(3, 2), tl.ones(3)), RuntimeError,
     "mse_loss: input shape (3, 2) and target shape (3,) do not broadcast; give the target the "
     "input's shape"),
    ("L1Loss shapes", lambda: nn.L1Loss()(tl.ones(3), tl.ones(2, 2)), RuntimeError,
     "l1_loss: input shape (3,) and target shape (2, 2) do not broadcast; give the target the "
     "input's shape"),
    ("binary_cross_entropy shapes", lambda: F.binary_cross_entropy(
        tl.full((4, 1), 0.5), tl.ones(4)), ValueError,
     f"binary_cross_entropy: input shape (4, 1) and target shape (4,) {LOSS_SHAPES}"),
    ("binary_cross_entropy given logits", lambda: F.binary_cross_entropy(
        tl.tensor([-1.0, 2.0]), tl.tensor([0.0, 1.0])), RuntimeError,
     "binary_cross_entropy: input must be probabilities in [0, 1], got values from -1 to 2; "
     "for raw logits use binary_cross_entropy_with_logits"),
    ("cross_entropy target shape", lambda: F.cross_entropy(
        tl.ones(4, 3), tl.zeros(5, dtype=tl.int64)), ValueError,
     "cross_entropy: target shape (5,) does not fit input shape (4, 3); expected (4,) "
     "(one label per row)"),
    ("cross_entropy float labels", lambda: F.cross_entropy(tl.ones(4, 3), tl.zeros(4)),
     RuntimeError,
     "cross_entropy: class labels must be an integer tensor, got float32 of shape (4,); "
     "convert them with .long() (float targets are class probabilities and need the input's "
     "shape (4, 3))"),
    ("nll_loss float labels", lambda: F.nll_loss(tl.ones(4, 3), tl.zeros(4)), RuntimeError,
     "nll_loss: class labels must be an integer tensor, got float32; convert them with .long()"),
    ("cross_entropy label too big", lambda: F.cross_entropy(
        tl.ones(4, 3), tl.tensor([0, 1, 2, 3])), IndexError,
     "cross_entropy: label 3 is out of range for 3 classes (labels must be in [0, 3)); make "
     "the last layer output one score per class, or map the labels to 0..2"),
    ("NLLLoss negative label", lambda: nn.NLLLoss()(tl.ones(4, 3), tl.tensor([0, -1, 2, 1])),
     IndexError,
     "nll_loss: label -1 is out of range for 3 classes (labels must be in [0, 3)); make the "
     "last layer output one score per class, or map the labels to 0..2"),
    ("backward twice", _backward_twice, RuntimeError,
     "backward: the graph through Sum was already freed by an earlier backward(); call "
     "backward(retain_graph=True) the first time if you need to go through the graph twice"),
    ("backward of a non-scalar", lambda: (tl.ones(3, requires_grad=True) * 2).backward(),
     RuntimeError,
     "backward: grad can be implicitly created only for a scalar output, got shape (3,); "
     "reduce it first (e.g. loss.sum().backward()) or pass gradient="),
    ("backward without requires_grad", lambda: tl.ones(3).sum().backward(), RuntimeError,
     "backward: this tensor does not require grad and has no grad_fn; did you forget "
     "requires_grad=True on an input, or compute it under no_grad()?"),
    ("retain_grad without requires_grad", lambda: tl.ones(3).sum().retain_grad(), RuntimeError,
     "retain_grad: this tensor does not require grad, so backward() never reaches it; make an "
     "input requires_grad=True first"),
    ("in-place change of a saved tensor", _modify_saved_then_backward, RuntimeError,
     "backward: a value of shape (3,) that Mul saved for its gradient was modified in place "
     "after it was used (through its tensor, a slice or view of it, or a detach()). Use an "
     "out-of-place op (x = x * 2, not x.mul_(2)) or .clone() it first"),
    ("in-place on a leaf in grad mode", lambda: tl.ones(3, requires_grad=True).add_(1),
     RuntimeError,
     "add_: a leaf tensor that requires grad cannot be changed in place while grad mode is on; "
     "wrap the update in `with tl.no_grad():`"),
    ("optimizer without parameters", lambda: optim.SGD([], lr=0.1), ValueError, EMPTY),
    ("optimizer on a used-up generator", _optimizer_on_a_used_generator, ValueError, EMPTY),
    ("optimizer on a non-leaf", lambda: optim.SGD([tl.ones(2, requires_grad=True) * 2], lr=1),
     ValueError,
     "can't optimize a non-leaf Tensor (shape (2,), made by Mul); optimize the leaf it was "
     "computed from, or .detach().requires_grad_() it first"),
    ("load_state_dict missing key", lambda: _load({"0.weight": np.zeros((3, 2))}),
     RuntimeError, LOAD_ERRORS + 'Missing key(s) in state_dict: "0.bias".' + LOAD_HINT),
    ("load_state_dict unexpected key", lambda: _load({**GOOD, "1.weight": np.zeros(1)}),
     RuntimeError, LOAD_ERRORS + 'Unexpected key(s) in state_dict: "1.weight".' + LOAD_HINT),
    ("load_state_dict wrong shape", lambda: _load({**GOOD, "0.bias": np.zeros(4)}),
     RuntimeError,
     LOAD_ERRORS + "size mismatch for 0.bias: copying a param with shape (4,) from "
     "checkpoint, the shape in current model is (3,)." + LOAD_HINT),
    ("load of a pickle", lambda: load(io.BytesIO(pickle.dumps({"a": 1}))), ValueError,
     "load: the file object is not a tinygrad_lite checkpoint: it is a pickle; tinygrad_lite "
     "never unpickles (code in a pickle runs when it is loaded)"),
    ("save of a function", lambda: save({"f": print}, io.BytesIO()), TypeError,
     "save: cannot save the builtin_function_or_method at key ['f']; save Tensors, numpy "
     "arrays, numbers, strings, None, and dicts, lists and tuples of them"),
]


@pytest.mark.parametrize("misuse, error, message", [c[1:] for c in CATALOGUE],
                         ids=[c[0] for c in CATALOGUE])
def test_misuse_raises_this_exact_message(backend, misuse, error, message):
    with pytest.raises(error) as info:
        misuse()
    assert type(info.value) is error
    assert str(info.value) == message


def test_reading_grad_of_a_non_leaf_warns_and_says_to_retain_it(backend):
    x = tl.ones(2, requires_grad=True)
    y = x * 2
    y.sum().backward()
    with pytest.warns(UserWarning) as record:
        assert y.grad is None
    assert [str(w.message) for w in record] == [
        "grad: this tensor is not a leaf (it was made by Mul), so backward() does not keep its "
        "gradient and .grad is None; call .retain_grad() on it before backward() to keep it"]
    assert record[0].filename == __file__  # the warning points at the user's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad is not None  # a leaf never warns


def test_retain_grad_keeps_a_non_leaf_gradient_without_aliasing(backend):
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    z = y + y  # y's two uses add up in y.grad; x gets the same buffer's worth
    z.sum().backward(retain_graph=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a retained non-leaf reads without a warning
        np.testing.assert_array_equal(y.grad.numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])
    assert not np.shares_memory(y.grad.numpy(), x.grad.numpy())
    z2 = (y * 1).sum()
    z2.backward()  # a second backward accumulates, as into a leaf
    np.testing.assert_array_equal(y.grad.numpy(), [3.0, 3.0])


def test_layer_path_is_added_once_however_deep_and_user_errors_are_left_alone():
    class Raises(nn.Module):
        def forward(self, x):
            raise ValueError("my own message")

    with pytest.raises(ValueError) as info:
        nn.Sequential(nn.Sequential(Raises()))(tl.ones(1))
    assert str(info.value) == "my own message"
    model = nn.Sequential(MLP())
    for _ in range(2):  # the same model failing twice: the prefix does not pile up
        with pytest.raises(RuntimeError) as info:
            model(tl.zeros(1, 5))
        assert str(info.value).startswith("Sequential.0.fc1: Linear(in_features=784")


# --- loading never half-changes a model -----------------------------------------------------
def _model():
    tl.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


def _damage(state: dict, key: str, how: str) -> dict:
    state = dict(state)
    if how == "missing":
        del state[key]
    elif how == "shape":
        state[key] = np.zeros(state[key].shape + (1,), dtype=np.float32)
    else:  # an unexpected key next to the real ones
        state[key + "_extra"] = state[key]
    return state


@pytest.mark.parametrize("how", ["missing", "shape", "unexpected"])
@pytest.mark.parametrize("key", ["0.weight", "0.bias", "2.weight", "2.bias"])
def test_load_state_dict_with_one_bad_key_leaves_every_parameter_untouched(tmp_path, key, how):
    source = _model()
    for p in source.parameters():
        with tl.no_grad():
            p.add_(1.0)  # different values from the target's, so a partial load would show
    path = tmp_path / "ckpt.npz"
    save(_damage(source.state_dict(), key, how), path)
    target = _model()
    params = list(target.parameters())
    before = [p.numpy().copy() for p in params]
    with pytest.raises(RuntimeError, match="Error\\(s\\) in loading state_dict"):
        target.load_state_dict(load(path))
    assert list(target.parameters()) == params  # the same objects
    for p, b in zip(params, before):
        assert p.numpy().tobytes() == b.tobytes()


# --- PyTorch's exception types where tests expect them --------------------------------------
@pytest.mark.parametrize("op", ["__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"])
def test_comparison_of_shapes_that_do_not_broadcast_names_the_op(op):
    with pytest.raises(RuntimeError, match=r"shapes \(2, 3\) and \(3, 2\) do not broadcast"):
        getattr(tl.zeros(2, 3), op)(tl.zeros(3, 2))


def test_logical_ops_word_broadcast_errors_like_arithmetic():
    a, b = tl.zeros(2, 3, dtype=tl.bool), tl.zeros(3, 2, dtype=tl.bool)
    with pytest.raises(RuntimeError, match="bitwise_and: shapes .* at dim -1 the sizes 3 and 2"):
        a & b


@pytest.mark.parametrize("make", [lambda: tl.zeros(-1), lambda: tl.ones(2, -1),
                                  lambda: tl.randn(-2), lambda: tl.rand(3, -1),
                                  lambda: tl.full((2, -3), 1.0), lambda: tl.empty(-1),
                                  lambda: tl.ones(2).new_zeros(-1)])
def test_negative_sizes_are_a_runtime_error_as_in_pytorch(make):
    with pytest.raises(RuntimeError, match="dims cannot be negative"):
        make()


def test_cat_and_stack_refuse_what_pytorch_refuses():
    with pytest.raises(RuntimeError, match="position 1 is 0-d"):
        tl.cat([tl.ones(1), tl.tensor(2.0)])
    with pytest.raises(TypeError, match="sequence of tensors, got a Tensor"):
        tl.cat(tl.zeros(2, 2))
    with pytest.raises(RuntimeError, match="non-empty"):
        tl.stack([])
    with pytest.raises(RuntimeError, match="bool tensor"):
        -tl.tensor([True])


@pytest.mark.parametrize("call, error, words", [
    (lambda x: x.permute(0, 5), IndexError, "permute: dim 5 is out of range"),
    (lambda x: x.flatten(5), IndexError, "flatten: dim 5"),
    (lambda x: x.flatten(1, 0), RuntimeError, "start_dim 1 comes after end_dim 0"),
    (lambda x: x.narrow(1, 2, 5), RuntimeError, "narrow: start 2 and length 5"),
    (lambda x: x.narrow(1, 0, -1), RuntimeError, "narrow"),
    (lambda x: x.size(5), IndexError, "size: dim 5"),
    (lambda x: x.stride(-3), IndexError, "stride: dim -3"),
    (lambda x: tl.tensor(1.0).size(0), IndexError, "0-d tensor has no dims"),
    (lambda x: x.reshape(2, 3, 1).t(), RuntimeError, "t: expects a tensor of at most 2 dims"),
    (lambda x: x.index_select(0, tl.tensor([[0, 1]])), RuntimeError, "index must be a 1-D"),
    (lambda x: x.index_select(0, tl.tensor([0.0])), RuntimeError, "integer tensor"),
    (lambda x: x.fill_(None), TypeError, "got None"),
    (lambda x: x.fill_(tl.ones(4, 5)), RuntimeError, r"fill_: .* got shape \(4, 5\)"),
    (lambda x: x.__setitem__(0, None), TypeError, "cannot assign None"),
    (lambda x: x.masked_fill(tl.zeros(4, 5, dtype=tl.bool), 1.0), RuntimeError,
     r"where: shapes \(4, 5\) and \(\) and \(2, 3\) do not broadcast"),
    (lambda x: x.masked_fill_(tl.zeros(2, 2, 3, dtype=tl.bool), 1.0), RuntimeError,
     "masked_fill_"),
    (lambda x: tl.where(tl.zeros(4, 5, dtype=tl.bool), x, 0.0), RuntimeError,
     r"where: shapes \(4, 5\) and \(2, 3\)"),
    (lambda x: F.cross_entropy(x, tl.tensor([0, 1]), weight=tl.ones(4)), RuntimeError,
     r"weight should have one entry per class \(3\)"),
    (lambda x: F.nll_loss(x, tl.tensor([0, 1]), weight=tl.ones(4)), RuntimeError, "nll_loss"),
    (lambda x: F.cross_entropy(x, x.softmax(-1), weight=tl.ones(4)), RuntimeError, "weight"),
    (lambda x: F.batch_norm(x, tl.zeros(5), tl.ones(5)), RuntimeError,
     "running_mean has 5 elements, but the input"),
    (lambda x: nn.BatchNorm1d(4)(x), RuntimeError, "expected 4 channels"),
])
def test_bad_dims_indices_and_values_raise_pytorchs_type_and_name_the_op(call, error, words):
    x = tl.arange(6.0).reshape(2, 3)
    before = x.numpy().copy()
    with pytest.raises(error, match=words):
        call(x)
    np.testing.assert_array_equal(x.numpy(), before)  # nothing half-done


def test_comparison_methods_refuse_what_the_operators_hand_back_to_python():
    x = tl.ones(2)
    assert (x == None) is False and (x != "a") is True  # noqa: E711  (Python's fallback)
    with pytest.raises(TypeError, match="eq: cannot compare a tensor with NoneType"):
        x.eq(None)
    with pytest.raises(TypeError):
        x < None  # noqa: B015
    assert x.le(1).all() and tl.eq(x, x).all()
