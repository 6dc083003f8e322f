"""PyTorch parity of module containers (item assignment, deletion, insert, pop, repr),
full backward hooks, nn.Identity, and optimizer options (maximize, foreach, a tensor step).

Torch-free assertions come first in each section; the parity tests skip without torch.
"""
from __future__ import annotations

import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn


def _torch():
    return pytest.importorskip("torch")


# --- containers ---------------------------------------------------------------------------
def test_sequential_setitem_keeps_the_key_and_del_renumbers():
    m = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    new = nn.Linear(3, 4)
    m[-1] = new
    assert m[2] is new and list(m._modules) == ["0", "1", "2"]
    del m[1]
    assert list(m._modules) == ["0", "1"] and m[1] is new
    assert [n for n, _ in m.named_parameters()] == ["0.weight", "0.bias", "1.weight",
                                                    "1.bias"]


@pytest.mark.parametrize("make", [nn.Sequential, lambda *ms: nn.ModuleList(ms)])
@pytest.mark.parametrize("edit", [lambda m: m.__setitem__(2, nn.ReLU()),
                                  lambda m: m.__delitem__(-3), lambda m: m.pop(5),
                                  lambda m: m.insert(3, nn.ReLU())])
def test_container_edit_out_of_range_raises_index_error(make, edit):
    m = make(nn.ReLU(), nn.Tanh())
    with pytest.raises(IndexError):
        edit(m)
    with pytest.raises(TypeError):
        m.insert(0, 3)
    assert len(m) == 2


def test_module_list_insert_pop_and_slices():
    a, b, c = nn.ReLU(), nn.Tanh(), nn.Sigmoid()
    m = nn.ModuleList([a, b])
    assert m.insert(-1, c) is None
    assert list(m) == [a, c, b] and list(m._modules) == ["0", "1", "2"]
    assert m.pop(0) is a and list(m._modules) == ["0", "1"]
    popped = m.pop(slice(0, 1))
    assert isinstance(popped, nn.ModuleList) and list(popped) == [c] and list(m) == [b]
    m.extend([a])
    del m[0:2]
    assert len(m) == 0


def _container_ops(L):
    from collections import OrderedDict
    nn_ = L.nn
    out = []
    s = nn_.Sequential(OrderedDict(a=nn_.ReLU(), b=nn_.Tanh(), c=nn_.ELU()))
    s[1] = nn_.GELU()
    out.append(repr(s))
    out.append(repr(s.pop(-1)))
    out.append(repr(s))
    s = nn_.Sequential(nn_.Linear(2, 3), nn_.ReLU(), nn_.Linear(3, 1), nn_.Tanh())
    del s[1:3]
    out.append(repr(s))
    out.append(repr(s.insert(1, nn_.ELU())))
    out.append(repr(s.insert(-1, nn_.Sigmoid())))
    out.append(repr(s.pop(slice(1, 3))))
    m = nn_.ModuleList([nn_.Linear(1, 1), nn_.ReLU()])
    m[0] = nn_.Tanh()
    m.insert(0, nn_.Linear(2, 2))
    m.insert(3, nn_.ReLU())
    out.append(repr(m.pop(1)))
    del m[-1]
    out.append(repr(m))
    out.append([n for n, _ in m.named_parameters()])
    return out


def test_container_edits_match_torch():
    torch = _torch()
    assert _container_ops(tl) == _container_ops(torch)


def _reprs(L):
    nn_ = L.nn
    inner = [nn_.ReLU(), nn_.ReLU(), nn_.Tanh()]
    return [
        repr(nn_.ModuleList()),
        repr(nn_.ModuleList([nn_.Linear(2, 2), nn_.Linear(2, 2), nn_.ReLU()])),
        repr(nn_.ModuleList([nn_.ReLU(), nn_.Linear(2, 3), nn_.Linear(2, 3), nn_.Linear(2, 3),
                             nn_.ModuleList(inner), nn_.ModuleList(inner), nn_.ReLU()])),
        repr(nn_.Sequential(nn_.Linear(2, 2), nn_.Linear(2, 2),
                            nn_.ModuleList([nn_.ReLU(), nn_.ReLU()]))),
    ]


def test_module_list_repr_collapses_runs():
    text = repr(nn.ModuleList([nn.ReLU(), nn.ReLU(), nn.ReLU(), nn.Tanh()]))
    assert text == "ModuleList(\n  (0-2): 3 x ReLU()\n  (3): Tanh()\n)"


def test_container_reprs_match_torch():
    torch = _torch()
    assert _reprs(tl) == _reprs(torch)


# --- nn.Identity ----------------------------------------------------------------------------
def test_identity_ignores_its_arguments():
    x = tl.ones(2)
    assert nn.Identity(54, unused="x")(x) is x
    assert repr(nn.Identity(3)) == "Identity()"


def test_identity_repr_matches_torch():
    torch = _torch()
    assert repr(nn.Identity(54, unused="x")) == repr(torch.nn.Identity(54, unused="x"))
