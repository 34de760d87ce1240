"""The PyTorch peer for `npm run bench`: the reference sampler (training/sampler.py) with the same
weights as the served graph, at several batch sizes and one request at a time. Prints JSON."""
from __future__ import annotations

import json
import os
import time

import torch

from .onnx_weights import load_from_model_dir
from .sampler import sample


def bench(model_dir: str, graph: str, steps_sigmas, guidance: float, images: int, batch_sizes, one_at_a_time: int,
          threads: int = 0) -> dict:
    torch.set_num_threads(threads or os.cpu_count() or 1)  # every core, as the service's onnxruntime uses
    m = json.load(open(f"{model_dir}/model.json"))
    model = load_from_model_dir(model_dir, graph)
    null = m["graphs"][[g["kind"] for g in m["graphs"]].index(graph)]["null_class"]
    shape = (m["image"]["channels"], m["image"]["height"], m["image"]["width"])
    K = len(m["classes"])

    def run(n, bs):
        t = time.perf_counter()
        for i in range(0, n, bs):
            b = min(bs, n - i)
            sample(model, [(i + j) % K for j in range(b)], [7] * b, list(range(i, i + b)), steps_sigmas, guidance,
                   "ode", null, shape=shape)
        return n / (time.perf_counter() - t)

    run(min(8, images), 8)  # warm-up
    per_batch = {str(bs): round(run(max(images, bs), bs), 2) for bs in batch_sizes}
    best = max(per_batch, key=per_batch.get)
    single = round(run(one_at_a_time, 1), 2)
    return {"peer": "pytorch reference sampler", "torch": torch.__version__, "threads": torch.get_num_threads(),
            "graph": graph, "sigmas": list(steps_sigmas), "guidance": guidance,
            "images_per_s_by_batch": per_batch, "best_batch": int(best), "images_per_s_best": per_batch[best],
            "images_per_s_one_at_a_time": single}
