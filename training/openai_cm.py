"""The consistency function of an openai/consistency_models checkpoint, as that repository's
KarrasDenoiser.denoise computes it for consistency models (`distillation=True`, the CT and CD
checkpoints; cm/karras_diffusion.py):

    f(x, σ, c) = c_out(σ)·F(c_in(σ)·x, 250·log σ, c) + c_skip(σ)·x,
    c_skip = σ_d² / ((σ − σ_min)² + σ_d²),  c_out = (σ − σ_min)·σ_d / √(σ² + σ_d²),  c_in = 1 / √(σ² + σ_d²),

σ_d = 0.5: the boundary scalings of this project's contract (f(x, σ_min, c) = x), with that
repository's noise conditioning, the rescaled time 1000·¼·log σ. (It adds 1e-44 inside the log,
which changes no float32 σ ≥ σ_min.) Also the JFDL alignment's adapter for this network
(adapter.py): the class table is the label embedding, [K, 4·model_channels]."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .openai_unet import OpenAIUNet, UNetConfig

SIGMA_DATA = 0.5  # KarrasDenoiser's fixed σ_data


class OpenAICM(nn.Module):
    def __init__(self, net: OpenAIUNet, sigma_min: float = 0.002, sigma_data: float = SIGMA_DATA):
        super().__init__()
        if net.cfg.num_classes is None:
            raise ValueError("the network is not class-conditional: there is no class table to guide")
        self.net = net
        self.sigma_min = sigma_min
        self.sigma_data = sigma_data

    def class_table(self) -> torch.Tensor:
        return self.net.label_emb.weight

    def scalings(self, sigma: torch.Tensor):
        sd, smin = self.sigma_data, self.sigma_min
        c_skip = sd ** 2 / ((sigma - smin) ** 2 + sd ** 2)
        c_out = (sigma - smin) * sd / torch.sqrt(sigma ** 2 + sd ** 2)
        c_in = 1 / torch.sqrt(sigma ** 2 + sd ** 2)
        return c_skip, c_out, c_in

    def denoise(self, x, sigma, class_vec):
        sigma = sigma.to(x.dtype)
        c_skip, c_out, c_in = (v[:, None, None, None] for v in self.scalings(sigma))
        t = 250.0 * torch.log(sigma)
        return c_out * self.net.forward_vec(c_in * x, t, class_vec) + c_skip * x

    def forward(self, x, sigma, class_labels):
        return self.denoise(x, sigma, F.embedding(class_labels, self.class_table()))


def build_openai_cm(cfg: UNetConfig, sigma_min: float = 0.002, device=None) -> OpenAICM:
    """The CM around a fresh network; device="meta" builds it without memory or initialisation
    (then `to_empty` and load a state dict)."""
    return OpenAICM(OpenAIUNet(cfg, device=device), sigma_min)
