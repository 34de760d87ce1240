"""`python3 -m training all --dataset NAME`: every stage of a shipped dataset's model
(training/presets.py), resumable — each stage picks up its checkpoints in --out and a finished
stage is skipped — with the wall time of each. `--minutes` sizes stage 0 to a time budget."""
from __future__ import annotations

import os
import time

from .jsonfile import read_json, write_json
from .schedules import parse_extension


def run_all(args) -> dict:
    from .data import load
    from .evaluate import evaluate_all
    from .export import export_all
    from .presets import preset
    from .stages import stage0_consistency_training, stage12_jfdl

    p = preset(args.dataset)
    data = load(args.dataset)
    run = os.path.join(args.out, "main")
    times_path = os.path.join(args.out, "timings.json")
    times = read_json(times_path) if os.path.exists(times_path) else {}

    def stage(name, done, fn):
        if done:
            print(f"{name}: done already, skipped", flush=True)
            return
        t = time.time()
        fn()
        times[f"{name}_s"] = round(time.time() - t, 1) + times.get(f"{name}_s", 0)
        write_json(times_path, times)

    s0 = os.path.join(run, "stage0")
    extend = [parse_extension(e) for e in (getattr(args, "extend", None) or [])]
    s0_result = os.path.join(s0, "result.json")
    stage0_done = (os.path.exists(s0_result) and read_json(s0_result)["steps"]
                   >= read_json(os.path.join(s0, "meta.json"))["iters"] + sum(n for n, _ in extend))
    stage("stage0", stage0_done,
          lambda: stage0_consistency_training(data, s0, args.iters, args.minutes, args.batch or p.batch, net_cfg=p.net,
                                              extend=extend))
    # the alignment belongs to the stage-0 weights it froze: after stage 0 trained on, an older one
    # — finished (result.json) or interrupted (started.json, written before it trains) — is moved
    # aside (jfdl-stage0-<steps>) and stages 1 + 2 run again
    steps0 = read_json(s0_result)["steps"]
    jdir = os.path.join(run, "jfdl")
    jres = os.path.join(jdir, "result.json")
    jstart = os.path.join(jdir, "started.json")
    stale = False
    if os.path.isdir(jdir):
        record = jres if os.path.exists(jres) else jstart if os.path.exists(jstart) else None
        aligned_on = read_json(record).get("stage0_steps") if record else None
        if aligned_on != steps0:
            os.replace(jdir, os.path.join(run, f"jfdl-stage0-{aligned_on or 'unknown'}"))
            stale = True

    def align():
        os.makedirs(jdir, exist_ok=True)
        write_json(jstart, {"stage0_steps": steps0})
        r = stage12_jfdl(data, s0, jdir, args.stage1_iters, args.stage2_iters, args.batch or p.batch)
        write_json(jres, dict(r, stage0_steps=steps0))

    stage("jfdl", os.path.exists(jres), align)
    stage("evaluate", os.path.exists(os.path.join(args.out, "metrics.json")) and not stale,
          lambda: evaluate_all(args.out, args.images_per_class, args.model_dir, "main", args.dataset))
    stage("export", False, lambda: export_all(args.out, args.model_dir, args.golden, args.dataset))
    return times
