"""The three training stages. Stage 0: consistency training of the conditional CM (all weights).
Stages 1-2 (JFDL): every CM weight frozen, only the null-class guidance embedding learned."""
from __future__ import annotations

import json
import os
from typing import Optional

import torch

from .data import Dataset
from .loss import ct_loss, jfdl_alignment_loss
from .networks import CM, GuidedCM, UNet, count_params
from .schedules import discretisation_changes, extended_num_scales, ict_num_scales
from .training_loop import make_ema, measure_rate, pick_device, train

DEFAULT_NET = {"widths": [32, 64, 64], "blocks": 2, "emb": 128, "dropout": 0.1}


def build_cm(channels: int, num_classes: int, net_cfg: Optional[dict] = None) -> CM:
    cfg = dict(DEFAULT_NET, **(net_cfg or {}))
    return CM(UNet(channels=channels, num_classes=num_classes, widths=tuple(cfg["widths"]), blocks=cfg["blocks"],
                   emb=cfg["emb"], dropout=cfg["dropout"]))


def _batcher(x: torch.Tensor, y: torch.Tensor, batch: int, gen: torch.Generator):
    def get():
        i = torch.randint(0, x.shape[0], (batch,), device=x.device, generator=gen)
        return x[i], y[i]
    return get


def stage0_consistency_training(data: Dataset, out: str, iters: int = 4000, minutes: Optional[float] = None,
                                batch: int = 128, lr: float = 2e-4, seed: int = 0, net_cfg: Optional[dict] = None,
                                ema_decay: float = 0.9995, extend=()) -> dict:
    """iCT consistency training, conditional only (no null class, no teacher). With `minutes`, the
    iteration count (and with it the discretisation curriculum) is sized to the time budget.
    `extend` [(iterations, scales or None)] trains on past the planned run, phase by phase, each at
    a fixed discretisation: None holds the curriculum's last (N = s1 + 1, where iCT holds it once
    the curriculum ends); a coarser one (e.g. 160) trades the consistency bias of large steps for
    a stronger training signal per iteration. A finished run resumes with a longer list that
    starts with the one it ran; the EMA's warm-up restarts where N changes."""
    dev = pick_device()
    torch.manual_seed(seed)
    cm = build_cm(data.shape[0], len(data.classes), net_cfg).to(dev)
    ema = make_ema(cm)
    gen = torch.Generator(device=dev).manual_seed(seed)
    x, y = data.train_x.to(dev), data.train_y.to(dev)
    get = _batcher(x, y, batch, gen)
    state = {"total": iters}

    extend = [tuple(e) for e in extend]
    phases = [list(e) for e in extend]  # as meta.json and result.json record them

    def loss_fn(step):
        xb, yb = get()
        return ct_loss(cm, xb, yb, extended_num_scales(step, state["total"], extend), gen)

    if minutes is not None and not os.path.exists(os.path.join(out, "checkpoint.pt")):
        def probe(k):
            cm.zero_grad(set_to_none=True)
            loss_fn(0).backward()
        rate = measure_rate(probe) * 0.9  # the optimizer and EMA updates cost ~10% more
        state["total"] = iters = max(100, int(rate * minutes * 60))
        cm.zero_grad(set_to_none=True)
        print(f"stage 0: {rate:.1f} it/s measured -> {iters} iterations in {minutes} min", flush=True)
    meta_path = os.path.join(out, "meta.json")
    if os.path.exists(meta_path):  # resuming: keep the curriculum of the original run
        old = json.load(open(meta_path))
        state["total"] = iters = old["iters"]
        ran = [list(e) for e in old.get("extend", [])]
        if phases[:len(ran)] != ran:
            raise ValueError(f"this run was extended by {ran} (iterations, scales); resume it with a list that starts so")
    os.makedirs(out, exist_ok=True)
    json.dump({"iters": iters, "extend": phases, "batch": batch, "lr": lr, "seed": seed,
               "net": dict(DEFAULT_NET, **(net_cfg or {})), "ema_decay": ema_decay, "channels": data.shape[0],
               "num_classes": len(data.classes)},
              open(meta_path, "w"), indent=1)
    res = train(cm, cm.parameters(), loss_fn, iters + sum(n for n, _ in extend), out, lr, ema=ema, ema_decay=ema_decay,
                warmup=500, desc="stage0 CT", ckpt_every=max(500, iters // 10),
                ema_restarts=discretisation_changes(iters, extend))
    torch.save(ema.state_dict(), os.path.join(out, "cm_ema.pt"))
    res.update(params=count_params(cm), device=str(dev), batch=batch, iters=iters, extend=phases)
    json.dump(res, open(os.path.join(out, "result.json"), "w"), indent=1)
    return res


def load_cm(stage0_dir: str, device=None) -> CM:
    meta = json.load(open(os.path.join(stage0_dir, "meta.json")))
    cm = build_cm(meta["channels"], meta["num_classes"], meta["net"])
    cm.load_state_dict(torch.load(os.path.join(stage0_dir, "cm_ema.pt"), map_location="cpu"))
    cm.eval()
    for p in cm.parameters():
        p.requires_grad_(False)
    return cm.to(device or "cpu")


def stage12_jfdl(data: Dataset, stage0_dir: str, out: str, stage1_iters: int = 800, stage2_iters: int = 800,
                 batch: int = 128, lr: float = 1e-2, seed: int = 1) -> dict:
    """JFDL on a stage-0 run of this project's UNet: align_null_embedding with the stage-2-alone
    ablation. Writes null_s1.pt (stage 1 alone), null_s12.pt (stage 1 then stage 2) and
    null_s2.pt (stage 2 alone)."""
    dev = pick_device()
    return align_null_embedding(load_cm(stage0_dir, dev), data.train_x, data.train_y, out, stage1_iters, stage2_iters,
                                batch, lr, seed, ablation=True, device=dev)


def align_null_embedding(cm, x, y, out: str, stage1_iters: int = 800, stage2_iters: int = 800, batch: int = 128,
                         lr: float = 1e-2, seed: int = 1, ablation: bool = False, device=None,
                         checkpoint_null_only: bool = False) -> dict:
    """JFDL on any CM adapter (adapter.py): freeze the CM, learn only the null embedding, a new
    row of its class table (index K, initialised to the mean of the K rows). Stage 1: the
    unconditional consistency loss on label-free data (labels replaced by the null class).
    Stage 2: the joint-flow alignment loss on (image, label) pairs. `x` [N, C, H, W] in [-1, 1],
    `y` [N] class indices 0…K−1. Writes null_s1.pt and null_s12.pt (and, with `ablation`,
    null_s2.pt: stage 2 alone from the same start). `checkpoint_null_only` keeps the resumable
    checkpoints to the one learned row (a 296M-parameter CM would otherwise be saved in each)."""
    dev = device or pick_device()
    torch.manual_seed(seed)
    for p in cm.parameters():
        p.requires_grad_(False)
    cm.eval()
    final_scales = ict_num_scales(10 ** 9, 1)  # the end of the curriculum
    gen = torch.Generator(device=dev).manual_seed(seed)
    x, y = x.to(dev), y.to(dev)
    get = _batcher(x, y, batch, gen)
    res = {}

    def s1_for(model):
        null = torch.full((batch,), model.null_class, dtype=torch.int64, device=dev)

        def f(step):
            xb, _ = get()  # labels are not used: label-free data
            return ct_loss(model, xb, null, final_scales, gen)
        return f

    def s2_for(model):
        def f(step):
            xb, yb = get()
            return jfdl_alignment_loss(model, xb, yb, gen)
        return f

    def run(model, fn, n, name, desc):
        ckpt = _NullRow(model.null_embedding) if checkpoint_null_only else None
        r = train(model, [model.null_embedding], fn, n, os.path.join(out, name), lr, desc=desc, train_mode=False,
                  ckpt_module=ckpt)
        torch.save(model.null_embedding.detach().cpu(), os.path.join(out, f"null_{name}.pt"))
        return r

    g = GuidedCM(cm).to(dev)
    g.eval()  # dropout off: the frozen CM is evaluated, not trained
    res["stage1"] = run(g, s1_for(g), stage1_iters, "s1", "stage1 uncond")
    res["stage2"] = run(g, s2_for(g), stage2_iters, "s12", "stage2 align")
    if ablation:  # stage 2 alone (from the mean-of-classes init), for the ablation table
        g2 = GuidedCM(cm).to(dev)
        g2.eval()
        res["stage2_only"] = run(g2, s2_for(g2), stage2_iters, "s2", "stage2 only")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "result.json"), "w") as f:
        json.dump(res, f, indent=1)
    return res


