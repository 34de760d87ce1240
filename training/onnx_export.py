"""ONNX export of the model contract's graphs (docs/model-contract.md) and their SHA-256."""
from __future__ import annotations

import hashlib
import inspect

import torch

from .batch_invariant import rewrite_file

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


def export_onnx(model: torch.nn.Module, path: str, shape) -> str:
    """A CM or JFDL graph with the model contract's names; returns its SHA-256. Constant folding
    stays off so every CM weight keeps its own initializer (the JFDL graph's extra row is a
    separate `null_embedding`), which lets a test prove the JFDL graph carries the CM weights bit
    for bit; onnxruntime folds at load. The graph is then made batch-invariant
    (batch_invariant.py), so a row's output does not depend on the other rows of its call."""
    args = (torch.randn(2, *shape), torch.tensor([80.0, 0.5]), torch.tensor([0, 1], dtype=torch.int64))
    _torch_export(model, args, path, INPUTS, [OUTPUT], fold=False)
    rewrite_file(path)  # checks the model too
    return sha256(path)


def export_plain(model: torch.nn.Module, path: str, shape, inputs, outputs) -> None:
    """A single-input network (the evaluation classifier)."""
    _torch_export(model, (torch.zeros(2, *shape),), path, inputs, outputs, fold=True)


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
