"""ONNX export (DESIGN §3, docs/model-contract.md), manifests, golden vectors, the tiny test model."""
from __future__ import annotations

import hashlib
import inspect
import json
import os
from typing import List, Optional

import numpy as np
import torch

from .batch_invariant import rewrite_file
from .networks import CM, GuidedCM, UNet
from .rng import normals
from .sampler import sample
from .schedules import SIGMA_DATA, SIGMA_MAX, SIGMA_MIN, sampling_schedule

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
    """A CM or JFDL graph with the model contract's names. Constant folding stays off so every CM
    weight keeps its own initializer (the JFDL graph's extra row is a separate `null_embedding`),
    which lets a test prove the JFDL graph carries the CM weights bit for bit; onnxruntime folds
    at load. The graph is then made batch-invariant (batch_invariant.py), so a row's output does
    not depend on the other rows of its call."""
    args = (torch.randn(2, *shape), torch.tensor([80.0, 0.5]), torch.tensor([0, 1], dtype=torch.int64))
    _torch_export(model, args, path, INPUTS, [OUTPUT], fold=False)
    rewrite_file(path)  # checks the model too
    return sha256(path)


def make_model_dir_batch_invariant(model_dir: str) -> dict:
    """Rewrite the CM and JFDL graphs of an exported model folder (batch_invariant.py) and update
    their SHA-256 in model.json. Returns {file: ops rewritten}."""
    path = os.path.join(model_dir, "model.json")
    m = json.load(open(path))
    done = {}
    for g in m["graphs"]:
        f = os.path.join(model_dir, g["file"])
        done[g["file"]] = rewrite_file(f)
        g["sha256"] = sha256(f)
    validate_manifest(m)
    json.dump(m, open(path, "w"), indent=1)
    return done


def export_plain(model: torch.nn.Module, path: str, shape, inputs, outputs) -> None:
    """A single-input network (the evaluation classifier)."""
    _torch_export(model, (torch.zeros(2, *shape),), path, inputs, outputs, fold=True)


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
    with torch.no_grad():  # perturb every tensor: no zero layers, and no two identical initializers
        for p in net.parameters():  # (the exporter would merge those, and names must survive export)
            p.add_(torch.randn_like(p) * 0.1)
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
                 shape, classes, graphs, sched, {"dataset": "none (random weights, seed 1234)",
                                                 "network": {"widths": [8, 16], "blocks": 1, "emb": 16}}, {})
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


ABLATION_NAMES = {"s1": "stage 1 alone", "s12": "stage 1 + 2", "s2": "stage 2 alone"}


