"""Tests for tl.summary: the table (golden files), totals, byte-exact memory, and restoration.

Set TL_UPDATE_GOLDEN=1 to rewrite the golden files after a deliberate change of the table.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.summary import summary

GOLDEN = Path(__file__).parent / "golden"


def seed_mlp() -> nn.Sequential:
    """The seeds' MNIST network: 784-256-128-10 with ReLU and dropout 0.5 / 0.3."""
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.3),
                         nn.Linear(128, 10))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.act = nn.Tanh()

    def forward(self, x):
        return self.act(self.fc(x))


class SharedNet(nn.Module):
    """Nested, with a layer that runs twice and a layer tied to its weight."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(4, 8)
        self.blocks = nn.Sequential(Block(), Block())
        self.shared = nn.Linear(8, 8)
        self.tied = nn.Linear(8, 8, bias=False)
        self.tied.weight = self.shared.weight  # one parameter, counted once in the totals
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        return self.head(self.tied(self.shared(self.shared(self.blocks(self.embed(x))))))


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("TL_UPDATE_GOLDEN"):
        path.write_text(text + "\n", encoding="utf-8")
    assert text + "\n" == path.read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- the table

# NOTE: on the reference backend: the peak counts an optimizer step's measured temporaries,
# which depend on the backend (a fused update kernel needs none)
@pytest.mark.parametrize("backend", ["numpy"], indirect=True)
def test_seed_mlp_table_matches_golden_file(backend):
    model = seed_mlp()
    text = str(summary(model, input_size=(32, 784), optimizer=optim.Adam(model.parameters())))
    check_golden("summary_seed_mlp.txt", text)
    assert "940.58 kB   (940,584 bytes)" in text and "Total params: 235,146" in text


def test_nested_model_with_shared_layer_matches_golden_file():
    text = str(summary(SharedNet(), input_size=(2, 4)))
    check_golden("summary_shared_net.txt", text)


def test_parameter_table_without_input_matches_golden_file():
    check_golden("summary_shared_net_no_input.txt", str(summary(SharedNet(), depth=2)))


def test_seed_numbers():
    assert summary(nn.Linear(784, 256)).total_params == 200_960
    s = summary(seed_mlp())
    assert (s.total_params, s.trainable_params, s.param_bytes) == (235_146, 235_146, 940_584)


def test_shared_parameters_count_once_and_repeated_calls_are_recursive():
    s = summary(SharedNet(), input_size=(2, 4))
    assert s.total_params == 40 + 2 * 72 + 72 + 36  # embed, blocks, shared (= tied), head
    linears = [r for r in s.rows if r.depth == 1 and r.type == "Linear"]
    assert [r.params for r in linears] == [40, 72, None, 64, 36]  # tied shows its weight
    assert str(s).count("(recursive)") == 1


def test_rows_follow_calls_with_depth_index_names_and_depth_limit():
    s = summary(SharedNet(), input_size=(2, 4), depth=1)
    assert [r.tree + r.name for r in s.rows] == [
        "SharedNet", "├─Linear: 1-1", "├─Sequential: 1-2", "├─Linear: 1-3", "├─Linear: 1-4",
        "├─Linear: 1-5", "└─Linear: 1-6"]
    assert s.rows[2].params == 2 * 72  # the hidden blocks' parameters show in their parent
    assert (s.rows[1].input_shape, s.rows[1].output_shape) == ("[2, 4]", "[2, 8]")
    assert [r.name for r in summary(SharedNet(), input_size=(2, 4), depth=0).rows] == [
        "SharedNet"]


def test_trainable_column_and_totals_with_frozen_parameters():
    model = seed_mlp()
    model[0].weight.requires_grad_(False)
    s = summary(model, input_size=(2, 784))
    assert s.trainable_params == 235_146 - 200_704
    assert s.rows[1].trainable == "Partial" and s.rows[4].trainable == "True"
    assert "Non-trainable params: 200,704" in str(s)


# ----------------------------------------------------------------------------- memory

def test_memory_of_the_seed_mlp_is_byte_exact():
    model = seed_mlp()
    s = summary(model, input_size=(64, 784), optimizer=optim.Adam(model.parameters()))
    f32 = 4
    assert s.input_bytes == 64 * 784 * f32
    assert s.grad_bytes == s.param_bytes == 940_584
    # Adam: two moments per parameter, and each one's step count (a 0-d float32 tensor)
    assert s.optimizer_bytes == 2 * 940_584 + 6 * f32
    masks = 64 * 256 + 64 * 128  # dropout keeps 1-byte booleans
    relu_out = (64 * 256 + 64 * 128) * f32  # saved by ReLU
    dropout_out = (64 * 256 + 64 * 128) * f32  # saved by the next Linear
    # the input, which the first Linear saves, is the caller's array: counted under Inputs
    assert s.saved_bytes == relu_out + dropout_out + masks
    # every op's output: 3 x Linear + 2 x (ReLU, Dropout) + the final sum
    linear_out = (64 * 256 + 64 * 128 + 64 * 10) * f32
    assert s.activation_bytes == linear_out + relu_out + dropout_out + f32
    assert s.graph_bytes == s.activation_bytes + masks


def test_optimizer_state_bytes_follow_the_optimizer():
    model = nn.Linear(10, 5)
    sizes = {name: summary(model, input_size=(3, 10), optimizer=make).optimizer_bytes
             for name, make in [("sgd", optim.SGD(model.parameters(), lr=0.1)),
                                ("momentum", optim.SGD(model.parameters(), lr=0.1, momentum=0.9)),
                                ("adam", optim.Adam(model.parameters())),
                                ("amsgrad", optim.Adam(model.parameters(), amsgrad=True))]}
    assert sizes == {"sgd": 0, "momentum": 220, "adam": 448, "amsgrad": 668}


def test_estimated_peak_is_within_10_percent_of_tracemalloc():
    model = seed_mlp()
    s = summary(model, input_size=(64, 784), optimizer=optim.Adam(model.parameters()),
                measure=True)
    assert abs(s.peak_bytes - s.measured_peak_bytes) <= 0.1 * s.measured_peak_bytes
    assert "Peak (measured, tracemalloc)" in str(s)


def test_eval_mode_has_no_dropout_masks():
    model = seed_mlp()
    train = summary(model, input_size=(8, 784))
    evaluated = summary(model, input_size=(8, 784), mode="eval")
    assert train.saved_bytes - evaluated.saved_bytes == 8 * (256 + 128) * (1 + 4)
    with pytest.raises(ValueError, match="mode"):
        summary(model, input_size=(8, 784), mode="inference")


# ----------------------------------------------------------------------------- side effects

def test_summary_leaves_model_optimizer_and_random_stream_as_found():
    model = seed_mlp()
    model.eval()
    model[2].train()  # a mixed state, restored module by module
    opt = optim.Adam(model.parameters())
    for p in model.parameters():
        p.grad = tl.ones_like(p)
    opt.step()
    kept_grad = model[0].weight.grad
    model[3].bias.grad = None
    before = [p.numpy().copy() for p in model.parameters()]
    state = {k: {n: np.array(v) if isinstance(v, tl.Tensor) else v for n, v in s.items()}
             for k, s in opt.state_dict()["state"].items()}
    tl.manual_seed(7)
    summary(model, input_size=(4, 784), optimizer=opt, mode="train", measure=True)
    after_summary = tl.randn(3).numpy()
    tl.manual_seed(7)
    assert np.array_equal(after_summary, tl.randn(3).numpy())
    assert [m.training for m in model.modules()] == [False, False, False, True, False, False,
                                                     False, False]
    assert model[0].weight.grad is kept_grad and model[3].bias.grad is None
    assert all(np.array_equal(a, p.numpy()) for a, p in zip(before, model.parameters()))
    for k, s in opt.state_dict()["state"].items():
        assert s["step"] == state[k]["step"] == 1
        assert np.array_equal(np.array(s["exp_avg"]), state[k]["exp_avg"])
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_hooks_and_mode_are_restored_when_the_forward_fails():
    model = seed_mlp()
    model.eval()
    with pytest.raises(RuntimeError, match="expected input"):
        summary(model, input_size=(4, 100))
    assert not any(m.training for m in model.modules())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_memory_is_counted_even_inside_no_grad():
    model = seed_mlp()
    with tl.no_grad():
        s = summary(model, input_size=(8, 784))
    assert s.grad_bytes == 940_584 and s.saved_bytes > 0
    assert tl.is_grad_enabled()


def test_input_data_and_argument_errors():
    model = nn.Linear(3, 2)
    s = summary(model, input_data=tl.ones(5, 3))
    assert s.rows[0].input_shape == "[5, 3]" and s.input_bytes == 60
    with pytest.raises(ValueError, match="not both"):
        summary(model, input_size=(1, 3), input_data=tl.ones(1, 3))
    with pytest.raises(ValueError, match="depth"):
        summary(model, depth=-1)


def test_dtypes_give_each_made_input_its_own_dtype_like_torchinfo():
    model = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2))
    s = tl.summary(model, input_size=(5, 3), dtypes=[tl.int64])
    assert s.total_params == 40 + 26
    assert "Embedding: 1-1" in str(s) and "[5, 3, 4]" in str(s)
    with pytest.raises(ValueError, match="2 dtypes for 1 input sizes"):
        tl.summary(model, input_size=(5, 3), dtypes=[tl.int64, tl.int64])


# ----------------------------------------------------------------------------- torchinfo's options

def test_running_statistics_are_restored_after_a_train_mode_summary():
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    bn = model[1]
    buffers = {name: b for name, b in bn.named_buffers()}
    for _ in range(3):
        summary(model, input_size=(8, 4))
    assert {name: b for name, b in bn.named_buffers()} == buffers  # the same tensors
    assert np.array_equal(bn.running_mean.numpy(), np.zeros(3))
    assert np.array_equal(bn.running_var.numpy(), np.ones(3))
    assert bn.num_batches_tracked.item() == 0


def test_mult_adds_follow_torchinfo():
    # torchinfo 1.8 prints 6,430,720 / 1,052,672 / 41,280 and "Total mult-adds (M): 7.52"
    s = summary(seed_mlp(), input_size=(32, 784), col_names=("output_size", "mult_adds"))
    assert s.total_mult_adds == 235_146 * 32
    assert [r.mult_adds for r in s.rows if r.type == "Linear"] == [6_430_720, 1_052_672, 41_280]
    text = str(s)
    assert "Mult-Adds" in text and "6,430,720" in text and "Total mult-adds (M): 7.52" in text
    assert "Input Shape" not in text and "Param #" not in text
    # a convolution's weights serve every output position; a Linear's every row of its input
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(2), nn.Linear(36, 2))
    s = summary(net, input_size=(2, 1, 8, 8), depth=0)
    assert s.total_mult_adds == 40 * 2 * 6 * 6 + 74 * 2 * 4
    assert s.rows[0].mult_adds == s.total_mult_adds  # the deepest row shown counts its calls


def test_percent_and_kernel_columns():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(18, 2))
    s = summary(net, input_size=(1, 1, 8, 8),
                col_names=("kernel_size", "num_params", "params_percent"))
    assert [r.kernel for r in s.rows[1:3]] == ["[3, 3]", "2"]  # as torchinfo writes them
    text = str(s)
    assert "Kernel Shape" in text and "Param %" in text
    assert f"{20 / 58:.2%}" in text and f"{38 / 58:.2%}" in text
    with pytest.raises(ValueError, match="unknown col_names"):
        summary(net, col_names=("flops",))


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x, scale=1.0):
        return self.fc(x) * scale


def test_forward_keywords_dict_input_batch_dim_and_verbose(capsys):
    s = summary(TwoInputs(), input_size=(4, 3), scale=2.0)
    assert s.rows[0].output_shape == "[4, 2]"
    s = summary(TwoInputs(), input_data={"x": tl.ones(5, 3), "scale": 3.0})
    assert s.rows[1].input_shape == "[5, 3]"
    s = summary(nn.Linear(3, 2), input_size=(3,), batch_dim=0)
    assert s.rows[0].input_shape == "[1, 3]" and s.input_bytes == 12
    assert summary(nn.Linear(3, 2), input_data=tl.ones(3), batch_dim=0).rows[0].input_shape \
        == "[1, 3]"
    assert capsys.readouterr().out == ""
    s = summary(nn.Linear(3, 2), input_size=(1, 3), verbose=1, device="cpu")
    assert capsys.readouterr().out == str(s) + "\n"
    with pytest.raises(ValueError, match="device 'cuda'"):
        summary(nn.Linear(3, 2), input_size=(1, 3), device="cuda")


@pytest.mark.parametrize("size, error", [((), ValueError), ((0, 784), ValueError),
                                         (784, TypeError), ("32,784", TypeError),
                                         ((32.5, 784), TypeError), ([(2, 3), "x"], TypeError)])
def test_bad_input_sizes_are_named(size, error):
    with pytest.raises(error, match="summary: input_size"):
        summary(nn.Linear(784, 2), input_size=size)
