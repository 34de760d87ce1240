"""The JFDL alignment's view of a consistency model: an *adapter* with

- `class_table()` → [K, E]: the table that holds the class rows (what a class index selects);
- `denoise(x, sigma, rows)` → f(x, σ, c) with the class given as its row, rows [B, E];
- `sigma_min`, `sigma_data` (the CM's boundary: f(x, σ_min, ·) = x);
- and, as an nn.Module, `forward(x, sigma, labels) = denoise(x, sigma, class_table()[labels])`.

networks.GuidedCM(adapter) appends the learned null row (index K) to the table and is what the
alignment trains (stages.align_null_embedding) and the JFDL graph exports. This project's UNet
(networks.CM) and the openai/consistency_models UNet (openai_cm.OpenAICM) are the two adapters
here; training/README.md shows a third, an EDM-style network whose label map is a Linear over
one-hot labels (its table is the weight's transpose, the null class a new column).

`check_adapter` is a quick self-test for a new adapter, before spending hours aligning it."""
from __future__ import annotations

from typing import Protocol, Sequence

import torch
import torch.nn.functional as F


class CMAdapter(Protocol):
    sigma_min: float
    sigma_data: float

    def class_table(self) -> torch.Tensor: ...

    def denoise(self, x: torch.Tensor, sigma: torch.Tensor, rows: torch.Tensor) -> torch.Tensor: ...

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, labels: torch.Tensor) -> torch.Tensor: ...


def check_adapter(cm, shape: Sequence[int], sigmas=(80.0, 2.0, 0.002), seed: int = 0) -> None:
    """Raises AssertionError naming what an adapter gets wrong: the table's shape, forward ≠
    denoise of the selected rows, the rows not reaching the output, the boundary condition."""
    from .networks import GuidedCM

    table = cm.class_table()
    assert table.dim() == 2 and table.shape[0] >= 1, f"class_table() must be [K, E], got {list(table.shape)}"
    K = table.shape[0]
    g = torch.Generator().manual_seed(seed)
    s = torch.tensor([float(v) for v in sigmas])
    x = torch.randn(len(s), *shape, generator=g) * s[:, None, None, None]
    c = torch.arange(len(s)) % K
    with torch.no_grad():
        out = cm(x, s, c)
        assert out.shape == x.shape, f"f(x, σ, c) has shape {list(out.shape)}, x has {list(x.shape)}"
        assert torch.equal(out, cm.denoise(x, s, F.embedding(c, table))), "forward(labels) ≠ denoise(table[labels])"
        other = cm.denoise(x, s, F.embedding(c, table) + 1.0)
        assert not torch.equal(other[:-1], out[:-1]), "the class row does not reach the output"
        smin = torch.full_like(s, float(cm.sigma_min))
        assert torch.allclose(cm(x, smin, c), x, atol=1e-5), "f(x, σ_min, c) ≠ x: boundary scalings missing?"
        guided = GuidedCM(cm)
        assert guided.null_class == K and torch.equal(guided(x, s, c), out), "GuidedCM changes the classes' outputs"