def _card(m: dict, res: dict) -> str:
    h = res["headline"]
    g = res["jfdl_grid"]
    lines = [f"# {m['name']} — a consistency model with JFDL guidance", "", m["description"], "",
             "Graphs: `jfdl.onnx` (served as `digits16`: the CM plus the learned null-class guidance embedding, "
             "index 10) and `cm.onnx` (served as `digits16-cm`: the CM as trained, conditional only, guidance fixed "
             "at 1). `classifier.onnx` is the evaluation classifier (input `image` [B,1,16,16] in [-1,1]; outputs "
             "`logits`, `features`).", "",
             f"Training: {json.dumps(m['provenance'].get('training', {}))}", "",
             "## Headline (2 steps, `ode` sampler, " f"σ_mid = {res['cm']['sigma_mid_ode']}, "
             f"{res['images_per_setting']} images per setting)", "",
             "| model | w | classifier accuracy | Fréchet distance |", "| --- | --- | --- | --- |",
             f"| CM | 1 | {h['cm']['accuracy']} | {h['cm']['fd']} |",
             f"| JFDL | {h['jfdl_best_w']} | {h['jfdl_at_best_w']['accuracy']} | {h['jfdl_at_best_w']['fd']} |", "",
             f"Fréchet distance drop at the best w: {100 * h['fd_drop']:.1f}%. Held-out real images score "
             f"accuracy {res['real_held_out']['accuracy']} (classifier trained on the training split only).", "",
             "## Guidance sweep (JFDL model)", "",
             "| w | 1 step acc | 1 step FD | 2 step ode acc | 2 step ode FD | 2 step consistency acc | 2 step consistency FD |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for w in g["2step_ode"]:
        lines.append(f"| {w} | {g['1step'][w]['accuracy']} | {g['1step'][w]['fd']} | {g['2step_ode'][w]['accuracy']} | "
                     f"{g['2step_ode'][w]['fd']} | {g['2step_consistency'][w]['accuracy']} | {g['2step_consistency'][w]['fd']} |")
    c = res["cm"]
    lines += ["", f"CM (w = 1): 1 step acc {c['1step']['accuracy']} FD {c['1step']['fd']}; 2 step ode "
              f"acc {c['2step_ode']['accuracy']} FD {c['2step_ode']['fd']}; 2 step consistency (σ_mid = "
              f"{c['sigma_mid_consistency']}) acc {c['2step_consistency']['accuracy']} FD {c['2step_consistency']['fd']}.",
              "", "## Ablation: which JFDL stages (2 steps, ode; accuracy / FD per w)", "",
              "| w | " + " | ".join(ABLATION_NAMES.get(v, v) for v in res["ablation_2step_ode"]) + " |",
              "| --- |" + " --- |" * len(res["ablation_2step_ode"])]
    for w in g["2step_ode"]:
        lines.append(f"| {w} | " + " | ".join(f"{t[w]['accuracy']} / {t[w]['fd']}" for t in res["ablation_2step_ode"].values())
                     + " |")
    lines += ["", f"Shipped: {ABLATION_NAMES.get(res['chosen']['variant'], res['chosen']['variant'])}.", "",
              "## Normality of the implied noise ε̂ = (x − f(x, σ, ·))/σ (held-out images, 2,000 values each)", "",
              "| σ | branch | mean | std | D'Agostino K² | p | KS vs N(0,1) | p |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['sigma']} | {r['branch']} | {r['mean']} | {r['std']} | {r['k2']} | {r['k2_p']} | {r['ks']} | {r['ks_p']} |"
              for r in res["normality"]]
    lines += ["", "![samples](samples.png)", "",
              "Rows: classes 0-9; columns: w = 0, 1, 1.2, 1.4, 2, 3 (2 steps, ode, one seed per row).", "",
              "All figures: `runs/<run>/metrics.json` from `python3 -m training evaluate`; see training/README.md."]
    return "\n".join(lines) + "\n"


def export_all(out: str, model_dir: str = "models/digits16", golden_path: str = "test/golden/digits16.json") -> dict:
    """Exports the chosen run (metrics.json's `chosen`) as the digits16 model folder."""
    from .stages import load_cm, load_guided

    res = json.load(open(os.path.join(out, "metrics.json")))
    ch = res["chosen"]
    s0 = os.path.join(out, ch["run"], "stage0")
    cm = load_cm(s0)
    g = load_guided(s0, os.path.join(out, ch["run"], "jfdl", f"null_{ch['variant']}.pt"))
    shape = (1, 16, 16)
    os.makedirs(model_dir, exist_ok=True)
    files = {f: export_onnx(m, os.path.join(model_dir, f), shape) for f, m in [("cm.onnx", cm), ("jfdl.onnx", g)]}
    sched = default_schedules(ch["sigma_mid"])
    bw = res["headline"]["jfdl_best_w"]
    meta = json.load(open(os.path.join(s0, "meta.json")))
    train_res = json.load(open(os.path.join(s0, "result.json")))
    prov = {"dataset": "scikit-learn digits (1,797 real 8x8 handwritten digits), bilinear 16x16, 300 held out",
            "training": {"stage0": {"method": "iCT consistency training, no teacher", "iterations": train_res["steps"],
                                    "batch": meta["batch"], "lr": meta["lr"], "params": train_res["params"],
                                    "device": train_res["device"], "wall_s": train_res["wall_s"]},
                         "jfdl": {"variant": ch["variant"], "trained": "null-class embedding only (CM frozen)"}},
            "classifier": res["classifier"], "network": {k: meta["net"][k] for k in ("widths", "blocks", "emb")}}
    graphs = [
        {"model": "digits16", "kind": "jfdl", "file": "jfdl.onnx", "sha256": files["jfdl.onnx"], "null_class": 10,
         "guidance": {"default": bw, "min": 0.0, "max": 4.0}},
        {"model": "digits16-cm", "kind": "cm", "file": "cm.onnx", "sha256": files["cm.onnx"], "null_class": None,
         "guidance": {"default": 1.0, "min": 1.0, "max": 1.0}},
    ]
    metrics = {"headline": res["headline"], "cm": res["cm"], "images_per_setting": res["images_per_setting"]}
    m = manifest("digits16",
                 "Class-conditional consistency model of handwritten digits (16x16 gray), consistency-trained "
                 "without a teacher, with a post-hoc JFDL guidance embedding.", shape, [str(i) for i in range(10)],
                 graphs, sched, prov, metrics)
    validate_manifest(m)
    json.dump(m, open(os.path.join(model_dir, "model.json"), "w"), indent=1)
    json.dump(res, open(os.path.join(model_dir, "metrics.json"), "w"), indent=1)
    open(os.path.join(model_dir, "README.md"), "w").write(_card(m, res))
    golden = {"model": "digits16",
              "network": [network_golden(g, "jfdl.onnx", shape, [0, 10, 5, 10, 9, 3, 10, 7]),
                          network_golden(cm, "cm.onnx", shape, [1, 2, 3, 4], seed=1)],
              "sampler": sampler_golden(g, "digits16", GOLDEN_SETTINGS, shape, 10, sched)
              + sampler_golden(cm, "digits16-cm", [dict(s, guidance=1.0) for s in GOLDEN_SETTINGS[:4]], shape, None,
                               sched)}
    json.dump(golden, open(golden_path, "w"))
    return {"model_dir": model_dir, "files": files, "golden": golden_path}
