"""The PyTorch peer for `npm run bench`: the reference sampler (training/sampler.py) with the same
weights as the served graph, at several batch sizes and one request at a time — and, since a
PyTorch server can also run one single-threaded process per core (as the service runs one
single-threaded onnxruntime session per core), in that layout too at its best batch sizes.
For the real-size benchmark (`npm run bench -- --model DIR`), `bench_rows`: PyTorch eager
f(x, σ, c) on the same weights, rows/s per batch size. Prints JSON."""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import time

import torch

from .onnx_weights import load_from_model_dir
from .sampler import sample


def _sampler(model_dir: str, graph: str, steps_sigmas, guidance: float):
    """sample_batch(first, b): b guided images of the reference sampler, image indices first…first+b−1."""
    m = json.load(open(f"{model_dir}/model.json"))
    model = load_from_model_dir(model_dir, graph)
    null = m["graphs"][[g["kind"] for g in m["graphs"]].index(graph)]["null_class"]
    shape = (m["image"]["channels"], m["image"]["height"], m["image"]["width"])
    K = len(m["classes"])

    def sample_batch(first: int, b: int):
        sample(model, [(first + j) % K for j in range(b)], [7] * b, list(range(first, first + b)), steps_sigmas,
               guidance, "ode", null, shape=shape)

    return sample_batch


def bench(model_dir: str, graph: str, steps_sigmas, guidance: float, images: int, batch_sizes, one_at_a_time: int,
          threads: int = 0) -> dict:
    torch.set_num_threads(threads or os.cpu_count() or 1)  # every core, as the service's onnxruntime uses
    sample_batch = _sampler(model_dir, graph, steps_sigmas, guidance)

    def run(n, bs):
        t = time.perf_counter()
        for i in range(0, n, bs):
            sample_batch(i, min(bs, n - i))
        return n / (time.perf_counter() - t)

    run(min(8, images), 8)  # warm-up
    per_batch = {str(bs): round(run(max(images, bs), bs), 2) for bs in batch_sizes}
    best = max(per_batch, key=per_batch.get)
    single = round(run(one_at_a_time, 1), 2)
    return {"peer": "pytorch reference sampler", "torch": torch.__version__, "threads": torch.get_num_threads(),
            "graph": graph, "sigmas": list(steps_sigmas), "guidance": guidance,
            "images_per_s_by_batch": per_batch, "best_batch": int(best), "images_per_s_best": per_batch[best],
            "images_per_s_one_at_a_time": single}


def _parallel_worker(args):
    """One single-threaded process: warm up, wait for the others, sample batches for `seconds`."""
    model_dir, graph, steps_sigmas, guidance, batch, seconds, barrier = args
    torch.set_num_threads(1)
    sample_batch = _sampler(model_dir, graph, steps_sigmas, guidance)
    sample_batch(0, batch)  # warm-up
    barrier.wait()
    t0 = time.perf_counter()
    n = 0
    while n == 0 or time.perf_counter() - t0 < seconds:
        sample_batch(n, batch)
        n += batch
    return n, time.perf_counter() - t0


def bench_parallel(model_dir: str, graph: str, steps_sigmas, guidance: float, batch_sizes, processes: int = 0,
                   seconds: float = 4.0) -> dict:
    """images/s of `processes` single-threaded processes sampling batches side by side (summed)."""
    processes = processes or os.cpu_count() or 1
    ctx = mp.get_context("fork")
    out = {}
    # one manager (a server process) for the barriers, shut down on leaving
    with ctx.Manager() as manager:
        for bs in batch_sizes:
            barrier = manager.Barrier(processes)
            with ctx.Pool(processes) as pool:
                res = pool.map(_parallel_worker, [(model_dir, graph, steps_sigmas, guidance, bs, seconds, barrier)] * processes)
            out[str(bs)] = round(sum(n / dt for n, dt in res), 2)
    best = max(out, key=out.get)
    return {"processes": processes, "threads": 1, "images_per_s_by_batch": out, "best_batch": int(best),
            "images_per_s_best": out[best]}


def bench_rows(model_dir: str, graph: str, sigma: float, batch_sizes, calls: int = 2, threads: int = 0,
               seed: int = 0) -> dict:
    """Rows/s of PyTorch eager f(x, σ, c) (the model rebuilt from the folder's graph, weights bit
    for bit) at each batch size: `calls` forward passes of that many rows at σ, x = σ·N(0, I),
    the first untimed unless calls = 1 — as the real-size benchmark times raw onnxruntime."""
    import resource

    torch.set_num_threads(threads or os.cpu_count() or 1)
    t0 = time.perf_counter()
    m = json.load(open(f"{model_dir}/model.json"))
    model = load_from_model_dir(model_dir, graph)
    load_s = time.perf_counter() - t0
    shape = (m["image"]["channels"], m["image"]["height"], m["image"]["width"])
    K = len(m["classes"])
    g = torch.Generator().manual_seed(seed)
    out, ms = {}, {}
    with torch.no_grad():
        for b in batch_sizes:
            x = torch.randn(b, *shape, generator=g) * sigma
            s = torch.full((b,), float(sigma))
            c = torch.arange(b, dtype=torch.int64) % K
            times = []
            for k in range(calls):
                t = time.perf_counter()
                model(x, s, c)
                if k > 0 or calls == 1:
                    times.append(time.perf_counter() - t)
            mean = sum(times) / len(times)
            out[str(b)] = round(b / mean, 4)
            ms[str(b)] = [round(v * 1000, 1) for v in times]
    return {"peer": "pytorch eager f(x, sigma, c)", "torch": torch.__version__, "threads": torch.get_num_threads(),
            "graph": graph, "sigma": sigma, "rows_per_s_by_batch": out, "call_ms": ms, "load_s": round(load_s, 1),
            "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
