"""A small class-conditional UNet and the consistency-model parameterisation around it.

f(x, σ, c) = c_skip(σ)·x + c_out(σ)·F(c_in(σ)·x, c_noise(σ), c)   (Song et al. 2023, EDM scalings
with the σ_min shift that makes f(x, σ_min, c) = x exactly)."""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .schedules import SIGMA_DATA, SIGMA_MIN


def cm_scalings(sigma: torch.Tensor, sigma_min: float = SIGMA_MIN, sigma_data: float = SIGMA_DATA):
    c_skip = sigma_data ** 2 / ((sigma - sigma_min) ** 2 + sigma_data ** 2)
    c_out = (sigma - sigma_min) * sigma_data / torch.sqrt(sigma ** 2 + sigma_data ** 2)
    c_in = 1 / torch.sqrt(sigma ** 2 + sigma_data ** 2)
    c_noise = 0.25 * torch.log(sigma)
    return c_skip, c_out, c_in, c_noise


class FourierEmbedding(nn.Module):
    """Sinusoidal embedding of c_noise (transformer positional encoding, as in DDPM++)."""

    def __init__(self, dim: int, scale: float = 100.0):
        super().__init__()
        half = dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
        self.register_buffer("freqs", freqs * scale, persistent=False)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        a = t[:, None].float() * self.freqs[None]
        return torch.cat([a.cos(), a.sin()], dim=1)


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, emb: int, dropout: float):
        super().__init__()
        self.n1 = nn.GroupNorm(min(8, cin // 4), cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.e = nn.Linear(emb, 2 * cout)
        self.n2 = nn.GroupNorm(min(8, cout // 4), cout)
        self.drop = nn.Dropout(dropout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.c2.weight)
        nn.init.zeros_(self.c2.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, emb):
        h = self.c1(F.silu(self.n1(x)))
        scale, shift = self.e(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.n2(h) * (1 + scale) + shift  # FiLM conditioning on σ and class
        h = self.c2(self.drop(F.silu(h)))
        return (self.skip(x) + h) / math.sqrt(2)


class UNet(nn.Module):
    """F_θ: 3 resolutions (e.g. 16→8→4), `blocks` residual blocks per level, skip connections.
    Conditioning: embedding(c_noise) + class_table[c] → MLP → FiLM in every block. The class table
    has `num_classes` rows; a JFDL model passes its own (K+1)-row table (see GuidedCM)."""

    def __init__(self, channels: int = 1, num_classes: int = 10, widths: Sequence[int] = (32, 64, 64),
                 blocks: int = 2, emb: int = 128, dropout: float = 0.1):
        super().__init__()
        self.num_classes = num_classes
        self.noise_emb = FourierEmbedding(emb)
        self.class_emb = nn.Embedding(num_classes, emb)
        nn.init.normal_(self.class_emb.weight, std=1.0)
        self.mlp = nn.Sequential(nn.Linear(emb, 2 * emb), nn.SiLU(), nn.Linear(2 * emb, 2 * emb), nn.SiLU())
        e = 2 * emb
        self.inp = nn.Conv2d(channels, widths[0], 3, padding=1)
        self.down = nn.ModuleList()
        skips = [widths[0]]
        c = widths[0]
        for lvl, w in enumerate(widths):
            for _ in range(blocks):
                self.down.append(ResBlock(c, w, e, dropout))
                c = w
                skips.append(c)
            if lvl < len(widths) - 1:
                self.down.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
                skips.append(c)
        self.mid = nn.ModuleList([ResBlock(c, c, e, dropout), ResBlock(c, c, e, dropout)])
        self.up = nn.ModuleList()
        for lvl, w in reversed(list(enumerate(widths))):
            for _ in range(blocks + 1):
                self.up.append(ResBlock(c + skips.pop(), w, e, dropout))
                c = w
            if lvl > 0:
                self.up.append(nn.Upsample(scale_factor=2, mode="nearest"))
        self.out = nn.Sequential(nn.GroupNorm(8, c), nn.SiLU(), nn.Conv2d(c, channels, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, x, c_noise, class_vec):
        emb = self.mlp(self.noise_emb(c_noise) + class_vec)
        h = self.inp(x)
        hs = [h]
        for m in self.down:
            h = m(h, emb) if isinstance(m, ResBlock) else m(h)
            hs.append(h)
        for m in self.mid:
            h = m(h, emb)
        for m in self.up:
            if isinstance(m, ResBlock):
                h = m(torch.cat([h, hs.pop()], dim=1), emb)
            else:
                h = m(h)
        return self.out(h)


class CM(nn.Module):
    """The consistency function f(x, σ, c) of a conditional-only CM (classes 0..K-1). Also the
    JFDL alignment's adapter for this project's UNet (adapter.py): `class_table()` is the class
    embedding, `denoise(x, σ, row)` is f with the class given as its row."""

    def __init__(self, net: UNet, sigma_min: float = SIGMA_MIN, sigma_data: float = SIGMA_DATA):
        super().__init__()
        self.net = net
        self.sigma_min = sigma_min
        self.sigma_data = sigma_data

    def class_table(self) -> torch.Tensor:
        return self.net.class_emb.weight

    def denoise(self, x, sigma, class_vec):
        c_skip, c_out, c_in, c_noise = cm_scalings(sigma.to(x.dtype), self.sigma_min, self.sigma_data)
        out = self.net(x * c_in[:, None, None, None], c_noise, class_vec)
        return c_skip[:, None, None, None] * x + c_out[:, None, None, None] * out

    def forward(self, x, sigma, class_labels):
        return self.denoise(x, sigma, F.embedding(class_labels, self.class_table()))


class GuidedCM(nn.Module):
    """The JFDL model of any CM adapter (adapter.py: `class_table()` [K, E] and
    `denoise(x, σ, rows)`): the same frozen CM plus one learned row, the null-class guidance
    embedding, at index K. Every CM weight is shared, untouched, with the CM.

    The adapter's sub-modules and parameters are registered here under their own names, so the
    JFDL model's state dict (and its ONNX graph's initializers) are the CM's, name for name, plus
    `null_embedding`: what lets a test prove the JFDL graph carries the CM bit for bit."""

    def __init__(self, cm: nn.Module, init: str = "mean"):
        super().__init__()
        object.__setattr__(self, "adapter", cm)  # not a sub-module: its children are, below
        for name, child in cm.named_children():
            self.add_module(name, child)
        for name, p in cm.named_parameters(recurse=False):
            self.register_parameter(name, p)
        w = cm.class_table().detach()
        start = w.mean(0) if init == "mean" else torch.zeros_like(w[0])
        self.null_embedding = nn.Parameter(start.clone())

    @property
    def null_class(self) -> int:
        return self.adapter.class_table().shape[0]

    @property
    def sigma_min(self) -> float:
        return self.adapter.sigma_min

    @property
    def sigma_data(self) -> float:
        return self.adapter.sigma_data

    def class_table(self) -> torch.Tensor:
        return torch.cat([self.adapter.class_table(), self.null_embedding[None]], dim=0)

    def forward(self, x, sigma, class_labels):
        return self.adapter.denoise(x, sigma, F.embedding(class_labels, self.class_table()))


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
