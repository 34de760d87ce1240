"""`python3 -m training all`: every stage from scratch, with the wall time of each."""
from __future__ import annotations

import json
import os
import time


def run_all(args) -> dict:
    from .data import load_digits16
    from .evaluate import evaluate_all
    from .export import export_all
    from .stages import stage0_consistency_training, stage12_jfdl

    data = load_digits16()
    run = os.path.join(args.out, "main")
    times = {}
    t = time.time()
    stage0_consistency_training(data, os.path.join(run, "stage0"), args.iters, args.minutes, args.batch)
    times["stage0_s"] = round(time.time() - t, 1)
    t = time.time()
    stage12_jfdl(data, os.path.join(run, "stage0"), os.path.join(run, "jfdl"), getattr(args, "stage1_iters", 800),
                 getattr(args, "stage2_iters", 800), args.batch)
    times["jfdl_s"] = round(time.time() - t, 1)
    t = time.time()
    evaluate_all(args.out, args.images_per_class, args.model_dir, "main")
    times["evaluate_s"] = round(time.time() - t, 1)
    t = time.time()
    export_all(args.out, args.model_dir, getattr(args, "golden", "test/golden/digits16.json"))
    times["export_s"] = round(time.time() - t, 1)
    json.dump(times, open(os.path.join(args.out, "timings.json"), "w"), indent=1)
    return times
