"""ONNX export of the model contract's graphs (docs/model-contract.md) and their SHA-256: float32
or float16 weights (onnx_float16.py), self-contained or with external data (onnx_external.py)."""
from __future__ import annotations

import hashlib
import inspect
import os
import tempfile
from typing import Optional

import torch

from . import onnx_external
from .batch_invariant import make_batch_invariant
from .onnx_float16 import weights_to_float16

OPSET = 17
INPUTS = ["x", "sigma", "class_labels"]
OUTPUT = "denoised"


def _torch_export(model: torch.nn.Module, args: tuple, path: str, inputs, outputs, fold: bool) -> None:
    """torch.onnx.export at OPSET with a dynamic batch axis on every input and output."""
    kw = dict(input_names=list(inputs), output_names=list(outputs), opset_version=OPSET, do_constant_folding=fold,
              dynamic_axes={n: {0: "batch"} for n in list(inputs) + list(outputs)})
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kw["dynamo"] = False  # PyTorch 2.x: the TorchScript exporter honours dynamic_axes and names
    with torch.no_grad():
        torch.onnx.export(model.eval().cpu(), args, path, **kw)


DTYPES = ("float32", "float16")


def export_onnx(model: torch.nn.Module, path: str, shape, dtype: str = "float32",
                external_data: Optional[bool] = None) -> dict:
    """A CM or JFDL graph with the model contract's names. Returns what its manifest entry says
    of its files: {"sha256", "external_data": [{"file", "sha256"}], "weights_dtype"}.

    Constant folding stays off so every CM weight keeps its own initializer (the JFDL graph's
    extra row is a separate `null_embedding`), which lets a test prove the JFDL graph carries the
    CM weights bit for bit; onnxruntime folds at load. With dtype "float16" the module's
    parameters are stored in half precision (onnx_float16.py); the inputs, output and σ
    arithmetic stay float32. The graph is made batch-invariant (batch_invariant.py), so a row's
    output does not depend on the other rows of its call. `external_data`: True puts the weights
    in `<file>.data` beside the graph, False keeps them inside, None (default) does so only when
    the graph would pass protobuf's 2 GiB limit (onnx_external.py)."""
    import onnx

    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r}: one of {', '.join(DTYPES)}")
    args = (torch.randn(2, *shape), torch.tensor([80.0, 0.5]), torch.tensor([0, 1], dtype=torch.int64))
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    # PyTorch writes a graph past 2 GiB as one file per tensor beside it: export into a scratch
    # folder, read it back whole, and write the graph the way this project lays it out
    with tempfile.TemporaryDirectory(dir=folder, prefix=".export-") as tmp:
        raw = os.path.join(tmp, "graph.onnx")
        _torch_export(model, args, raw, INPUTS, [OUTPUT], fold=False)
        proto = onnx.load(raw)
    if dtype == "float16":
        weights_to_float16(proto, [n for n, _ in model.named_parameters()])
    make_batch_invariant(proto)
    external = onnx_external.needs_external_data(proto) if external_data is None else bool(external_data)
    files = onnx_external.save(proto, path, external)
    del proto
    onnx.checker.check_model(path)
    return {"sha256": sha256(path), "weights_dtype": dtype,
            "external_data": [{"file": f, "sha256": sha256(os.path.join(folder, f))} for f in files]}


def export_plain(model: torch.nn.Module, path: str, shape, inputs, outputs) -> None:
    """A single-input network (the evaluation classifier)."""
    _torch_export(model, (torch.zeros(2, *shape),), path, inputs, outputs, fold=True)


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
