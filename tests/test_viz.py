"""Tests for tinygrad_lite.viz: the graph drawing, its DOT source, and rendering."""
from __future__ import annotations

import os
import re
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, viz

NODE = re.compile(r'^\s*(\w+) \[label=("(?:[^"\\]|\\.)*"|\S+)(.*)\]$')
EDGE = re.compile(r"^\s*(\w+) -> (\w+)(.*)$")


def parse(source: str) -> tuple[dict, list]:
    """{node id: (label, fillcolor)} and [(src label, dst label, attrs)] from DOT source."""
    nodes = {}
    for line in source.splitlines():
        m = NODE.match(line)
        if m:
            fill = re.search(r"fillcolor=(\w+)", m.group(3))
            nodes[m.group(1)] = (m.group(2).strip('"'), fill.group(1) if fill else None)
    edges = [(nodes[m.group(1)][0], nodes[m.group(2)][0], m.group(3).strip())
             for m in map(EDGE.match, source.splitlines()) if m]
    return nodes, edges


def clusters(source: str) -> dict[str, list[str]]:
    """{cluster label: labels of the nodes directly inside it}, in source order."""
    found, stack = {}, []
    for line in source.splitlines():
        if "subgraph cluster_" in line:
            stack.append(None)
        elif stack and stack[-1] is None:
            label = re.search(r'label=("[^"]*"|\S+)', line).group(1).strip('"')
            stack[-1] = label
            found[label] = []
        elif line.strip() == "}" and stack:
            stack.pop()
        elif stack and NODE.match(line):
            found[stack[-1]].append(NODE.match(line).group(2).strip('"'))
    return found


def abc():
    a = tl.tensor(np.arange(6.0).reshape(2, 3), dtype=tl.float32, requires_grad=True)
    b = tl.ones(2, 3, requires_grad=True)
    c = tl.ones(3, requires_grad=True)
    return a, b, c


# ----------------------------------------------------------------------------- the DOT source

def test_small_graph_has_exactly_these_nodes_and_edges():
    a, b, c = abc()
    out = (a * b + c).relu().sum()
    nodes, edges = parse(tl.viz.to_dot(out, params={"a": a, "b": b, "c": c}))
    blue, grey = "lightblue", "lightgrey"
    assert sorted(nodes.values()) == sorted([
        (r"a\n(2, 3) float32", blue), (r"b\n(2, 3) float32", blue),
        (r"c\n(3,) float32", blue), (r"Mul\n(2, 3)", grey), (r"Add\n(2, 3)", grey),
        (r"Relu\n(2, 3)", grey), (r"Sum\n()", grey), (r"output\n() float32", "darkolivegreen1"),
    ])
    assert sorted(edges) == sorted([
        (r"a\n(2, 3) float32", r"Mul\n(2, 3)", ""), (r"b\n(2, 3) float32", r"Mul\n(2, 3)", ""),
        (r"Mul\n(2, 3)", r"Add\n(2, 3)", ""), (r"c\n(3,) float32", r"Add\n(2, 3)", ""),
        (r"Add\n(2, 3)", r"Relu\n(2, 3)", ""), (r"Relu\n(2, 3)", r"Sum\n()", ""),
        (r"Sum\n()", r"output\n() float32", ""),
    ])


def test_same_graph_gives_identical_dot_and_ids_follow_the_walk_not_memory():
    def build():
        a, b, c = abc()
        return (a * b + c).relu().sum()

    out = build()
    first = viz.to_dot(out, show_saved=True)
    assert viz.to_dot(out, show_saved=True) == first
    assert viz.to_dot(build(), show_saved=True) == first  # other objects, same DOT
    assert re.findall(r"^\s*(n\d+) \[", first, re.MULTILINE) == [f"n{i}" for i in range(9)]


