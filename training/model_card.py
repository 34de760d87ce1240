"""The model card (README.md of a model folder): what its graphs are, where the model came from,
and, when an evaluation was run (training/evaluate.py's metrics.json), every measured table."""
from __future__ import annotations

import json
import os
from typing import Optional

from .evaluate import GRID_WS

ABLATION_NAMES = {"s1": "stage 1 alone", "s12": "stage 1 + 2", "s2": "stage 2 alone"}


def _graphs_sentence(m: dict) -> str:
    parts = []
    for g in m["graphs"]:
        if g["kind"] == "jfdl":
            parts.append(f"`{g['file']}` (served as `{g['model']}`: the CM plus the learned null-class guidance "
                         f"embedding, index {g['null_class']})")
        else:
            parts.append(f"`{g['file']}` (served as `{g['model']}`: the CM as trained, conditional only, guidance "
                         "fixed at 1)")
    notes = []
    half = [g["file"] for g in m["graphs"] if g.get("weights_dtype", "float32") == "float16"]
    if half:
        names = " and ".join("`" + f + "`" for f in half)
        notes.append(f"{names} store{'s' if len(half) == 1 else ''} the weights in float16 (computed in float32)")
    for g in m["graphs"]:
        if g.get("external_data"):
            files = ", ".join("`" + d["file"] + "`" for d in g["external_data"])
            notes.append(f"`{g['file']}` keeps its weights in {files}")
    return "Graphs: " + " and ".join(parts) + "." + (f" {'; '.join(notes)}." if notes else "")


def _evaluation(m: dict, res: dict) -> list:
    """The tables of an evaluation (training/evaluate.py's metrics.json)."""
    h = res["headline"]
    g = res["jfdl_grid"]
    smp = res["chosen"]["sampler"]  # the default schedule: the manifest's sampler and 2-step σ_mid
    lines = [f"## Headline (2 steps, `{smp}` sampler, σ_mid = {res['chosen']['sigma_mid']}: the default schedule; "
             f"{res['images_per_setting']} images per setting)", "",
             "| model | w | classifier accuracy | Fréchet distance |", "| --- | --- | --- | --- |",
             f"| CM | 1 | {h['cm']['accuracy']} | {h['cm']['fd']} |",
             f"| JFDL | {h['jfdl_best_w']} | {h['jfdl_at_best_w']['accuracy']} | {h['jfdl_at_best_w']['fd']} |", "",
             f"Fréchet distance drop at the best w: {100 * h['fd_drop']:.1f}%. Held-out real images score "
             f"accuracy {res['real_held_out']['accuracy']} (classifier trained on the training split only)."
             + (f" The floor: {res['real_train_floor']['images']} real training images against the held-out set score "
                f"accuracy {res['real_train_floor']['accuracy']}, Fréchet distance {res['real_train_floor']['fd']}."
                if "real_train_floor" in res else ""), "",
             "## Guidance sweep (JFDL model)", "",
             "| w | 1 step acc | 1 step FD | 2 step ode acc | 2 step ode FD | 2 step consistency acc | 2 step consistency FD |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for w in g["2step_ode"]:
        lines.append(f"| {w} | {g['1step'][w]['accuracy']} | {g['1step'][w]['fd']} | {g['2step_ode'][w]['accuracy']} | "
                     f"{g['2step_ode'][w]['fd']} | {g['2step_consistency'][w]['accuracy']} | {g['2step_consistency'][w]['fd']} |")
    c = res["cm"]
    lines += ["", f"CM (w = 1): 1 step acc {c['1step']['accuracy']} FD {c['1step']['fd']}; 2 step ode (σ_mid = "
              f"{c['sigma_mid_ode']}) acc {c['2step_ode']['accuracy']} FD {c['2step_ode']['fd']}; 2 step consistency (σ_mid = "
              f"{c['sigma_mid_consistency']}) acc {c['2step_consistency']['accuracy']} FD {c['2step_consistency']['fd']}.",
              "", f"## Ablation: which JFDL stages (2 steps, {smp}; accuracy / FD per w)", "",
              "| w | " + " | ".join(ABLATION_NAMES.get(v, v) for v in res["ablation_2step"]) + " |",
              "| --- |" + " --- |" * len(res["ablation_2step"])]
    for w in g[f"2step_{smp}"]:
        lines.append(f"| {w} | " + " | ".join(f"{t[w]['accuracy']} / {t[w]['fd']}" for t in res["ablation_2step"].values())
                     + " |")
    lines += ["", f"Shipped: {ABLATION_NAMES.get(res['chosen']['variant'], res['chosen']['variant'])}.", "",
              "## Normality of the implied noise ε̂ = (x − f(x, σ, ·))/σ (held-out images, 2,000 values each)", "",
              "| σ | branch | mean | std | D'Agostino K² | p | KS vs N(0,1) | p |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['sigma']} | {r['branch']} | {r['mean']} | {r['std']} | {r['k2']} | {r['k2_p']} | {r['ks']} | {r['ks_p']} |"
              for r in res["normality"]]
    lines += ["", "![samples](samples.png)", "",
              f"Rows: classes 0-{len(m['classes']) - 1} ({', '.join(m['classes'])}); columns: w = "
              f"{', '.join(f'{w:g}' for w in GRID_WS)} (2 steps, {smp}, one seed per row).", "",
              "All figures: `runs/<run>/metrics.json` from `python3 -m training evaluate`; see training/README.md."]
    return lines


def model_card(m: dict, res: Optional[dict] = None) -> str:
    """The card of manifest `m`; `res` is an evaluation's metrics.json, or None for a model that
    has not been evaluated (an imported checkpoint), whose card then says so."""
    guided = any(g["kind"] == "jfdl" for g in m["graphs"])
    graphs = _graphs_sentence(m)
    if res is not None and "classifier" in res:
        C, H, W = m["image"]["channels"], m["image"]["height"], m["image"]["width"]
        graphs += (f" `classifier.onnx` is the evaluation classifier (input `image` [B,{C},{H},{W}] in [-1,1]; "
                   "outputs `logits`, `features`).")
    title = "a consistency model with JFDL guidance" if guided else "a consistency model"
    lines = [f"# {m['name']} — {title}", "", m["description"], "", graphs, ""]
    prov = m.get("provenance", {})
    if "training" in prov:
        lines += [f"Training: {json.dumps(prov.get('training', {}))}", ""]
    else:
        lines += ["Provenance:", ""] + [f"- {k}: {v if isinstance(v, str) else json.dumps(v)}" for k, v in prov.items()] + [""]
    if res is None:
        lines += ["Not evaluated here: no accuracy, Fréchet distance or guidance sweep has been measured for this "
                  "model folder. The guidance default is a starting point, not a measured optimum."
                  if guided else "Not evaluated here. Guidance is fixed at 1 until a JFDL embedding is aligned."]
    else:
        lines += _evaluation(m, res)
    return "\n".join(lines) + "\n"


def write_card(model_dir: str, m: dict, res: Optional[dict] = None) -> str:
    path = os.path.join(model_dir, "README.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write(model_card(m, res))
    return path
