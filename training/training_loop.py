"""A small, resumable training loop shared by every stage: fixed seed, tqdm progress, a JSONL log
of the loss, periodic checkpoints, optional EMA weights for evaluation."""
from __future__ import annotations

import copy
import json
import os
import time
from typing import Callable, Iterable, Optional

import torch
from tqdm import tqdm


def pick_device() -> torch.device:
    if torch.cuda.is_available():
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        return torch.device("cuda")
    return torch.device("cpu")


def measure_rate(step_fn: Callable[[int], torch.Tensor], probe: int = 60) -> float:
    """Iterations per second of step_fn, for sizing a run to a time budget."""
    for k in range(5):
        step_fn(k)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t = time.time()
    for k in range(probe):
        step_fn(k)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return probe / (time.time() - t)


def train(model: torch.nn.Module, params: Iterable[torch.nn.Parameter], loss_fn: Callable[[int], torch.Tensor],
          iters: int, out_dir: str, lr: float, ema: Optional[torch.nn.Module] = None, ema_decay: float = 0.9995,
          warmup: int = 0, ckpt_every: int = 1000, log_every: int = 50, desc: str = "train",
          time_limit_s: Optional[float] = None, train_mode: bool = True,
          ckpt_module: Optional[torch.nn.Module] = None, ema_restarts: Iterable[int] = ()) -> dict:
    """Runs `iters` Adam steps of loss_fn(step); resumes from out_dir/checkpoint.pt if present.
    The checkpoint holds `ckpt_module`'s state (the model's by default). At each step of
    `ema_restarts` the EMA's decay warm-up starts over (the average then forgets faster)."""
    ckpt_module = ckpt_module if ckpt_module is not None else model
    ema_restarts = sorted(ema_restarts)  # read at every step: a one-shot iterable would be spent by the first
    os.makedirs(out_dir, exist_ok=True)
    params = list(params)
    opt = torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999))
    ckpt_path = os.path.join(out_dir, "checkpoint.pt")
    start = 0
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=next(model.parameters()).device)
        ckpt_module.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        if ema is not None and ck.get("ema") is not None:
            ema.load_state_dict(ck["ema"])
        start = ck["step"]
    log = open(os.path.join(out_dir, "loss.jsonl"), "a")

    def save(step):
        tmp = ckpt_path + ".tmp"
        torch.save({"model": ckpt_module.state_dict(), "opt": opt.state_dict(),
                    "ema": ema.state_dict() if ema is not None else None, "step": step}, tmp)
        os.replace(tmp, ckpt_path)

    t0 = time.time()
    model.train(train_mode)
    bar = tqdm(range(start, iters), desc=desc, initial=start, total=iters, mininterval=5,
               disable=os.environ.get("TQDM_DISABLE") == "1")
    step = start
    for step in bar:
        for g in opt.param_groups:
            g["lr"] = lr * min(1.0, (step + 1) / warmup) if warmup else lr
        loss = loss_fn(step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if ema is not None:
            # Warm-up of the decay, (1+t)/(10+t) capped at ema_decay: without it the average keeps
            # ema_decay^t of the random initialisation (0.9999^6000 = 55%) and a short run's EMA
            # weights are mostly noise.
            t = step - max([r for r in ema_restarts if r <= step], default=0)
            d = min(ema_decay, (1 + t) / (10 + t))
            with torch.no_grad():
                for pe, pm in zip(ema.parameters(), model.parameters()):
                    pe.lerp_(pm, 1 - d)
        if (step + 1) % log_every == 0:
            rec = {"step": step + 1, "loss": float(loss.detach()), "elapsed_s": round(time.time() - t0, 1)}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            bar.set_postfix(loss=f"{rec['loss']:.4f}")
        if (step + 1) % ckpt_every == 0:
            save(step + 1)
        if time_limit_s is not None and time.time() - t0 > time_limit_s:
            step += 1
            break
    else:
        step = iters
    save(step)
    log.close()
    return {"steps": step, "wall_s": round(time.time() - t0, 1)}


def make_ema(model: torch.nn.Module) -> torch.nn.Module:
    ema = copy.deepcopy(model)
    for p in ema.parameters():
        p.requires_grad_(False)
    return ema
