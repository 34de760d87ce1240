"""ONNX export (DESIGN §3, docs/model-contract.md), manifests, golden vectors, the tiny test model."""
from __future__ import annotations

import hashlib
import inspect
import json
import os
from typing import List, Optional

import numpy as np
import torch

from .networks import CM, GuidedCM, UNet
from .sampler import sample
from .schedules import SIGMA_DATA, SIGMA_MAX, SIGMA_MIN, sampling_schedule

OPSET = 17
INPUTS = ["x", "sigma", "class_labels"]
OUTPUT = "denoised"


def export_onnx(model: torch.nn.Module, path: str, shape) -> str:
    """torch.onnx.export with a dynamic batch axis. Constant folding stays off so every CM weight
    keeps its own initializer (the JFDL graph's extra row is a separate `null_embedding`), which
    lets a test prove the JFDL graph carries the CM weights bit for bit; onnxruntime folds at load."""
    model = model.eval().cpu()
    x = torch.randn(2, *shape)
    sigma = torch.tensor([80.0, 0.5])
    labels = torch.tensor([0, 1], dtype=torch.int64)
    kw = dict(input_names=INPUTS, output_names=[OUTPUT], opset_version=OPSET, do_constant_folding=False,
              dynamic_axes={n: {0: "batch"} for n in INPUTS + [OUTPUT]})
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kw["dynamo"] = False  # PyTorch 2.x: the TorchScript exporter honours dynamic_axes and names
    with torch.no_grad():
        torch.onnx.export(model, (x, sigma, labels), path, **kw)
    import onnx
    onnx.checker.check_model(onnx.load(path))
    return sha256(path)


def export_plain(model: torch.nn.Module, path: str, shape, inputs, outputs) -> None:
    """Export a single-input network (the evaluation classifier) with a dynamic batch axis."""
    kw = dict(input_names=inputs, output_names=outputs, opset_version=OPSET,
              dynamic_axes={n: {0: "batch"} for n in inputs + outputs})
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kw["dynamo"] = False
    with torch.no_grad():
        torch.onnx.export(model.eval(), (torch.zeros(2, *shape),), path, **kw)


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _f(t) -> List[float]:
    return [float(v) for v in np.asarray(t, dtype=np.float32).reshape(-1)]


def network_golden(model, graph_file: str, shape, labels: List[int], seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    B = len(labels)
    sig = torch.tensor([80.0, 10.0, 2.0, 0.5, 0.05, 0.002, 1.0, 40.0][:B], dtype=torch.float32)
    x = torch.randn(B, *shape, generator=g) * sig[:, None, None, None]
    lab = torch.tensor(labels, dtype=torch.int64)
    with torch.no_grad():
        out = model.eval()(x, sig, lab)
    return {"graph": graph_file, "shape": [B, *shape], "x": _f(x), "sigma": _f(sig), "class_labels": labels,
            "output": _f(out)}


def sampler_golden(model, model_name: str, settings: list, shape, null_class, schedules: dict) -> list:
    out = []
    for s in settings:
        sig = s.get("sigmas") or schedules[str(s["steps"])]
        px, D = sample(model, [s["class"]], [s["seed"]], [s.get("index", 0)], sig, s["guidance"], s["sampler"],
                       null_class, shape=shape, return_denoised=True)
        from .rng import normals
        out.append({"model": model_name, "class": s["class"], "guidance": s["guidance"], "steps": len(sig),
                    "sigmas": [float(v) for v in sig], "sampler": s["sampler"], "seed": s["seed"],
                    "index": s.get("index", 0),
                    "noise0": _f(normals(s["seed"], s.get("index", 0), 0, int(np.prod(shape)))[:8]),
                    "denoised": _f(D[0]), "pixels": [int(v) for v in px[0].reshape(-1)]})
    return out


def default_schedules(sigma_mid: Optional[float] = None, max_steps: int = 4) -> dict:
    sch = {str(n): sampling_schedule(n) for n in range(1, max_steps + 1)}
    if sigma_mid is not None:
        sch["2"] = [SIGMA_MAX, float(sigma_mid)]
    return sch


def manifest(name: str, description: str, shape, classes, graphs: list, schedules: dict, provenance: dict,
             metrics: dict, default_steps: int = 2, max_steps: int = 8) -> dict:
    return {
        "schema_version": 1, "name": name, "description": description,
        "image": {"channels": shape[0], "height": shape[1], "width": shape[2]},
        "classes": list(classes),
        "sigma": {"min": SIGMA_MIN, "max": SIGMA_MAX, "data": SIGMA_DATA},
        "clamp": True, "default_sampler": "ode", "default_steps": default_steps, "max_steps": max_steps,
        "schedules": schedules, "graphs": graphs, "provenance": provenance, "metrics": metrics,
    }


def validate_manifest(m: dict, root: str = ".") -> None:
    """Checks a manifest against schemas/model.schema.json (the repo's JSON Schema)."""
    import jsonschema
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "schemas", "model.schema.json")) as f:
        jsonschema.validate(m, json.load(f))


