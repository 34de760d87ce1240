"""`python3 -m training headline`: the headline figures of one stage-0 run and its JFDL
alignment in minutes rather than the hour of the full evaluation (evaluate.py): the CM at w = 1
(1 step, and 2 steps at one σ_mid with both samplers) and the JFDL model at a few w, 2 steps,
scored by the run's evaluation classifier (accuracy and Fréchet distance of its features against
the held-out images), with the same seeds and scorer as evaluate.py. It reads any stage-0 folder
(meta.json + cm_ema.pt), so checkpoints of one run can be compared along its training; or, with
--model-dir, a shipped model folder alone (graphs, classifier.onnx, model.json), so a clean
checkout re-measures the shipped model's headline without the run."""
from __future__ import annotations

import os
import time

import torch

from .data import load
from .evaluate import load_classifier, scorer
from .jsonfile import write_json
from .stages import load_cm, load_guided


def headline(dataset: str, classifier_path: str, stage0_dir: str, null_path: str, n_per_class: int = 50,
             sigma_mid: float = 2.0, ws=(1.0, 1.5, 2.0, 3.0), threads: int = 0, sampler: str = "ode") -> dict:
    """The figures of a stage-0 folder and a null embedding (PyTorch checkpoints of a run)."""
    return scores(dataset, classifier_path, load_cm(stage0_dir), load_guided(stage0_dir, null_path),
                  {"stage0": stage0_dir, "null": null_path}, n_per_class, sigma_mid, ws, threads, sampler)


def scores(dataset: str, classifier_path: str, cm, g, source: dict, n_per_class: int, sigma_mid: float, ws,
           threads: int = 0, sampler: str = "ode") -> dict:
    """CM at w = 1 (1 step; 2 steps at sigma_mid with both samplers) and the guided model at each
    w of ws (2 steps, `sampler`)."""
    torch.set_num_threads(threads or max(1, os.cpu_count() or 1))
    t0 = time.time()
    data = load(dataset)
    _, ev = scorer(load_classifier(classifier_path, data), data, n_per_class)
    res = {"dataset": dataset, **source, "images_per_setting": n_per_class * len(data.classes),
           "sigma_mid": sigma_mid,
           "cm": {"1step": ev(cm, [80.0]), "2step_ode": ev(cm, [80.0, sigma_mid]),
                  "2step_consistency": ev(cm, [80.0, sigma_mid], sampler="consistency")}}
    res[f"jfdl_2step_{sampler}"] = {str(w): ev(g, [80.0, sigma_mid], w, sampler, g.null_class) for w in ws}
    res["wall_s"] = round(time.time() - t0, 1)
    return res


def table(res: dict) -> str:
    rows = [f"{res.get('model_dir') or res['stage0']} ({res['images_per_setting']} images per setting, "
            f"sigma_mid {res['sigma_mid']})", "| setting | accuracy | Frechet distance |", "| --- | ---: | ---: |"]
    for name, r in res["cm"].items():
        rows.append(f"| CM {name} | {r['accuracy']:.3f} | {r['fd']:.1f} |")
    for key in (k for k in res if k.startswith("jfdl_")):
        for w, r in res[key].items():
            rows.append(f"| JFDL {key[5:]} w={w} | {r['accuracy']:.3f} | {r['fd']:.1f} |")
    return "\n".join(rows)


def main(args) -> dict:
    ws = tuple(float(w) for w in args.w.split(","))
    if args.model_dir:
        # a shipped model folder: its graphs, its classifier.onnx, and its manifest's default
        # sampler and 2-step σ (--sigma-mid and --sampler override them)
        from .manifest import read_manifest
        from .onnx_weights import load_from_model_dir
        m = read_manifest(args.model_dir)
        res = scores(args.dataset, os.path.join(args.model_dir, "classifier.onnx"),
                     load_from_model_dir(args.model_dir, "cm"), load_from_model_dir(args.model_dir, "jfdl"),
                     {"model_dir": args.model_dir}, args.images_per_class,
                     args.sigma_mid if args.sigma_mid is not None else m["schedules"]["2"][1], ws, args.threads,
                     args.sampler or m["default_sampler"])
    else:
        out = args.out or f"runs/{args.dataset}"
        stage0 = args.stage0 or os.path.join(out, "main", "stage0")
        null = args.null or os.path.join(out, "main", "jfdl", "null_s12.pt")
        res = headline(args.dataset, os.path.join(out, "classifier.pt"), stage0, null, args.images_per_class,
                       2.0 if args.sigma_mid is None else args.sigma_mid, ws, args.threads, args.sampler or "ode")
    print(table(res), flush=True)
    if args.write:
        write_json(args.write, res)
    return res
