"""Losses: iCT consistency training (stage 0 and JFDL stage 1) and the JFDL joint-flow alignment
(stage 2). Formulas and reasoning: training/README.md."""
from __future__ import annotations

import math

import torch

from .schedules import SIGMA_DATA, karras_sigmas, lognormal_level_probs, pseudo_huber_c


def pseudo_huber(a: torch.Tensor, b: torch.Tensor, c: float) -> torch.Tensor:
    d = (a - b).flatten(1)
    return torch.sqrt(d.pow(2).sum(1) + c * c) - c


def ct_loss(model, x0, labels, num_scales: int, generator=None) -> torch.Tensor:
    """iCT consistency-training loss (Song & Dhariwal 2023), no teacher:
    L = E[ λ(σ_i) · d(f_θ(x0 + σ_{i+1} z, σ_{i+1}), sg f_θ(x0 + σ_i z, σ_i)) ],
    σ_i from the Karras grid with `num_scales` levels, i ~ lognormal level probabilities,
    λ = 1/(σ_{i+1} − σ_i), d the pseudo-Huber metric, and the stop-gradient target computed by the
    same weights (no EMA teacher)."""
    dev = x0.device
    sig = karras_sigmas(num_scales).to(dev)
    p = lognormal_level_probs(sig)
    i = torch.multinomial(p.float(), x0.shape[0], replacement=True, generator=generator)
    s_lo, s_hi = sig[i].float(), sig[i + 1].float()
    z = torch.randn(x0.shape, device=dev, generator=generator)
    # Dropout draws differ between the two passes; iCT found sharing them unnecessary.
    with torch.no_grad():
        target = model(x0 + s_lo[:, None, None, None] * z, s_lo, labels)
    pred = model(x0 + s_hi[:, None, None, None] * z, s_hi, labels)
    w = 1.0 / (s_hi - s_lo)
    c = pseudo_huber_c(x0[0].numel())
    return (w * pseudo_huber(pred, target, c)).mean()


def sample_alignment_sigmas(n: int, device, generator=None, sigma_min=0.002, sigma_max=80.0):
    """Half lognormal (iCT's P_mean=-1.1, P_std=2) and half log-uniform over [σ_min, σ_max], so the
    alignment sees the large σ where guidance acts in a 1-2 step sampler as well as the small ones."""
    half = n // 2
    ln = torch.randn(half, device=device, generator=generator) * 2.0 - 1.1
    lu = torch.rand(n - half, device=device, generator=generator)
    lu = lu * (math.log(sigma_max) - math.log(sigma_min)) + math.log(sigma_min)
    return torch.cat([ln, lu]).exp().clamp(sigma_min * 1.01, sigma_max)


def implied_noise(model, x, sigma, labels) -> torch.Tensor:
    """JFDL's implied VE noise of a prediction: ε̂ = (x − f(x, σ, c)) / σ."""
    return (x - model(x, sigma, labels)) / sigma[:, None, None, None]


def jfdl_alignment_loss(model, x0, labels, generator=None, sigma_data: float = SIGMA_DATA) -> torch.Tensor:
    """Joint-flow alignment (this project's reconstruction of JFDL stage 2).

    Draw (x0, c) from the *joint* data distribution and x = x0 + σ z. The unconditional flow is the
    mixture of the conditional flows: its ideal denoiser is E[x0 | x] = Σ_c p(c | x) E[x0 | x, c].
    Regressing the null branch onto the (frozen, stop-gradient) conditional branch of the sample's
    own class, under the joint distribution, has exactly that mixture as its minimiser:
        L = E_{(x0,c),σ,z} [ λ(σ) · ‖ε̂_∅(x, σ) − sg ε̂_c(x, σ)‖² ],
    with ε̂ the implied VE noise and λ(σ) = (σ² + σ_data²)/σ_data² (EDM's unit-variance weighting,
    carried over from D to ε̂ = (x − D)/σ). Only the null embedding receives gradients."""
    sigma = sample_alignment_sigmas(x0.shape[0], x0.device, generator)
    z = torch.randn(x0.shape, device=x0.device, generator=generator)
    x = x0 + sigma[:, None, None, None] * z
    with torch.no_grad():
        eps_c = implied_noise(model, x, sigma, labels)
    null = torch.full_like(labels, model.null_class)
    eps_u = implied_noise(model, x, sigma, null)
    lam = (sigma ** 2 + sigma_data ** 2) / sigma_data ** 2
    return (lam * (eps_u - eps_c).flatten(1).pow(2).mean(1)).mean()