def test_parameters_are_named_from_a_module_and_constants_show_their_value():
    lin = nn.Linear(3, 2)
    out = (lin(tl.ones(4, 3)) * 0.5).sum()
    nodes, _ = parse(tl.draw_graph(out, params=lin).source)
    labels = {label: fill for label, fill in nodes.values()}
    assert labels[r"weight\n(2, 3) float32"] == "lightblue"
    assert labels[r"bias\n(2,) float32"] == "lightblue"
    assert labels["0.5"] == "white"  # a scalar constant
    assert labels[r"(4, 3) float32"] == "white"  # the input: a leaf that needs no grad


def test_show_saved_draws_each_saved_array_once_and_skips_leaves():
    a, b, c = abc()
    h = (a * b + c).relu()
    out = (h * h).sum()  # Relu saves h; the second Mul saves h twice: one orange node
    nodes, edges = parse(viz.to_dot(out, show_saved=True))
    saved = [i for i, (label, fill) in nodes.items() if fill == "orange"]
    assert [nodes[i][0] for i in saved] == [r"(2, 3) float32"]
    dashed = sorted(dst for src, dst, attrs in edges if "dashed" in attrs)
    assert dashed == [r"Mul\n(2, 3)", r"Mul\n(2, 3)", r"Relu\n(2, 3)"]
    # the first Mul saved a and b, which are drawn as leaves already
    assert sum(fill == "orange" for _, fill in parse(viz.to_dot(a * b))[0].values()) == 0


def test_show_grads_after_backward_with_retain_graph_and_a_clear_error_without():
    a, b, c = abc()
    out = (a * b + c).relu().sum()
    out.backward(retain_graph=True)
    nodes, _ = parse(viz.to_dot(out, params={"c": c}, show_grads=True))
    assert (r"c\n(3,) float32\ngrad (3,)", "lightblue") in nodes.values()
    out.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        viz.to_dot(out)


def test_show_shapes_false_and_direction():
    a, b, _ = abc()
    source = viz.to_dot(a * b, params={"a": a}, show_shapes=False, direction="LR")
    nodes, _ = parse(source)
    assert sorted(label for label, _ in nodes.values()) == ["Mul", "a", "output", "tensor"]
    assert "rankdir=LR" in source
    with pytest.raises(ValueError, match="direction"):
        viz.draw_graph(a * b, direction="sideways")


def test_max_nodes_cuts_with_a_marker_that_counts_what_is_missing():
    x = tl.ones(3, requires_grad=True)
    y = x
    for _ in range(10):
        y = -y
    nodes, edges = parse(viz.to_dot(y, max_nodes=4))  # 12 nodes: output, 10 Neg, x
    labels = [label for label, _ in nodes.values()]
    assert labels[:4] == [r"output\n(3,) float32"] + [r"Neg\n(3,)"] * 3
    assert labels[4] == "... 8 more nodes not drawn (max_nodes=4)"
    assert (labels[4], r"Neg\n(3,)", "[style=dotted]") in edges
    assert len(nodes) == 5
    assert viz.to_dot(y, max_nodes=12) == viz.to_dot(y)  # nothing cut: no marker


def test_several_outputs_and_a_leaf_output():
    a, b, _ = abc()
    s = a * b
    nodes, edges = parse(viz.to_dot([s, a]))
    assert sum(fill == "darkolivegreen1" for _, fill in nodes.values()) == 2
    assert len(nodes) == 4  # two outputs (a is one), Mul, b
    assert (r"output\n(2, 3) float32", r"Mul\n(2, 3)", "") in edges


def test_a_100000_op_chain_converts_to_dot_without_recursion():
    x = tl.ones(1, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = -y
    start = time.perf_counter()
    source = viz.to_dot(y)
    assert time.perf_counter() - start < 15
    assert source.count("Neg") == 100_000 and source.count("->") == 100_001


# ----------------------------------------------------------------------------- module clusters

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.fc(x))


class Net(nn.Module):
    """A nested model whose `shared` layer runs twice."""

    def __init__(self):
        super().__init__()
        self.block = Block()
        self.shared = nn.Linear(4, 4)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.shared(self.shared(self.block(x))))


