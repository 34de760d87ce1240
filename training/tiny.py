"""The random-weight RGB 8×8 test fixture (test/fixtures/models/tiny-rgb8) and its golden vectors:
a fast model for the 3-channel path of the TypeScript suite."""
from __future__ import annotations

import torch

from .golden import GOLDEN_SETTINGS, network_golden, sampler_golden, write_golden
from .manifest import default_schedules
from .model_folder import Graph, write_model_folder
from .networks import CM, GuidedCM, UNet


def export_tiny(out_dir: str = "test/fixtures/models/tiny-rgb8", golden_path: str = "test/golden/tiny-rgb8.json") -> dict:
    """A random-weight RGB 8x8 model with 4 classes and a null class. Every weight is random (no
    zero-initialised layers), so the output depends on the input, σ and class."""
    torch.manual_seed(1234)
    shape = (3, 8, 8)
    net = UNet(channels=3, num_classes=4, widths=(8, 16), blocks=1, emb=16, dropout=0.0)
    with torch.no_grad():  # perturb every tensor: no zero layers, and no two identical initializers
        for p in net.parameters():  # (the exporter would merge those, and names must survive export)
            p.add_(torch.randn_like(p) * 0.1)
    cm = CM(net)
    g = GuidedCM(cm)
    with torch.no_grad():
        g.null_embedding.normal_(0, 1)
    sched = default_schedules()
    m = write_model_folder(
        out_dir, "tiny-rgb8", "Random-weight RGB 8x8 test fixture (4 classes + null class). Not a real model.",
        shape, ["red", "green", "blue", "gray"],
        [Graph("tiny-rgb8", "jfdl", "jfdl.onnx", g, null_class=4, guidance={"default": 1.5, "min": 0.0, "max": 4.0}),
         Graph("tiny-rgb8-cm", "cm", "cm.onnx", cm)],
        sched, {"dataset": "none (random weights, seed 1234)", "network": {"widths": [8, 16], "blocks": 1, "emb": 16}})
    settings = [dict(s, **{"class": s["class"] % 4}) for s in GOLDEN_SETTINGS]
    write_golden(golden_path, "tiny-rgb8",
                 [network_golden(g, "jfdl.onnx", shape, [0, 1, 4, 3, 4, 2]),
                  network_golden(cm, "cm.onnx", shape, [3, 2, 1, 0], seed=1)],
                 sampler_golden(g, "tiny-rgb8", settings, shape, 4, sched)
                 + sampler_golden(cm, "tiny-rgb8-cm", [dict(s, guidance=1.0) for s in settings[:3]], shape, None, sched))
    return {"dir": out_dir, "files": {e["file"]: e["sha256"] for e in m["graphs"]}, "golden": golden_path}
