"""Rebuild the PyTorch modules from an exported graph. Export keeps every weight as a named
initializer (constant folding off), so the state dict comes back bit for bit: the PyTorch
reference sampler, the JFDL alignment of an imported model and the served graph share one
source of truth."""
from __future__ import annotations

import os

import torch

from .manifest import read_manifest
from .networks import CM, GuidedCM, UNet


def graph_weights(path: str) -> dict:
    """The graph's initializers as float32 tensors (external data read from beside the graph;
    float16 weights widened exactly, as the graph's Casts widen them)."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    out = {}
    for i in onnx.load(path).graph.initializer:
        a = numpy_helper.to_array(i)
        out[i.name] = torch.from_numpy((a.astype(np.float32) if a.dtype == np.float16 else a).copy())
    return out


def _cm_for(m: dict) -> torch.nn.Module:
    """The CM module the manifest's provenance.network describes, weights not yet loaded."""
    from .openai_import import is_openai

    net_cfg = m.get("provenance", {}).get("network")
    if net_cfg is None:
        raise ValueError("model.json provenance.network is needed to rebuild the network")
    if is_openai(m):
        from .openai_cm import build_openai_cm
        from .openai_unet import UNetConfig

        cfg = UNetConfig.from_json({k: v for k, v in net_cfg.items() if k != "family"})
        return build_openai_cm(cfg, m["sigma"]["min"], device="meta").to_empty(device="cpu")
    net = UNet(channels=m["image"]["channels"], num_classes=len(m["classes"]), widths=tuple(net_cfg["widths"]),
               blocks=net_cfg["blocks"], emb=net_cfg["emb"], dropout=0.0)
    return CM(net, m["sigma"]["min"], m["sigma"]["data"])


def load_from_model_dir(model_dir: str, graph: str = "jfdl") -> torch.nn.Module:
    """The CM (graph="cm") or the JFDL model (graph="jfdl") of a model folder, in eval mode."""
    m = read_manifest(model_dir)
    entries = [g for g in m["graphs"] if g["kind"] == graph]
    if not entries:
        raise ValueError(f"{model_dir}/model.json lists no {graph!r} graph")
    entry = entries[0]
    st = graph_weights(os.path.join(model_dir, entry["file"]))
    model = _cm_for(m)
    if entry["null_class"] is not None:
        model = GuidedCM(model)
    missing = [k for k in model.state_dict() if k not in st]
    if missing:
        raise ValueError(f"graph lacks weights {missing[:5]}")
    model.load_state_dict({k: st[k] for k in model.state_dict()})
    return model.eval()