def test_modules_gives_one_nested_cluster_per_module_call():
    model = Net()
    source = viz.to_dot(model, input_data=tl.ones(3, 4), modules=True)
    found = clusters(source)
    assert list(found) == ["Net", "block: Block", "block.fc: Linear", "block.act: ReLU",
                           "shared: Linear", "shared: Linear (call 2)", "head: Linear"]
    # the shared layer's parameters serve both of its calls: they sit in the enclosing one
    assert sorted(found["Net"]) == [r"shared.bias\n(4,) float32",
                                    r"shared.weight\n(4, 4) float32"]
    assert found["block: Block"] == []  # only the clusters of its children
    assert sorted(found["block.fc: Linear"]) == [
        r"Linear\n(3, 4)", r"block.fc.bias\n(4,) float32", r"block.fc.weight\n(4, 4) float32"]
    assert found["block.act: ReLU"] == [r"Relu\n(3, 4)"]
    for call in ("shared: Linear", "shared: Linear (call 2)"):
        assert found[call] == [r"Linear\n(3, 4)"]
    assert r"input\n(3, 4) float32" in source  # outside every cluster, as the output
    # the ReLU's output is saved by the ReLU and by the first shared call: it goes around both
    saved = clusters(viz.to_dot(model, input_data=tl.ones(3, 4), modules=True, show_saved=True))
    assert r"(3, 4) float32" in saved["Net"] and r"(3, 4) float32" in saved["head: Linear"]
    assert r"(3, 4) float32" not in saved["block.act: ReLU"]
    assert clusters(viz.to_dot(model, input_data=tl.ones(3, 4))) == {}


def test_trace_modules_records_calls_and_removes_its_hooks():
    model = Net()
    with viz.trace_modules(model) as trace:
        out = model(tl.ones(3, 4))
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert [trace.label(i) for i in range(len(trace.calls))][-2:] == [
        "shared: Linear (call 2)", "head: Linear"]
    assert clusters(viz.to_dot(out, params=model, modules=trace)) == clusters(
        viz.to_dot(model, input_data=tl.ones(3, 4), modules=True))
    with pytest.raises(ValueError, match="modules=True needs"):
        viz.draw_graph(out, modules=True)


# ----------------------------------------------------------------------------- rendering

@pytest.fixture
def no_system_dot(monkeypatch, tmp_path):
    """A PATH without any `dot`, so rendering must go through graphviz-pure."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    return tmp_path


def test_svg_and_png_render_through_graphviz_pure_without_a_system_dot(no_system_dot):
    assert "graphviz-pure" in viz.dot_program()
    a, b, c = abc()
    graph = tl.draw_graph((a * b + c).relu().sum(), params={"a": a}, show_saved=True)
    svg = graph.render(str(no_system_dot / "g"), format="svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and "Relu" in "".join(root.itertext())
    png = graph.render(str(no_system_dot / "g"), format="png")
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.environ["PATH"] == str(no_system_dot / "empty")  # restored after rendering


def test_jupyter_display_gives_svg(no_system_dot):
    graph = tl.draw_graph(tl.ones(2, requires_grad=True).exp())
    ET.fromstring(graph._repr_mimebundle_()["image/svg+xml"])
    ET.fromstring(graph._repr_svg_())


def test_missing_renderer_says_how_to_install_one(no_system_dot, monkeypatch):
    monkeypatch.setattr(viz, "_graphviz_pure_program", lambda: None)
    graph = tl.draw_graph(tl.ones(2, requires_grad=True).exp())
    with pytest.raises(viz.RendererNotFound, match="pip install graphviz-pure"):
        graph.pipe(format="svg")
    assert "Exp" in graph.source  # the DOT source needs no renderer


def test_make_dot_takes_torchviz_arguments_and_draws_the_same_graph():
    model = nn.Linear(3, 2)
    out = model(tl.randn(4, 3)).exp().sum()  # exp saves its output: an orange node
    params = dict(model.named_parameters())
    plain = viz.make_dot(out, params=params).source
    assert plain == viz.draw_graph(out, params=params).source
    assert "weight" in plain and "bias" in plain
    saved = viz.make_dot(out, params=params, show_attrs=True, max_attr_chars=20).source
    assert saved == viz.draw_graph(out, params=params, show_saved=True).source != plain
