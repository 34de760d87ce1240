"""Command line: `python3 -m training <command> [options]`. Commands only parse options; the work
is in the modules (stages, evaluate, export)."""
from __future__ import annotations

import argparse
import json
import sys


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m training")
    sub = ap.add_subparsers(dest="cmd", required=True)

    t = sub.add_parser("train", help="stage 0: consistency training of the conditional CM")
    t.add_argument("--data", default="digits16", help="'digits16' or an image-folder root")
    t.add_argument("--size", type=int, default=16)
    t.add_argument("--channels", type=int, default=1)
    t.add_argument("--out", default="runs/digits16")
    t.add_argument("--iters", type=int, default=4000)
    t.add_argument("--minutes", type=float, default=None, help="size the run to a time budget instead")
    t.add_argument("--batch", type=int, default=128)
    t.add_argument("--lr", type=float, default=2e-4)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--ema-decay", type=float, default=0.9995)
    t.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")

    a = sub.add_parser("align", help="stages 1-2: learn the JFDL null-class guidance embedding (of a stage-0 run, "
                       "or with --model-dir of a model folder's CM, e.g. an imported checkpoint)")
    a.add_argument("--data", default=None, help="'digits16' (the default for a run) or an image-folder root (one "
                   "sub-folder per class; with --model-dir, folder names = the model's class names)")
    a.add_argument("--size", type=int, default=16)
    a.add_argument("--channels", type=int, default=1)
    a.add_argument("--out", default=None, help="the run folder (default runs/digits16, or runs/<model>-align with "
                   "--model-dir: checkpoints, loss logs, null_*.pt)")
    a.add_argument("--model-dir", default=None, help="align this model folder's CM and add jfdl.onnx to it")
    a.add_argument("--guidance", type=float, default=None, help="with --model-dir: the served default guidance "
                   "(default 1.3, limits 0..4)")
    a.add_argument("--seed", type=int, default=1)
    a.add_argument("--stage1-iters", type=int, default=800)
    a.add_argument("--stage2-iters", type=int, default=800)
    a.add_argument("--batch", type=int, default=128)
    a.add_argument("--lr", type=float, default=1e-2)

    for name, hlp in [("evaluate", "classifier, metrics grid, normality tests, sample grid"),
                      ("export", "ONNX graphs, manifest, golden vectors, model card"),
                      ("all", "every stage of a shipped dataset's model, resumable (stage 0, JFDL, evaluation, "
                              "export)")]:
        p = sub.add_parser(name, help=hlp)
        p.add_argument("--dataset", default="digits16", help="digits16 or fashion-mnist (training/presets.py)")
        p.add_argument("--out", default=None, help="the run folder (default runs/<dataset>)")
        p.add_argument("--model-dir", default=None, help="default: the dataset's models/<name>")
        p.add_argument("--golden", default=None, help="golden vectors (default: the dataset's test/golden/<name>.json)")
        p.add_argument("--images-per-class", type=int, default=100)
        p.add_argument("--run", default=None, help="evaluate only this run (a sub-folder of --out)")
        p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
        if name == "export":
            _graph_options(p)
        if name == "all":
            p.add_argument("--iters", type=int, default=4000, help="stage-0 iterations (or --minutes)")
            p.add_argument("--minutes", type=float, default=None, help="size stage 0 to this time budget")
            p.add_argument("--extend", action="append", default=None, metavar="K[:S]",
                           help="train stage 0 K iterations past the planned run, at S discretisation steps (default: "
                                "the curriculum's last, 1280); repeat for phases; a finished run resumes with a list "
                                "that starts with the one it ran")
            p.add_argument("--batch", type=int, default=None, help="default: the dataset's preset (128)")
            p.add_argument("--stage1-iters", type=int, default=800)
            p.add_argument("--stage2-iters", type=int, default=800)
    hl = sub.add_parser("headline", help="the headline figures of a run in minutes: CM at w = 1 and JFDL at a few w")
    hl.add_argument("--dataset", default="digits16")
    hl.add_argument("--out", default=None, help="the run folder, holding classifier.pt (default runs/<dataset>)")
    hl.add_argument("--stage0", default=None, help="a stage-0 folder, meta.json + cm_ema.pt (default <out>/main/stage0)")
    hl.add_argument("--null", default=None, help="the JFDL null embedding (default <out>/main/jfdl/null_s12.pt)")
    hl.add_argument("--images-per-class", type=int, default=50)
    hl.add_argument("--model-dir", default=None, help="instead of a run: a shipped model folder (its graphs and "
                    "classifier.onnx; σ_mid and sampler from its model.json)")
    hl.add_argument("--sigma-mid", type=float, default=None, help="2-step σ_mid (default 2.0, or the model folder's)")
    hl.add_argument("--sampler", default=None, choices=["ode", "consistency"],
                    help="the guided rows' sampler (default ode, or the model folder's default)")
    hl.add_argument("--w", default="1,1.5,2,3", help="comma-separated guidance values")
    hl.add_argument("--threads", type=int, default=0)
    hl.add_argument("--write", default=None, help="also write the figures to this JSON file")
    de = sub.add_parser("debias-ema", help="bias-correct a stage-0 EMA kept with a fixed decay from step 0")
    de.add_argument("--out", default="runs/digits16")
    de.add_argument("--decay", type=float, default=0.9999)
    b = sub.add_parser("bench-torch", help="PyTorch reference sampler throughput (the peer in npm run bench)")
    b.add_argument("--model-dir", default="models/digits16")
    b.add_argument("--graph", default="jfdl", choices=["jfdl", "cm"])
    b.add_argument("--sigmas", default="80,2", help="comma-separated descending schedule")
    b.add_argument("--guidance", type=float, default=1.3)
    b.add_argument("--images", type=int, default=256)
    b.add_argument("--batch-sizes", default="1,8,32,64,128")
    b.add_argument("--one-at-a-time", type=int, default=32)
    b.add_argument("--threads", type=int, default=0)
    b.add_argument("--parallel-batch-sizes", default="",
                   help="also measure one single-threaded process per core at these batch sizes")
    b.add_argument("--rows-batches", default="", help="instead of the sampler: rows/s of f(x, sigma, c) at these batch "
                   "sizes (the real-size benchmark), --calls calls each at --sigma")
    b.add_argument("--calls", type=int, default=2)
    b.add_argument("--sigma", type=float, default=80.0)
    ty = sub.add_parser("tiny", help="the random-weight RGB 8x8 test model")
    ty.add_argument("--dir", default="test/fixtures/models/tiny-rgb8")
    ty.add_argument("--golden", default="test/golden/tiny-rgb8.json")
    io = sub.add_parser("import-openai", help="an openai/consistency_models checkpoint -> a servable model folder "
                        "(cm.onnx, model.json)")
    io.add_argument("--checkpoint", required=True, help="a plain state dict saved with torch.save (ct_imagenet64.pt)")
    io.add_argument("--flags", default=None, help="that repository's model flags, as its launch scripts pass them")
    io.add_argument("--config", default=None, help="instead of --flags: a named configuration (imagenet64, tiny)")
    io.add_argument("--out", required=True, help="the model folder to write")
    io.add_argument("--name", default=None, help="model name (default: the folder's name); the CM is served as "
                    "NAME-cm, the aligned JFDL model as NAME")
    io.add_argument("--class-names", default=None, help="a text file with one class name per line")
    io.add_argument("--overwrite", action="store_true", help="replace an existing model folder")
    _graph_options(io)
    mc = sub.add_parser("make-openai-checkpoint", help="test tooling: a random-weight checkpoint in "
                        "openai/consistency_models' format")
    mc.add_argument("--config", default="imagenet64", help="imagenet64 (295,899,267 parameters) or tiny")
    mc.add_argument("--out", required=True)
    mc.add_argument("--seed", type=int, default=0)
    to = sub.add_parser("tiny-openai", help="the imported tiny openai-UNet test fixture (random checkpoint -> "
                        "import -> align) and its golden vectors")
    to.add_argument("--dir", default="test/fixtures/imported/tiny-openai")
    to.add_argument("--golden", default="test/golden/tiny-openai.json")
    to.add_argument("--dtype", default="float32", choices=["float32", "float16"],
                    help="float16: the same checkpoint imported with float16 weights, not aligned, no golden "
                         "vectors (the fixture test/fixtures/float16/tiny-openai-fp16)")
    gd = sub.add_parser("golden", help="network golden vectors of any model folder's graphs (for "
                        "scripts/parity-check.ts)")
    gd.add_argument("--model-dir", required=True)
    gd.add_argument("--out", required=True)
    gd.add_argument("--rows", type=int, default=8)
    sub.add_parser("batch-invariant", help="make an exported model folder's graphs batch-invariant, update "
                   "model.json").add_argument("model_dir")
    sub.add_parser("external-data", help="move an exported model folder's weights into external-data files "
                   "(<graph>.data), update model.json").add_argument("model_dir")

    args = ap.parse_args(argv)
    from . import data as D

    if args.cmd in ("evaluate", "export", "all"):
        from .presets import PRESETS
        if args.dataset not in PRESETS:
            return _fail(f"--dataset {args.dataset!r}: one of {sorted(PRESETS)}")
        args.out = args.out or f"runs/{args.dataset}"

    if getattr(args, "threads", 0):
        import torch
        torch.set_num_threads(args.threads)

    if args.cmd == "train":
        from .stages import stage0_consistency_training
        from .presets import PRESETS
        ds = D.load(args.data, args.size, args.channels)
        net = PRESETS[args.data].net if args.data in PRESETS else None
        r = stage0_consistency_training(ds, f"{args.out}/stage0", args.iters, args.minutes, args.batch, args.lr, args.seed,
                                       net_cfg=net, ema_decay=args.ema_decay)
    elif args.cmd == "align" and args.model_dir:
        from .align_model import DEFAULT_GUIDANCE, align_model_dir
        from .manifest import read_manifest
        if args.data in (None, "digits16", "fashion-mnist"):
            return _fail("--data: with --model-dir, an image folder (one sub-folder per class, named after the "
                         "model's classes)")
        try:
            out = args.out or f"runs/{read_manifest(args.model_dir)['name']}-align"
            guidance = dict(DEFAULT_GUIDANCE, **({} if args.guidance is None else {"default": args.guidance}))
            r = align_model_dir(args.model_dir, args.data, out, args.stage1_iters, args.stage2_iters, args.batch,
                                args.lr, args.seed, guidance)
        except (ValueError, FileNotFoundError) as e:
            return _fail(str(e))
    elif args.cmd == "align":
        from .stages import stage12_jfdl
        out = args.out or "runs/digits16"
        ds = D.load(args.data or "digits16", args.size, args.channels)
        r = stage12_jfdl(ds, f"{out}/stage0", f"{out}/jfdl", args.stage1_iters, args.stage2_iters,
                         args.batch, args.lr, args.seed)
    elif args.cmd == "import-openai":
        from .openai_flags import CONFIGS
        from .openai_import import import_openai
        if (args.flags is None) == (args.config is None):
            return _fail("give the model flags with --flags \"...\" (or a named --config)")
        if args.config is not None and args.config not in CONFIGS:
            return _fail(f"--config {args.config!r}: one of {sorted(CONFIGS)}")
        try:
            r = import_openai(args.checkpoint, args.flags if args.flags is not None else CONFIGS[args.config], args.out,
                              args.name, args.class_names, args.overwrite, args.dtype, args.external_data)
        except (ValueError, FileNotFoundError) as e:
            return _fail(str(e))
    elif args.cmd == "make-openai-checkpoint":
        from .openai_checkpoint import make_openai_checkpoint
        try:
            r = make_openai_checkpoint(args.config, args.out, args.seed)
        except ValueError as e:
            return _fail(str(e))
    elif args.cmd == "tiny-openai":
        from .tiny_openai import export_tiny_openai, export_tiny_openai_float16
        if args.dtype == "float16":
            r = export_tiny_openai_float16(args.dir if args.dir != to.get_default("dir") else
                                           "test/fixtures/float16/tiny-openai-fp16")
        else:
            r = export_tiny_openai(args.dir, args.golden)
    elif args.cmd == "debias-ema":
        from .stages import debias_ema
        r = debias_ema(f"{args.out}/stage0", args.decay)
    elif args.cmd == "bench-torch" and args.rows_batches:
        from .bench_torch import bench_rows
        r = bench_rows(args.model_dir, args.graph, args.sigma, [int(v) for v in args.rows_batches.split(",")],
                       args.calls, args.threads)
    elif args.cmd == "bench-torch":
        from .bench_torch import bench
        sig = [float(v) for v in args.sigmas.split(",")]
        r = bench(args.model_dir, args.graph, sig, args.guidance, args.images,
                  [int(v) for v in args.batch_sizes.split(",")], args.one_at_a_time, args.threads)
        if args.parallel_batch_sizes:
            from .bench_torch import bench_parallel
            r["per_core_processes"] = bench_parallel(args.model_dir, args.graph, sig, args.guidance,
                                                     [int(v) for v in args.parallel_batch_sizes.split(",")])
    elif args.cmd == "evaluate":
        from .evaluate import evaluate_all
        r = evaluate_all(args.out, args.images_per_class, args.model_dir, args.run, args.dataset, args.threads)
    elif args.cmd == "export":
        from .export import export_all
        r = export_all(args.out, args.model_dir, args.golden, args.dataset, args.dtype, args.external_data)
    elif args.cmd == "tiny":
        from .tiny import export_tiny
        r = export_tiny(args.dir, args.golden)
    elif args.cmd == "golden":
        from .golden import model_dir_golden
        r = model_dir_golden(args.model_dir, args.out, args.rows)
    elif args.cmd == "batch-invariant":
        from .model_folder import make_model_dir_batch_invariant
        r = make_model_dir_batch_invariant(args.model_dir)
    elif args.cmd == "external-data":
        from .model_folder import move_to_external_data
        r = move_to_external_data(args.model_dir)
    elif args.cmd == "all":
        from .pipeline import run_all
        r = run_all(args)
    elif args.cmd == "headline":
        from .headline import main as headline_main
        r = headline_main(args)
    print(json.dumps(r, indent=1, default=str))
    return 0


def _graph_options(p) -> None:
    """How the graphs are written: weight precision and external data (training/onnx_export.py)."""
    p.add_argument("--dtype", default="float32", choices=["float32", "float16"],
                   help="precision of the stored weights (float16 halves the files; inputs, output and "
                        "computation stay float32)")
    p.add_argument("--external-data", action="store_true", default=None,
                   help="put the weights in <graph>.data beside each graph (done anyway when a graph would pass "
                        "protobuf's 2 GiB limit)")


def _fail(message: str) -> int:
    """A refused command: one line on stderr, exit status 2, nothing written."""
    print(f"error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
