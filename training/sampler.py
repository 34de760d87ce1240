"""The PyTorch reference of the guided ODE sampler (DESIGN §2, docs/model-contract.md). The
TypeScript sampler in src/sampler/ must reproduce it; golden vectors pin both."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .rng import normals


@torch.no_grad()
def sample(model, classes: Sequence[int], seeds: Sequence[int], indices: Sequence[int], sigmas: Sequence[float],
           guidance: float = 1.0, sampler: str = "ode", null_class=None, clamp: bool = True,
           sigma_min: float = 0.002, shape=(1, 16, 16), device="cpu", return_denoised: bool = False):
    """Generate one image per (class, seed, index). Returns uint8 [B, C, H, W] (and the final D)."""
    n = len(sigmas)
    numel = int(np.prod(shape))
    B = len(classes)
    z0 = np.stack([normals(s, i, 0, numel) for s, i in zip(seeds, indices)]).reshape(B, *shape)
    x = torch.from_numpy(z0).to(device) * np.float32(sigmas[0])
    c = torch.tensor(list(classes), dtype=torch.int64, device=device)
    guided = guidance != 1.0
    if guided and null_class is None:
        raise ValueError("guidance != 1 needs a model with a null class")
    D = None
    for i, s in enumerate(sigmas):
        sig = torch.full((B,), float(s), dtype=torch.float32, device=device)
        if guided:
            out = model(torch.cat([x, x]), torch.cat([sig, sig]),
                        torch.cat([c, torch.full_like(c, null_class)]))
            d_c, d_u = out[:B].double(), out[B:].double()
            D = (d_u + guidance * (d_c - d_u)).float()
        else:
            D = model(x, sig, c).float()
        if clamp:
            D = D.clamp(-1, 1)
        if i < n - 1:
            nxt = float(sigmas[i + 1])
            if sampler == "ode":
                eps = (x.double() - D.double()) / float(s)  # implied VE noise (JFDL)
                x = (D.double() + nxt * eps).float()
            elif sampler == "consistency":
                z = np.stack([normals(sd, ix, i + 1, numel) for sd, ix in zip(seeds, indices)]).reshape(B, *shape)
                z = torch.from_numpy(z).to(device).double()
                x = (D.double() + np.sqrt(max(nxt ** 2 - sigma_min ** 2, 0.0)) * z).float()
            else:
                raise ValueError(f"unknown sampler {sampler}")
    pixels = to_pixels(D)
    return (pixels, D.cpu()) if return_denoised else pixels


def to_pixels(D: torch.Tensor) -> np.ndarray:
    v = (D.detach().cpu().double().numpy() + 1.0) * 127.5
    return np.clip(np.floor(v + 0.5), 0, 255).astype(np.uint8)
