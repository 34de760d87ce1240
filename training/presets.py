"""Per-dataset settings of the shipped models: the network, the model folder it is exported to and
its golden vectors. `python3 -m training all --dataset NAME` reads them; an image folder of a
user's own data uses the digits16 network at the size and channels it is given."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Preset:
    dataset: str
    model: str
    model_dir: str
    golden: str
    net: dict = field(default_factory=dict)
    # model.json's description and provenance sentence
    description: str = ""
    data_text: str = ""
    # 2-step σ_mid values tried by the evaluation (the best by Fréchet distance is shipped)
    sigma_mid_grid: tuple = (0.5, 0.8, 1.2, 1.6, 2.0, 2.5, 3.0, 4.0)
    batch: int = 128
    # epochs of the evaluation classifier (a few passes suffice on a large training split)
    classifier_epochs: int = 40
    # the manifest's default sampler, which the evaluation's headline, ablation and sample grid use
    default_sampler: str = "ode"
    # network golden vectors: labels of the JFDL rows and of the CM rows
    golden_labels: tuple = ((0, 10, 5, 10, 9, 3, 10, 7), (1, 2, 3, 4))


PRESETS = {
    # 1.9M parameters at 16x16 (widths 32/64/64, 2 blocks per level).
    "digits16": Preset("digits16", "digits16", "models/digits16", "test/golden/digits16.json",
                       {"widths": [32, 64, 64], "blocks": 2, "emb": 128, "dropout": 0.1},
                       description="Class-conditional consistency model of handwritten digits (16x16 gray), "
                                   "consistency-trained without a teacher, with a post-hoc JFDL guidance embedding.",
                       data_text="scikit-learn digits (1,797 real 8x8 handwritten digits), bilinear 16x16, 300 held out"),
    # 1.25M parameters at 28x28 (28 -> 14 -> 7). Measured on the 2-core CPU (torch 1.13, batch 128,
    # one CT iteration): widths 16/32/64 x 2 blocks 117 img/s; 32/64/64 x 2 blocks 48 img/s; one
    # torch thread as fast as two at this size, so a run takes one core.
    "fashion-mnist": Preset("fashion-mnist", "fashion28", "models/fashion28", "test/golden/fashion28.json",
                            {"widths": [16, 32, 64], "blocks": 2, "emb": 128, "dropout": 0.1},
                            description="Class-conditional consistency model of Fashion-MNIST garments (28x28 gray), "
                                        "consistency-trained without a teacher, with a post-hoc JFDL guidance embedding.",
                            data_text="Fashion-MNIST (Xiao et al. 2017; Debian's dataset-fashion-mnist): the official "
                                      "split, 60,000 training and 10,000 test images, 28x28 gray, native size",
                            classifier_epochs=8,
                            # The classic multistep consistency sampler (fresh noise at σ_mid): the
                            # evaluation of 2026-12-02 (1,000 images a setting) measured the 2-step CM
                            # at accuracy 0.811, FD 32.5 with it against 0.771, FD 29.3 with the
                            # ode sampler (both at their best σ_mid, 3.0). It puts ~4 % more images
                            # in the asked class for a 10 % higher Fréchet distance; guided,
                            # the same trade (consistency 0.901 / 10.6 at w 1.7, ode 0.873 / 7.6 at
                            # w 1.8). A judgement for class fidelity (docs/fashion-mnist.md).
                            default_sampler="consistency"),
}


def preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"unknown dataset {name!r}; one of {sorted(PRESETS)} (or an image folder with 'train --data')")
    return PRESETS[name]
