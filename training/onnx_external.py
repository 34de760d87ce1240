"""ONNX external data: a graph's weights in a file beside it (`cm.onnx` + `cm.onnx.data`).

A protobuf message cannot pass 2 GiB, so a graph whose weights would take it past that must keep
them outside the `.onnx` file; the export does so by itself then, or whenever asked
(`--external-data`, which the tests use on small graphs). The model folder's manifest lists each
external-data file with its SHA-256 (docs/model-contract.md), and the service verifies them as it
verifies the graph.

One data file per graph, named `<graph file>.data`. Tensors of at least THRESHOLD bytes go there,
each at an offset aligned to ALIGN bytes, so onnxruntime may map them from the file where it
can; small tensors stay inline. Written here rather than with onnx.save_model's external-data
option, which appends to an existing data file (a re-export would leave the old weights in it)
and aligns nothing in the onnx versions Debian ships (1.12)."""
from __future__ import annotations

import os

PROTOBUF_LIMIT = 2 ** 31  # bytes: protobuf's hard limit on one serialized message
# room for everything in the graph but the weights (nodes, names, shapes: a few MB at 296M parameters)
STRUCTURE_MARGIN = 64 * 2 ** 20
THRESHOLD = 1024
ALIGN = 4096


def data_file_name(graph_file: str) -> str:
    return os.path.basename(graph_file) + ".data"


def weight_bytes(model) -> int:
    """Bytes of tensor data held inline by the model's initializers."""
    return sum(len(t.raw_data) for t in _tensors(model))


def needs_external_data(model) -> bool:
    """Whether the model, serialized, would pass protobuf's 2 GiB limit."""
    return weight_bytes(model) + STRUCTURE_MARGIN >= PROTOBUF_LIMIT


def _tensors(model):
    """Every initializer of the main graph (what the exporter writes weights as)."""
    return list(model.graph.initializer)


def save(model, path: str, external: bool) -> list:
    """Write `model` to `path`; with `external`, its large tensors to `<path>.data` beside it.
    Returns the external-data file names (empty when the graph is self-contained). A stale data
    file of an earlier export of the same graph is removed either way."""
    import onnx
    from onnx.external_data_helper import set_external_data

    data_name = data_file_name(path)
    data_path = os.path.join(os.path.dirname(path), data_name)
    if os.path.exists(data_path):
        os.remove(data_path)
    if not external:
        onnx.save(model, path)
        return []
    with open(data_path, "wb") as f:
        for t in _tensors(model):
            if not t.HasField("raw_data") or len(t.raw_data) < THRESHOLD:
                continue
            pad = (-f.tell()) % ALIGN
            if pad:
                f.write(b"\0" * pad)
            offset = f.tell()
            f.write(t.raw_data)
            set_external_data(t, data_name, offset, len(t.raw_data))
            t.ClearField("raw_data")
            t.data_location = onnx.TensorProto.EXTERNAL
    onnx.save(model, path)  # tensors already outside: only the structure is serialized
    return [data_name]


def external_files(path: str) -> list:
    """The external-data file names a saved graph refers to, in order of first use (read
    without loading the data)."""
    import onnx
    from onnx.external_data_helper import ExternalDataInfo, uses_external_data

    model = onnx.load(path, load_external_data=False)
    seen = []
    for t in _all_tensors(model):
        if uses_external_data(t):
            loc = ExternalDataInfo(t).location
            if loc not in seen:
                seen.append(loc)
    return seen


def _all_tensors(model):
    """Initializers and attribute tensors of the graph and its subgraphs."""
    from onnx.external_data_helper import _get_all_tensors

    return _get_all_tensors(model)
