"""Make an exported graph batch-invariant on onnxruntime's CPU provider: a row's output must not
depend on which other rows share its network call, or step-level batching (DESIGN §5) would
break the promise that a seed gives the same pixels alone and inside a full batch.

Why graphs are not batch-invariant as exported: onnxruntime computes unary transcendental ops
(Log, Exp, Sin, Cos, ...) on a whole tensor with SIMD packets and finishes the last
`size mod packet` elements with the scalar C library function. The two agree on most inputs but
not all (one ulp apart on some), and which elements fall in the scalar tail depends on the batch
size. `Log(sigma)` on a `[batch]` tensor is the typical case: σ = 25.24 alone (a one-element
tensor, all tail) and the same σ in a batch of 20 (inside a packet) give logs one ulp apart,
which the network amplifies to ~3e-6 in the output and, now and then, one 8-bit pixel level.

The rewrite: an op whose input has `per_row` elements per batch row, with `per_row` not a
multiple of PACKET, is computed on the input repeated `k = PACKET / gcd(per_row, PACKET)` times
along a new last axis, and lane 0 is taken back. Every row then spans a multiple of PACKET
elements, so (with onnxruntime's 64-byte-aligned buffers) every element is computed in a packet
whatever the batch size. PACKET = 16 floats covers SSE (4), AVX2 (8) and AVX-512 (16). Values are
unchanged: each lane is the same op on the same input. Big activations (per_row a multiple of
16) are left alone, so the cost is a few hundred extra floats per row.
"""
from __future__ import annotations

import math
from typing import Optional

# unary element-wise ops that onnxruntime's CPU provider evaluates with vectorised approximations
TRANSCENDENTAL = ("Log", "Exp", "Sin", "Cos", "Tan", "Tanh", "Sigmoid", "Erf", "Softplus")
PACKET = 16
PREFIX = "batch_invariant"
INLINE_BYTES = 1024  # initializers at least this big are weights, not shape constants


def _per_row(shape) -> Optional[int]:
    """Elements per batch row of a value with a known shape [batch, d1, ...]; None if unknown."""
    if shape is None or len(shape.dim) == 0:
        return None
    n = 1
    for d in shape.dim[1:]:
        if not d.HasField("dim_value"):
            return None
        n *= d.dim_value
    return n


def repeat_factor(per_row: int) -> int:
    """How many times each element must be repeated so a row spans a multiple of PACKET."""
    return PACKET // math.gcd(per_row, PACKET)


def _structure(model):
    """The model without its weights' data: every initializer of INLINE_BYTES or more (or kept in
    an external-data file) becomes a graph input of the same type and shape. Shape inference and
    the checker serialize the model, which protobuf refuses past 2 GiB (onnx_external.py); this
    view is small at any size and has the same nodes and shapes."""
    from onnx import helper
    from onnx.external_data_helper import uses_external_data

    g = model.graph
    declared = {i.name for i in g.input}
    big = [t for t in g.initializer if uses_external_data(t) or len(t.raw_data) >= INLINE_BYTES]
    names = {t.name for t in big}
    inputs = list(g.input) + [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                              for t in big if t.name not in declared]
    graph = helper.make_graph(list(g.node), g.name, inputs, list(g.output),
                              initializer=[t for t in g.initializer if t.name not in names],
                              value_info=list(g.value_info))
    view = helper.make_model(graph, opset_imports=list(model.opset_import))
    view.ir_version = model.ir_version
    view.functions.extend(model.functions)
    return view


def make_batch_invariant(model):
    """Rewrite `model` (an onnx.ModelProto, opset ≥ 13) in place; returns the number of ops
    rewritten. Works on models of any size and on models whose weights are external data."""
    import onnx
    from onnx import helper, numpy_helper, shape_inference
    import numpy as np

    inferred = shape_inference.infer_shapes(_structure(model), data_prop=True)
    shapes = {v.name: v.type.tensor_type.shape for v in
              list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output)}
    g = model.graph
    made = {i.name for i in g.initializer}

    def const(name, value):
        if name not in made:
            g.initializer.append(numpy_helper.from_array(np.array(value, dtype=np.int64), name))
            made.add(name)
        return name

    nodes = []
    rewritten = 0
    for node in g.node:
        if (node.op_type not in TRANSCENDENTAL or node.domain not in ("", "ai.onnx")
                or node.input[0].startswith(PREFIX + "/")):  # the last: already rewritten
            nodes.append(node)
            continue
        per_row = _per_row(shapes.get(node.input[0]))
        # Unknown shapes are left alone: in these networks they are the activations behind the
        # normalisation's Reshape (C·H·W per row, whole packets), and repeating a big activation
        # 16 times would cost more than the network. The TypeScript suite checks the result on
        # the real graphs (test/engine/batch-invariance.test.ts).
        k = 1 if per_row is None else repeat_factor(per_row)
        if k == 1:
            nodes.append(node)
            continue
        base = f"{PREFIX}/{node.name or node.output[0]}"
        x, y = node.input[0], node.output[0]
        nodes.append(helper.make_node("Unsqueeze", [x, const(f"{PREFIX}/last_axis", [-1])], [f"{base}/lane"]))
        nodes.append(helper.make_node("Expand", [f"{base}/lane", const(f"{PREFIX}/repeat_{k}", [k])], [f"{base}/lanes"]))
        op = onnx.NodeProto()
        op.CopyFrom(node)
        del op.input[:]
        op.input.extend([f"{base}/lanes", *node.input[1:]])
        del op.output[:]
        op.output.append(f"{base}/out")
        nodes.append(op)
        nodes.append(helper.make_node("Gather", [f"{base}/out", const(f"{PREFIX}/lane0", 0)], [y], axis=-1))
        rewritten += 1
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(_structure(model))
    return rewritten


def rewrite_file(path: str) -> int:
    """Rewrite a graph file in place. Idempotent: a rewritten op is recognised by its input (made
    by this rewrite), so a second run finds nothing to do and leaves the file untouched. A graph
    with external data keeps its data file as it is: only the graph's structure is rewritten."""
    import onnx

    model = onnx.load(path, load_external_data=False)
    n = make_batch_invariant(model)
    if n:
        onnx.save(model, path)
        onnx.checker.check_model(path)
    return n
