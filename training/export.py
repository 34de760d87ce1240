"""`python3 -m training export`: an evaluated run of a shipped dataset (training/presets.py:
digits16, fashion-mnist) as its model folder (graphs, manifest, metrics, model card) and its
golden vectors. The pieces are generic: onnx_export.py (graphs and
hashes), manifest.py (model.json), model_folder.py (a whole folder), golden.py, model_card.py."""
from __future__ import annotations

import os

from .golden import GOLDEN_SETTINGS, network_golden, sampler_golden, write_golden
from .jsonfile import read_json, write_json
from .manifest import default_schedules
from .model_card import write_card
from .model_folder import Graph, write_model_folder


def export_all(out: str, model_dir: str = None, golden_path: str = None, dataset: str = "digits16",
               dtype: str = "float32", external_data=None) -> dict:
    """Exports the chosen run (metrics.json's `chosen`) as the dataset's model folder; `dtype` and
    `external_data` as onnx_export.export_onnx takes them. The golden vectors are the PyTorch
    model's as the graphs hold it: with float16 weights, the modules rebuilt from the graphs."""
    from .data import load
    from .presets import preset
    from .stages import load_cm, load_guided

    p = preset(dataset)
    model_dir = model_dir or p.model_dir
    golden_path = golden_path or p.golden
    data = load(dataset)
    res = read_json(os.path.join(out, "metrics.json"))
    ch = res["chosen"]
    s0 = os.path.join(out, ch["run"], "stage0")
    cm = load_cm(s0)
    g = load_guided(s0, os.path.join(out, ch["run"], "jfdl", f"null_{ch['variant']}.pt"))
    shape = data.shape
    K = len(data.classes)
    sched = default_schedules(ch["sigma_mid"])
    bw = res["headline"]["jfdl_best_w"]
    meta = read_json(os.path.join(s0, "meta.json"))
    train_res = read_json(os.path.join(s0, "result.json"))
    prov = {"dataset": p.data_text,
            "training": {"stage0": {"method": "iCT consistency training, no teacher", "iterations": train_res["steps"],
                                    "batch": meta["batch"], "lr": meta["lr"], "params": train_res["params"],
                                    "device": train_res["device"], "wall_s": train_res["wall_s"],
                                    # how the run went, when it did not go in one piece (result.json's note)
                                    **({"note": train_res["note"]} if "note" in train_res else {})},
                         "jfdl": {"variant": ch["variant"], "trained": "null-class embedding only (CM frozen)"}},
            "classifier": res["classifier"], "network": {k: meta["net"][k] for k in ("widths", "blocks", "emb")}}
    graphs = [Graph(p.model, "jfdl", "jfdl.onnx", g, null_class=K, guidance={"default": bw, "min": 0.0, "max": 4.0}),
              Graph(f"{p.model}-cm", "cm", "cm.onnx", cm)]
    metrics = {"headline": res["headline"], "cm": res["cm"], "images_per_setting": res["images_per_setting"]}
    # the default schedule is the evaluation's (metrics.json `chosen`): the preset's sampler, at
    # the σ_mid where the 2-step CM had its lowest Fréchet distance with it
    m = write_model_folder(model_dir, p.model, p.description, shape, list(data.classes), graphs, sched, prov, metrics,
                           dtype=dtype, external_data=external_data, default_sampler=ch["sampler"])
    if dtype == "float16":
        from .onnx_weights import load_from_model_dir
        cm, g = load_from_model_dir(model_dir, "cm"), load_from_model_dir(model_dir, "jfdl")
    write_json(os.path.join(model_dir, "metrics.json"), res)
    write_card(model_dir, m, res)
    jfdl_labels, cm_labels = ([min(c, K) for c in p.golden_labels[0]], list(p.golden_labels[1]))
    write_golden(golden_path, p.model,
                 [network_golden(g, "jfdl.onnx", shape, jfdl_labels),
                  network_golden(cm, "cm.onnx", shape, cm_labels, seed=1)],
                 sampler_golden(g, p.model, GOLDEN_SETTINGS, shape, K, sched)
                 + sampler_golden(cm, f"{p.model}-cm", [dict(s, guidance=1.0) for s in GOLDEN_SETTINGS[:4]], shape, None,
                                  sched))
    return {"model_dir": model_dir, "files": {e["file"]: e["sha256"] for e in m["graphs"]}, "golden": golden_path}