class _NullRow(torch.nn.Module):
    """The one learned row, alone, for checkpoints."""

    def __init__(self, p: torch.nn.Parameter):
        super().__init__()
        self.null_embedding = p


def load_guided(stage0_dir: str, null_path: str, device=None) -> GuidedCM:
    g = GuidedCM(load_cm(stage0_dir, "cpu"))
    with torch.no_grad():
        g.null_embedding.copy_(torch.load(null_path, map_location="cpu"))
    g.null_embedding.requires_grad_(False)
    g.eval()
    return g.to(device or "cpu")


def debias_ema(stage0_dir: str, decay: float) -> None:
    """Post-hoc bias correction of an EMA kept with a fixed decay d from step 0:
    ema_T = d^T θ_0 + (1 − d) Σ_k d^(T−k) θ_k, so (ema_T − d^T θ_0) / (1 − d^T) is the proper
    d-weighted average of the trained iterates. θ_0 is rebuilt from the run's seed (the
    initialisation is drawn on the CPU, so it is the same on any machine). Used once, for the
    shipped digits16 run, which predates the decay warm-up in training_loop.train; the raw EMA is
    kept as cm_ema_raw.pt."""
    meta = json.load(open(os.path.join(stage0_dir, "meta.json")))
    steps = json.load(open(os.path.join(stage0_dir, "result.json")))["steps"]
    raw_path = os.path.join(stage0_dir, "cm_ema_raw.pt")
    if not os.path.exists(raw_path):
        os.replace(os.path.join(stage0_dir, "cm_ema.pt"), raw_path)
    ema = torch.load(raw_path, map_location="cpu")
    torch.manual_seed(meta["seed"])
    init = build_cm(meta["channels"], meta["num_classes"], meta["net"]).state_dict()
    dT = decay ** steps
    fixed = {k: (v - dT * init[k]) / (1 - dT) if v.is_floating_point() else v for k, v in ema.items()}
    torch.save(fixed, os.path.join(stage0_dir, "cm_ema.pt"))
