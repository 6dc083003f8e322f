"""nn.utils: weight_norm / remove_weight_norm and the split gradient clipping
(get_total_norm, clip_grads_with_norm_), against closed forms and PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn


@pytest.mark.parametrize("dim, g_shape", [(0, (2, 1)), (1, (1, 3)), (None, ())])
def test_weight_norm_splits_the_weight_into_magnitude_and_direction(dim, g_shape):
    tl.manual_seed(0)
    layer = nn.Linear(3, 2).double()
    before = layer.weight.numpy().copy()
    nn.utils.weight_norm(layer, dim=dim)
    assert list(layer.state_dict()) == ["bias", "weight_g", "weight_v"]
    assert layer.weight_g.shape == g_shape and np.allclose(layer.weight.numpy(), before)
    x = tl.randn(4, 3, dtype=tl.float64)

    def run(g, v, b):  # NOTE: gradcheck perturbs the parameters in place
        return layer(x)

    assert tl.gradcheck(run, [layer.weight_g, layer.weight_v, layer.bias])
    with tl.no_grad():
        layer.weight_g.mul_(2.0)
    assert np.allclose(layer(x).numpy(), x.numpy() @ (2 * before).T + layer.bias.numpy())
    nn.utils.remove_weight_norm(layer)
    assert list(layer.state_dict()) == ["bias", "weight"]
    assert isinstance(layer.weight, nn.Parameter) and np.allclose(layer.weight.numpy(),
                                                                  2 * before)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        nn.utils.remove_weight_norm(layer)


def test_weight_norm_twice_is_refused():
    layer = nn.utils.weight_norm(nn.Linear(3, 2))
    with pytest.raises(RuntimeError, match="already has weight_norm"):
        nn.utils.weight_norm(layer)


def test_clipping_in_two_steps_equals_clip_grad_norm():
    grads = [np.array([3.0, 4.0]), np.array([12.0])]
    params = [tl.zeros(len(g), requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = tl.tensor(g).float()  # NOTE: of the parameter's dtype, as PyTorch checks
    total = nn.utils.get_total_norm([p.grad for p in params])
    assert np.isclose(total.item(), 13.0)
    assert np.isclose(nn.utils.get_total_norm([p.grad for p in params], "inf").item(), 12.0)
    nn.utils.clip_grads_with_norm_(params, 1.3, total)
    assert np.allclose(params[0].grad.numpy(), [0.3, 0.4], atol=1e-6)
    assert np.isclose(nn.utils.clip_grad_norm_(params, 10.0).item(), 1.3, atol=1e-6)


def test_weight_norm_matches_pytorch():
    torch = pytest.importorskip("torch")
    for dim, make, shape in [(0, "Linear(3, 2)", (4, 3)), (0, "Conv1d(2, 4, 3)", (2, 2, 7)),
                             (None, "Linear(3, 2)", (4, 3)), (1, "Linear(3, 2)", (4, 3))]:
        theirs = torch.nn.utils.weight_norm(eval("nn." + make, {"nn": torch.nn}).double(),
                                            dim=dim)
        ours = nn.utils.weight_norm(eval("nn." + make, {"nn": nn}).double(), dim=dim)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        ours.load_state_dict({k: tl.tensor(v.detach().numpy())
                              for k, v in theirs.state_dict().items()})
        x = np.random.default_rng(0).standard_normal(shape)
        t_out, l_out = theirs(torch.tensor(x)), ours(tl.tensor(x))
        assert np.allclose(t_out.detach().numpy(), l_out.numpy())
        (t_out ** 2).sum().backward()
        (l_out ** 2).sum().backward()
        for (name, a), b in zip(theirs.named_parameters(), ours.parameters()):
            assert np.allclose(a.grad.numpy(), b.grad.numpy()), (make, name)


# --- packed sequences -----------------------------------------------------------------------
def test_pack_padded_sequence_lays_out_each_step_longest_first_and_pads_back():
    rnn = nn.utils.rnn
    x = tl.arange(1.0, 10.0).reshape(3, 3)  # (T=3, B=3): column b is sequence b
    packed = rnn.pack_padded_sequence(x, [1, 3, 2], enforce_sorted=False)
    assert packed.batch_sizes.tolist() == [3, 2, 1]
    assert packed.sorted_indices.tolist() == [1, 2, 0]
    assert packed.unsorted_indices.tolist() == [2, 0, 1]
    assert packed.data.tolist() == [2.0, 3.0, 1.0, 5.0, 6.0, 8.0]  # step 0, 1, 2
    padded, lengths = rnn.pad_packed_sequence(packed, batch_first=True, padding_value=-1.0)
    assert lengths.tolist() == [1, 3, 2]
    assert padded.tolist() == [[1.0, -1.0, -1.0], [2.0, 5.0, 8.0], [3.0, 6.0, -1.0]]
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        rnn.pack_padded_sequence(x, [1, 3, 2])
    sequences = [tl.ones(2, 4), tl.ones(3, 4)]
    unpacked = rnn.unpack_sequence(rnn.pack_sequence(sequences, enforce_sorted=False))
    assert [s.shape for s in unpacked] == [(2, 4), (3, 4)]


@pytest.mark.parametrize("kind, options", [("LSTM", {"bidirectional": True, "num_layers": 2}),
                                           ("GRU", {}), ("RNN", {"bidirectional": True})])
def test_a_packed_batch_runs_each_sequence_as_if_alone(kind, options):
    """Without torch: the layer on a packed batch gives, for each sequence, the output and
    final state of running that sequence by itself (the backward direction starts at its own
    last step)."""
    tl.manual_seed(0)
    layer = getattr(nn, kind)(3, 4, **options).double()
    lengths = [2, 5, 3]
    x = tl.randn(5, 3, 3, dtype=tl.float64)
    out, final = layer(nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False))
    padded, _ = nn.utils.rnn.pad_packed_sequence(out)
    finals = final if isinstance(final, tuple) else (final,)
    for i, n in enumerate(lengths):
        alone, alone_final = layer(x[:n, i:i + 1])
        alone_finals = alone_final if isinstance(alone_final, tuple) else (alone_final,)
        np.testing.assert_allclose(padded[:n, i].numpy(), alone[:, 0].numpy(), atol=1e-12)
        assert np.all(padded[n:, i].numpy() == 0)
        for f, a in zip(finals, alone_finals):
            np.testing.assert_allclose(f[:, i].numpy(), a[:, 0].numpy(), atol=1e-12)
