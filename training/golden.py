"""Golden vectors (docs/model-contract.md): network inputs and outputs, and reference-sampler
images, that the TypeScript suite (test/parity.test.ts) checks against onnxruntime-node."""
from __future__ import annotations

import os
from typing import List, Optional, Sequence

import numpy as np
import torch

from .jsonfile import write_json
from .rng import normals
from .sampler import sample

# σ of the network vectors, one per row: both ends of the range and points between
NETWORK_SIGMAS = (80.0, 10.0, 2.0, 0.5, 0.05, 0.002, 1.0, 40.0)


def _f(t) -> List[float]:
    return [float(v) for v in np.asarray(t, dtype=np.float32).reshape(-1)]


def network_golden(model, graph_file: str, shape, labels: List[int], seed: int = 0,
                   sigmas: Optional[Sequence[float]] = None) -> dict:
    """f(x, σ, c) of a batch with row i at sigmas[i] (NETWORK_SIGMAS by default), x = σ·N(0, I)."""
    g = torch.Generator().manual_seed(seed)
    B = len(labels)
    sig = torch.tensor(list(sigmas or NETWORK_SIGMAS)[:B], dtype=torch.float32)
    if len(sig) != B:
        raise ValueError(f"{B} labels but {len(sig)} sigmas")
    x = torch.randn(B, *shape, generator=g) * sig[:, None, None, None]
    lab = torch.tensor(labels, dtype=torch.int64)
    with torch.no_grad():
        out = model.eval()(x, sig, lab)
    return {"graph": graph_file, "shape": [B, *shape], "x": _f(x), "sigma": _f(sig), "class_labels": labels,
            "output": _f(out)}


def sampler_golden(model, model_name: str, settings: list, shape, null_class, schedules: dict) -> list:
    """The reference sampler's final D and pixels for each setting (class, guidance, steps or
    sigmas, sampler, seed, index)."""
    out = []
    for s in settings:
        sig = s.get("sigmas") or schedules[str(s["steps"])]
        px, D = sample(model, [s["class"]], [s["seed"]], [s.get("index", 0)], sig, s["guidance"], s["sampler"],
                       null_class, shape=shape, return_denoised=True)
        out.append({"model": model_name, "class": s["class"], "guidance": s["guidance"], "steps": len(sig),
                    "sigmas": [float(v) for v in sig], "sampler": s["sampler"], "seed": s["seed"],
                    "index": s.get("index", 0),
                    "noise0": _f(normals(s["seed"], s.get("index", 0), 0, int(np.prod(shape)))[:8]),
                    "denoised": _f(D[0]), "pixels": [int(v) for v in px[0].reshape(-1)]})
    return out


GOLDEN_SETTINGS = [
    dict(**{"class": c}, guidance=w, steps=n, sampler=s, seed=seed, index=ix)
    for (c, w, n, s, seed, ix) in [
        (0, 1.0, 1, "ode", 0, 0), (1, 1.0, 2, "ode", 42, 0), (2, 1.3, 2, "ode", 42, 1), (3, 0.0, 2, "ode", 7, 0),
        (4, 1.5, 1, "ode", 123456789, 0), (5, 2.0, 3, "ode", 4294967295, 2), (6, 1.2, 4, "ode", 99, 0),
        (7, 1.0, 2, "consistency", 5, 0), (8, 1.4, 2, "consistency", 5, 3), (9, 3.0, 4, "consistency", 2024, 0),
        (1, 1.1, 3, "consistency", 31337, 1), (0, 4.0, 2, "ode", 1, 0),
    ]
]


def write_golden(path: str, model_name: str, network: list, sampler: list) -> None:
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    write_json(path, {"model": model_name, "network": network, "sampler": sampler}, indent=None)


def model_dir_golden(model_dir: str, out: str, rows: int = 8, seed: int = 0) -> dict:
    """Network vectors for every graph of any model folder (weights read back from its graphs),
    `rows` rows with σ log-spaced from σ_max down to σ_min and classes spread over 0…K−1 (the
    null class too, on a guided graph): `node --import tsx scripts/parity-check.ts DIR FILE`
    compares them with onnxruntime. For folders too large to commit, e.g. a full-size import."""
    from .manifest import read_manifest
    from .onnx_weights import load_from_model_dir

    m = read_manifest(model_dir)
    shape = (m["image"]["channels"], m["image"]["height"], m["image"]["width"])
    K = len(m["classes"])
    smin, smax = m["sigma"]["min"], m["sigma"]["max"]
    sig = [float(smax * (smin / smax) ** (i / max(rows - 1, 1))) for i in range(rows)]
    network = []
    for g in m["graphs"]:
        model = load_from_model_dir(model_dir, g["kind"])
        n = K + (g["null_class"] is not None)
        labels = [(i * 7919) % n if i else n - 1 for i in range(rows)]
        network.append(network_golden(model, g["file"], shape, labels, seed=seed, sigmas=sig))
        del model
    write_golden(out, m["name"], network, [])
    return {"golden": out, "graphs": [g["file"] for g in m["graphs"]], "rows": rows, "sigmas": sig}
