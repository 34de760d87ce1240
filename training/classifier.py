"""The evaluation classifier: a small CNN trained on the training split only. Its accuracy scores
generated images against the requested class; its penultimate features give the Fréchet distance
(an FID analogue at this scale)."""
from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .data import Dataset


class Classifier(nn.Module):
    def __init__(self, channels: int = 1, num_classes: int = 10, feat: int = 64, size: int = 16):
        super().__init__()
        side = ((size + 1) // 2 + 1) // 2  # after two stride-2 convolutions: ceil(ceil(size / 2) / 2)
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * side * side, 128), nn.ReLU(), nn.Linear(128, feat), nn.ReLU())
        self.head = nn.Linear(feat, num_classes)

    def forward(self, x):
        f = self.body(x)
        return self.head(f), f


def _shift(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random ±1 pixel translations: cheap augmentation that keeps digits and garments readable."""
    dx, dy = torch.randint(-1, 2, (2,), generator=g).tolist()
    return torch.roll(x, shifts=(dy, dx), dims=(2, 3))


def train_classifier(data: Dataset, epochs: int = 40, seed: int = 0) -> tuple:
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    clf = Classifier(data.shape[0], len(data.classes), size=data.shape[-1])
    opt = torch.optim.Adam(clf.parameters(), lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    x, y = data.train_x, data.train_y
    for _ in range(epochs):
        clf.train()
        perm = torch.randperm(len(y), generator=g)
        for i in range(0, len(y), 64):
            b = perm[i:i + 64]
            loss = F.cross_entropy(clf(_shift(x[b], g))[0], y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    clf.eval()
    acc = accuracy(clf, data.test_x, data.test_y)
    return clf, acc


@torch.no_grad()
def predict(clf: Classifier, x: torch.Tensor, batch: int = 1000):
    clf.eval()
    logits, feats = zip(*(clf(x[i:i + batch]) for i in range(0, len(x), batch)))
    return torch.cat(logits), torch.cat(feats)


def accuracy(clf: Classifier, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((predict(clf, x)[0].argmax(1) == y).float().mean())


def frechet_distance(f1: np.ndarray, f2: np.ndarray) -> float:
    """‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½) (Heusel et al. 2017), on classifier features."""
    from scipy import linalg

    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    if not np.isfinite(covmean).all():
        eps = np.eye(s1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((s1 + eps).dot(s2 + eps))
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def export_classifier(clf: Classifier, path: str, shape) -> None:
    from .onnx_export import export_plain
    export_plain(clf, path, shape, ["image"], ["logits", "features"])
