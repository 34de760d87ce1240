"""Half-precision weights for an exported graph: `--dtype float16`.

The form: each network weight (a parameter of the exported PyTorch module, by name) is stored as
a FLOAT16 initializer under its own name and widened by a `Cast(to=FLOAT)` in front of its
users; everything else stays float32 — the contract's inputs and output, the σ arithmetic of the
CM scalings (σ_min = 0.002 has no exact float16, and 250·log σ needs more than float16's 11-bit
mantissa), and the constants the exporter writes. The file halves; the network computes in
float32 with weights rounded to float16.

Why not a whole float16 graph: onnxruntime's CPU provider has no float16 convolution kernel on
x86, so its graph optimiser wraps float16 nodes in Casts to float32, folds the casts of constant
weights at load, and runs the float32 kernels anyway — measured on a 4-layer 192-channel 3×3
convolution stack at 64×64 (the optimised graphs of both forms are the same float32 NCHWc
convolutions with float32 weights; same speed, same output). A full float16 graph would need the
σ path kept in float32 by hand and buys nothing on CPU; this form is exact about what it does.
A GPU provider with float16 kernels would want the other form, which this project does not write.
"""
from __future__ import annotations

from typing import Iterable

WIDENED = "/float32"  # suffix of the Cast output that replaces a weight in its users


def weights_to_float16(model, names: Iterable[str]) -> int:
    """Rewrite `model` (onnx.ModelProto) in place: the FLOAT initializers named in `names` become
    FLOAT16 initializers of the same name, read through a Cast to FLOAT. Returns how many."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    wanted = set(names)
    g = model.graph
    widened = {}
    for i, init in enumerate(g.initializer):
        if init.name not in wanted or init.data_type != TensorProto.FLOAT:
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name)
        g.initializer[i].CopyFrom(half)
        widened[init.name] = init.name + WIDENED
    if not widened:
        return 0

    def rename(nodes):
        for node in nodes:
            for k, name in enumerate(node.input):
                if name in widened:
                    node.input[k] = widened[name]
            for attr in node.attribute:  # subgraphs (If/Loop bodies) may read outer weights
                for sub in [attr.g] if attr.HasField("g") else list(attr.graphs):
                    rename(sub.node)

    rename(g.node)
    casts = [helper.make_node("Cast", [name], [out], name=f"{name}{WIDENED}", to=TensorProto.FLOAT)
             for name, out in widened.items()]
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    return len(widened)


def graph_weights_dtype(model) -> str:
    """'float16' when the graph's weights are stored as float16 by weights_to_float16, else 'float32'."""
    from onnx import TensorProto

    return "float16" if any(i.data_type == TensorProto.FLOAT16 for i in model.graph.initializer) else "float32"
