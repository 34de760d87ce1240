"""Noise schedules and the consistency-training curriculum (Song & Dhariwal 2023, "Improved
Techniques for Training Consistency Models", iCT)."""
from __future__ import annotations

import math

import torch

SIGMA_MIN = 0.002
SIGMA_MAX = 80.0
SIGMA_DATA = 0.5
RHO = 7.0


def karras_sigmas(n: int, sigma_min: float = SIGMA_MIN, sigma_max: float = SIGMA_MAX, rho: float = RHO) -> torch.Tensor:
    """n noise levels, *ascending* from sigma_min to sigma_max (EDM eq. 5, as CT uses them)."""
    if n == 1:
        return torch.tensor([sigma_max], dtype=torch.float64)
    i = torch.arange(n, dtype=torch.float64)
    a, b = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return (a + i / (n - 1) * (b - a)) ** rho


def sampling_schedule(n: int, sigma_min: float = SIGMA_MIN, sigma_max: float = SIGMA_MAX) -> list:
    """Default descending schedule for an n-step sampler: Karras levels from sigma_max down to just
    above sigma_min (the last level is never sigma_min itself, where f is the identity)."""
    if n == 1:
        return [sigma_max]
    s = karras_sigmas(n + 1, sigma_min, sigma_max).flip(0)[:-1]
    return [float(v) for v in s]


def ict_num_scales(k: int, total: int, s0: int = 10, s1: int = 1280) -> int:
    """iCT exponential discretisation curriculum: N(k) = min(s0 * 2^floor(k / K'), s1) + 1 with
    K' = floor(K / (log2(s1/s0) + 1))."""
    kp = max(1, math.floor(total / (math.log2(s1 / s0) + 1)))
    # the doubling count is capped where N reaches s1: 2**(k // kp) of a huge k (the stages ask
    # for "the end of the curriculum" with k = 10**9) would be a billion-bit integer
    return min(s0 * 2 ** min(k // kp, math.ceil(math.log2(s1 / s0))), s1) + 1


def parse_extension(spec: str) -> tuple:
    """`K` or `K:S` → (K, S): K stage-0 iterations past the planned run at S discretisation steps
    (N = S + 1 levels); without S, at the curriculum's last (s1)."""
    k, sep, s = str(spec).partition(":")
    if not k.isdigit() or int(k) < 1 or (sep and (not s.isdigit() or int(s) < 1)):
        raise ValueError(f"an extension is ITERATIONS or ITERATIONS:SCALES (positive integers), not {spec!r}")
    return int(k), (int(s) if s else None)


def extended_num_scales(k: int, total: int, phases=(), s1: int = 1280) -> int:
    """The discretisation at step k of a run planned for `total` steps and extended by `phases`
    [(iterations, scales or None)]: the iCT curriculum up to `total`, then each phase's N in turn
    (None: s1, where iCT holds N once its curriculum ends)."""
    if k < total or not phases:
        return ict_num_scales(k, total, s1=s1)
    end = total
    for n, s in phases:  # past the last phase its N holds: the loop ends on it
        end += n
        if k < end:
            break
    return (s if s is not None else s1) + 1


def discretisation_changes(total: int, phases=()) -> list:
    """The steps where an extension phase changes N (the EMA restarts its warm-up there: weights
    trained for another discretisation should not be averaged into the new one)."""
    out, start = [], total
    for n, _ in phases:
        if start > 0 and extended_num_scales(start, total, phases) != extended_num_scales(start - 1, total, phases):
            out.append(start)
        start += n
    return out


def lognormal_level_probs(sigmas: torch.Tensor, p_mean: float = -1.1, p_std: float = 2.0) -> torch.Tensor:
    """iCT lognormal sampling over discrete levels: P(i) ∝ erf((ln σ_{i+1} − P_mean)/(√2 P_std)) −
    erf((ln σ_i − P_mean)/(√2 P_std)), for the N−1 adjacent pairs (σ_i, σ_{i+1})."""
    e = torch.erf((torch.log(sigmas) - p_mean) / (math.sqrt(2) * p_std))
    p = (e[1:] - e[:-1]).clamp_min(0)
    return p / p.sum()


def pseudo_huber_c(dim: int) -> float:
    """iCT: c = 0.00054 * sqrt(d), d the data dimension."""
    return 0.00054 * math.sqrt(dim)