GOLDEN_SETTINGS = [
    dict(**{"class": c}, guidance=w, steps=n, sampler=s, seed=seed, index=ix)
    for (c, w, n, s, seed, ix) in [
        (0, 1.0, 1, "ode", 0, 0), (1, 1.0, 2, "ode", 42, 0), (2, 1.3, 2, "ode", 42, 1), (3, 0.0, 2, "ode", 7, 0),
        (4, 1.5, 1, "ode", 123456789, 0), (5, 2.0, 3, "ode", 4294967295, 2), (6, 1.2, 4, "ode", 99, 0),
        (7, 1.0, 2, "consistency", 5, 0), (8, 1.4, 2, "consistency", 5, 3), (9, 3.0, 4, "consistency", 2024, 0),
        (1, 1.1, 3, "consistency", 31337, 1), (0, 4.0, 2, "ode", 1, 0),
    ]
]


def export_tiny(out_dir: str = "test/fixtures/models/tiny-rgb8", golden_path: str = "test/golden/tiny-rgb8.json") -> dict:
    """A random-weight RGB 8x8 model with 4 classes and a null class: a fast fixture for the
    3-channel path. Every weight is random (no zero-initialised layers), so the output depends on
    the input, σ and class."""
    torch.manual_seed(1234)
    shape = (3, 8, 8)
    net = UNet(channels=3, num_classes=4, widths=(8, 16), blocks=1, emb=16, dropout=0.0)
    with torch.no_grad():
        for p in net.parameters():
            if p.abs().sum() == 0:
                p.normal_(0, 0.1)
    cm = CM(net)
    g = GuidedCM(cm)
    with torch.no_grad():
        g.null_embedding.normal_(0, 1)
    os.makedirs(out_dir, exist_ok=True)
    files = {"cm.onnx": export_onnx(cm, os.path.join(out_dir, "cm.onnx"), shape),
             "jfdl.onnx": export_onnx(g, os.path.join(out_dir, "jfdl.onnx"), shape)}
    sched = default_schedules()
    classes = ["red", "green", "blue", "gray"]
    graphs = [
        {"model": "tiny-rgb8", "kind": "jfdl", "file": "jfdl.onnx", "sha256": files["jfdl.onnx"], "null_class": 4,
         "guidance": {"default": 1.5, "min": 0.0, "max": 4.0}},
        {"model": "tiny-rgb8-cm", "kind": "cm", "file": "cm.onnx", "sha256": files["cm.onnx"], "null_class": None,
         "guidance": {"default": 1.0, "min": 1.0, "max": 1.0}},
    ]
    m = manifest("tiny-rgb8", "Random-weight RGB 8x8 test fixture (4 classes + null class). Not a real model.",
                 shape, classes, graphs, sched, {"dataset": "none (random weights, seed 1234)"}, {})
    validate_manifest(m)
    json.dump(m, open(os.path.join(out_dir, "model.json"), "w"), indent=1)
    settings = [dict(s, **{"class": s["class"] % 4}) for s in GOLDEN_SETTINGS]
    golden = {"model": "tiny-rgb8",
              "network": [network_golden(g, "jfdl.onnx", shape, [0, 1, 4, 3, 4, 2]),
                          network_golden(cm, "cm.onnx", shape, [3, 2, 1, 0], seed=1)],
              "sampler": sampler_golden(g, "tiny-rgb8", [s for s in settings], shape, 4, sched)
              + sampler_golden(cm, "tiny-rgb8-cm", [dict(s, guidance=1.0) for s in settings[:3]], shape, None, sched)}
    os.makedirs(os.path.dirname(golden_path), exist_ok=True)
    json.dump(golden, open(golden_path, "w"))
    return {"dir": out_dir, "files": files, "golden": golden_path}
