"""`python3 -m training export`: the evaluated digits16 run as its model folder (graphs, manifest,
metrics, model card) and its golden vectors. The pieces are generic: onnx_export.py (graphs and
hashes), manifest.py (model.json), model_folder.py (a whole folder), golden.py, model_card.py."""
from __future__ import annotations

import os

from .golden import GOLDEN_SETTINGS, network_golden, sampler_golden, write_golden
from .jsonfile import read_json, write_json
from .manifest import default_schedules
from .model_card import write_card
from .model_folder import Graph, write_model_folder


def export_all(out: str, model_dir: str = "models/digits16", golden_path: str = "test/golden/digits16.json") -> dict:
    """Exports the chosen run (metrics.json's `chosen`) as the digits16 model folder."""
    from .stages import load_cm, load_guided

    res = read_json(os.path.join(out, "metrics.json"))
    ch = res["chosen"]
    s0 = os.path.join(out, ch["run"], "stage0")
    cm = load_cm(s0)
    g = load_guided(s0, os.path.join(out, ch["run"], "jfdl", f"null_{ch['variant']}.pt"))
    shape = (1, 16, 16)
    sched = default_schedules(ch["sigma_mid"])
    bw = res["headline"]["jfdl_best_w"]
    meta = read_json(os.path.join(s0, "meta.json"))
    train_res = read_json(os.path.join(s0, "result.json"))
    prov = {"dataset": "scikit-learn digits (1,797 real 8x8 handwritten digits), bilinear 16x16, 300 held out",
            "training": {"stage0": {"method": "iCT consistency training, no teacher", "iterations": train_res["steps"],
                                    "batch": meta["batch"], "lr": meta["lr"], "params": train_res["params"],
                                    "device": train_res["device"], "wall_s": train_res["wall_s"]},
                         "jfdl": {"variant": ch["variant"], "trained": "null-class embedding only (CM frozen)"}},
            "classifier": res["classifier"], "network": {k: meta["net"][k] for k in ("widths", "blocks", "emb")}}
    graphs = [Graph("digits16", "jfdl", "jfdl.onnx", g, null_class=10, guidance={"default": bw, "min": 0.0, "max": 4.0}),
              Graph("digits16-cm", "cm", "cm.onnx", cm)]
    metrics = {"headline": res["headline"], "cm": res["cm"], "images_per_setting": res["images_per_setting"]}
    m = write_model_folder(
        model_dir, "digits16",
        "Class-conditional consistency model of handwritten digits (16x16 gray), consistency-trained "
        "without a teacher, with a post-hoc JFDL guidance embedding.", shape, [str(i) for i in range(10)],
        graphs, sched, prov, metrics)
    write_json(os.path.join(model_dir, "metrics.json"), res)
    write_card(model_dir, m, res)
    write_golden(golden_path, "digits16",
                 [network_golden(g, "jfdl.onnx", shape, [0, 10, 5, 10, 9, 3, 10, 7]),
                  network_golden(cm, "cm.onnx", shape, [1, 2, 3, 4], seed=1)],
                 sampler_golden(g, "digits16", GOLDEN_SETTINGS, shape, 10, sched)
                 + sampler_golden(cm, "digits16-cm", [dict(s, guidance=1.0) for s in GOLDEN_SETTINGS[:4]], shape, None,
                                  sched))
    return {"model_dir": model_dir, "files": {e["file"]: e["sha256"] for e in m["graphs"]}, "golden": golden_path}
