"""Rebuild the PyTorch modules from an exported graph. Export keeps every weight as a named
initializer (constant folding off), so the state dict comes back bit for bit: the PyTorch
reference sampler and the served graph share one source of truth."""
from __future__ import annotations

import json
import os

import torch

from .networks import CM, GuidedCM, UNet


def _state(path: str) -> dict:
    import onnx
    from onnx import numpy_helper

    return {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in onnx.load(path).graph.initializer}


def load_from_model_dir(model_dir: str, graph: str = "jfdl") -> torch.nn.Module:
    """The CM (graph="cm") or the JFDL model (graph="jfdl") of a model folder, in eval mode."""
    m = json.load(open(os.path.join(model_dir, "model.json")))
    entry = next(g for g in m["graphs"] if g["kind"] == graph)
    st = _state(os.path.join(model_dir, entry["file"]))
    net_cfg = m.get("provenance", {}).get("network")
    if net_cfg is None:
        raise ValueError("model.json provenance.network (widths, blocks, emb) is needed to rebuild the network")
    net = UNet(channels=m["image"]["channels"], num_classes=len(m["classes"]), widths=tuple(net_cfg["widths"]),
               blocks=net_cfg["blocks"], emb=net_cfg["emb"], dropout=0.0)
    model = CM(net, m["sigma"]["min"], m["sigma"]["data"])
    if entry["null_class"] is not None:
        model = GuidedCM(model)
    missing = [k for k in model.state_dict() if k not in st]
    if missing:
        raise ValueError(f"graph lacks weights {missing[:5]}")
    model.load_state_dict({k: st[k] for k in model.state_dict()})
    return model.eval()
