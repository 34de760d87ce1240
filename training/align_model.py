"""`python3 -m training align --model-dir DIR --data FOLDER`: JFDL on a model folder's plain CM
(an imported checkpoint, or any folder whose provenance.network this project can rebuild) with
the user's own images, then `jfdl.onnx` written beside `cm.onnx` and listed in model.json, so the
service serves the model with guidance.

The CM is rebuilt from cm.onnx's own initializers (bit for bit) and stays frozen; only a new row
of its class table is learned (stages.align_null_embedding: stage 1, then stage 2)."""
from __future__ import annotations

import os
import time
from typing import Optional

import torch

from .data import read_image_folder
from .manifest import read_manifest, write_manifest
from .model_card import write_card
from .model_folder import Graph, add_graph, graph_layout
from .networks import GuidedCM
from .onnx_weights import load_from_model_dir
from .stages import align_null_embedding
from .training_loop import pick_device

# Not measured for an imported model (that needs an evaluation like digits16's): a start inside
# the range that helps consistency models, which is far below diffusion models' 4-7 (digits16's
# measured optimum is 1.5, its Fréchet distance degrades beyond 2).
DEFAULT_GUIDANCE = {"default": 1.3, "min": 0.0, "max": 4.0}


def model_labels(folder_classes, model_classes, root: str) -> list:
    """Each folder's index among the model's classes; an unknown folder name is refused."""
    index = {c: i for i, c in enumerate(model_classes)}
    unknown = [c for c in folder_classes if c not in index]
    if unknown:
        shown = ", ".join(repr(c) for c in unknown[:5]) + (" …" if len(unknown) > 5 else "")
        raise ValueError(f"{root}: sub-folder(s) {shown} are not class names of the model (its classes: "
                         f"{', '.join(model_classes[:5])}{' …' if len(model_classes) > 5 else ''})")
    return [index[c] for c in folder_classes]


def align_model_dir(model_dir: str, data_root: str, run_dir: str, stage1_iters: int = 800, stage2_iters: int = 800,
                    batch: int = 128, lr: float = 1e-2, seed: int = 1, guidance: Optional[dict] = None) -> dict:
    m = read_manifest(model_dir)
    C, H, W = m["image"]["channels"], m["image"]["height"], m["image"]["width"]
    if H != W:
        raise ValueError(f"{model_dir}: {H}x{W} images; the image-folder loader makes square images")
    if not any(g["kind"] == "cm" for g in m["graphs"]):
        raise ValueError(f"{model_dir}/model.json lists no plain CM graph (kind \"cm\") to align")
    folder_classes, x, y_folder = read_image_folder(data_root, H, C)
    to_model = torch.tensor(model_labels(folder_classes, m["classes"], data_root), dtype=torch.int64)
    y = to_model[y_folder]
    dev = pick_device()
    t0 = time.time()
    cm = load_from_model_dir(model_dir, "cm")
    t_loaded = time.time()
    res = align_null_embedding(cm.to(dev), x, y, run_dir, stage1_iters, stage2_iters, batch, lr, seed,
                               ablation=False, device=dev, checkpoint_null_only=True)
    t_aligned = time.time()
    g = GuidedCM(cm.cpu())
    with torch.no_grad():
        g.null_embedding.copy_(torch.load(os.path.join(run_dir, "null_s12.pt"), map_location="cpu"))
    g.eval()
    taken = {e["model"] for e in m["graphs"] if e["file"] != "jfdl.onnx"}
    served = m["name"] if m["name"] not in taken else f"{m['name']}-jfdl"
    K = len(m["classes"])
    cm_entry = next(e for e in m["graphs"] if e["kind"] == "cm")
    # written as the CM was (float16 weights, external data), so both graphs carry the same weight bits
    m = add_graph(model_dir, Graph(served, "jfdl", "jfdl.onnx", g, null_class=K,
                                   guidance=dict(guidance or DEFAULT_GUIDANCE)), **graph_layout(cm_entry))
    t_exported = time.time()
    m["provenance"]["jfdl"] = {
        "trained": "null-class embedding only (CM frozen): stage 1 (unconditional consistency loss) then stage 2 "
                   "(joint-flow alignment)",
        "data": os.path.basename(os.path.normpath(data_root)), "images": int(len(y)),
        "classes_seen": len(folder_classes), "stage1_iters": stage1_iters, "stage2_iters": stage2_iters,
        "batch": batch, "lr": lr, "seed": seed, "device": str(dev),
        "guidance_default": "a starting point, not measured for this model"}
    write_manifest(model_dir, m)
    write_card(model_dir, m)
    return {"model_dir": model_dir, "model": served, "null_class": K, "images": int(len(y)),
            "classes_seen": len(folder_classes), "device": str(dev), "alignment": res,
            "wall_s": {"load_cm": round(t_loaded - t0, 1), "align": round(t_aligned - t_loaded, 1),
                       "export": round(t_exported - t_aligned, 1)}}
