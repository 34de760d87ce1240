"""`python3 -m training headline`: the headline figures of one stage-0 run and its JFDL
alignment in minutes rather than the hour of the full evaluation (evaluate.py): the CM at w = 1
(1 step, and 2 steps at one σ_mid with both samplers) and the JFDL model at a few w, 2 steps, ode,
scored by the run's evaluation classifier (accuracy and Fréchet distance of its features against
the held-out images), with the same seeds and scorer as evaluate.py. It reads any stage-0 folder
(meta.json + cm_ema.pt), so checkpoints of one run can be compared along its training."""
from __future__ import annotations

import os
import time

import torch

from .data import load
from .evaluate import load_classifier, scorer
from .jsonfile import write_json
from .stages import load_cm, load_guided


def headline(dataset: str, classifier_path: str, stage0_dir: str, null_path: str, n_per_class: int = 50,
             sigma_mid: float = 2.0, ws=(1.0, 1.5, 2.0, 3.0), threads: int = 0) -> dict:
    torch.set_num_threads(threads or max(1, os.cpu_count() or 1))
    t0 = time.time()
    data = load(dataset)
    _, ev = scorer(load_classifier(classifier_path, data), data, n_per_class)

    cm = load_cm(stage0_dir)
    res = {"dataset": dataset, "stage0": stage0_dir, "null": null_path,
           "images_per_setting": n_per_class * len(data.classes),
           "sigma_mid": sigma_mid,
           "cm": {"1step": ev(cm, [80.0]), "2step_ode": ev(cm, [80.0, sigma_mid]),
                  "2step_consistency": ev(cm, [80.0, sigma_mid], sampler="consistency")}}
    g = load_guided(stage0_dir, null_path)
    res["jfdl_2step_ode"] = {str(w): ev(g, [80.0, sigma_mid], w, "ode", g.null_class) for w in ws}
    res["wall_s"] = round(time.time() - t0, 1)
    return res


def table(res: dict) -> str:
    rows = [f"{res['stage0']} ({res['images_per_setting']} images per setting, sigma_mid {res['sigma_mid']})",
            "| setting | accuracy | Frechet distance |", "| --- | ---: | ---: |"]
    for name, r in res["cm"].items():
        rows.append(f"| CM {name} | {r['accuracy']:.3f} | {r['fd']:.1f} |")
    for w, r in res["jfdl_2step_ode"].items():
        rows.append(f"| JFDL 2step_ode w={w} | {r['accuracy']:.3f} | {r['fd']:.1f} |")
    return "\n".join(rows)


def main(args) -> dict:
    out = args.out or f"runs/{args.dataset}"
    stage0 = args.stage0 or os.path.join(out, "main", "stage0")
    null = args.null or os.path.join(out, "main", "jfdl", "null_s12.pt")
    res = headline(args.dataset, os.path.join(out, "classifier.pt"), stage0, null, args.images_per_class,
                   args.sigma_mid, tuple(float(w) for w in args.w.split(",")), args.threads)
    print(table(res), flush=True)
    if args.write:
        write_json(args.write, res)
    return res
