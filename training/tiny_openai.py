"""`python3 -m training tiny-openai`: the imported-model test fixture, made the way a user makes
theirs — a random-weight checkpoint of the tiny openai configuration in that repository's format,
`import-openai`, a few `align` iterations on a small generated image folder — plus its golden
vectors (network outputs at σ from 80 down to 0.002, reference-sampler images) for the
TypeScript parity test. Not a real model: its weights are random."""
from __future__ import annotations

import os
import tempfile

import numpy as np

from .align_model import align_model_dir
from .golden import GOLDEN_SETTINGS, network_golden, sampler_golden, write_golden
from .manifest import read_manifest, write_manifest
from .model_card import write_card
from .onnx_weights import load_from_model_dir
from .openai_checkpoint import make_openai_checkpoint
from .openai_flags import CONFIGS
from .openai_import import import_openai

NAME = "tiny-openai"
SIGMAS = (80.0, 40.0, 10.0, 2.0, 0.5, 0.1, 0.02, 0.002)  # the network vectors' σ, one per row


def make_image_folder(root: str, classes, per_class: int = 4, size: int = 40, seed: int = 0) -> str:
    """Per class, noisy images of one colour and one stripe orientation; `size` differs from the
    model's, so the loader's resize is exercised too."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    for k, c in enumerate(classes):
        os.makedirs(os.path.join(root, c), exist_ok=True)
        colour = np.array([(k * 67) % 256, (k * 131 + 40) % 256, (k * 29 + 90) % 256], dtype=np.float64)
        stripes = np.sin((xx * np.cos(k) + yy * np.sin(k)) * 0.6)[..., None]
        for i in range(per_class):
            img = colour * (0.6 + 0.4 * stripes) + rng.normal(0, 20, (size, size, 3))
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(os.path.join(root, c, f"{i}.png"))
    return root


def export_tiny_openai_float16(out_dir: str = f"test/fixtures/float16/{NAME}-fp16") -> dict:
    """The same checkpoint (seed 14) imported with float16 weights: the fixture on which the
    TypeScript suite checks float16 against the float32 golden vectors of tiny-openai's cm.onnx."""
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = make_openai_checkpoint("tiny", os.path.join(tmp, "ct_tiny.pt"), seed=14)
        imported = import_openai(ckpt["checkpoint"], CONFIGS["tiny"], out_dir, f"{NAME}-fp16", overwrite=True,
                                 dtype="float16")
    m = read_manifest(out_dir)
    m["description"] = ("Random-weight test fixture: tiny-openai's checkpoint imported with float16 weights "
                        "(32x32 RGB, 10 classes). Not a real model.")
    write_manifest(out_dir, m)
    write_card(out_dir, m)
    return {"dir": out_dir, "import": imported}


def export_tiny_openai(out_dir: str = f"test/fixtures/imported/{NAME}",
                       golden_path: str = f"test/golden/{NAME}.json") -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = make_openai_checkpoint("tiny", os.path.join(tmp, "ct_tiny.pt"), seed=14)
        imported = import_openai(ckpt["checkpoint"], CONFIGS["tiny"], out_dir, NAME, overwrite=True)
        m = read_manifest(out_dir)
        images = make_image_folder(os.path.join(tmp, "images"), m["classes"])
        aligned = align_model_dir(out_dir, images, os.path.join(tmp, "run"), stage1_iters=3, stage2_iters=3, batch=8)
    m = read_manifest(out_dir)
    m["description"] = ("Random-weight test fixture of the imported openai/consistency_models UNet (tiny "
                        "configuration, 32x32 RGB, 10 classes), aligned for 3 + 3 iterations on generated images. "
                        "Not a real model.")
    write_manifest(out_dir, m)
    write_card(out_dir, m)
    shape = (m["image"]["channels"], m["image"]["height"], m["image"]["width"])
    K = len(m["classes"])
    cm, g = load_from_model_dir(out_dir, "cm"), load_from_model_dir(out_dir, "jfdl")
    names = {e["kind"]: e["model"] for e in m["graphs"]}
    settings = [dict(s, **{"class": s["class"] % K}) for s in GOLDEN_SETTINGS if str(s["steps"]) in m["schedules"]]
    write_golden(golden_path, NAME,
                 [network_golden(g, "jfdl.onnx", shape, [0, K, 5, K, 9, 3, K, 7], sigmas=SIGMAS),
                  network_golden(cm, "cm.onnx", shape, [1, 2, 3, 4, 5, 6, 7, 8], seed=1, sigmas=SIGMAS)],
                 sampler_golden(g, names["jfdl"], settings, shape, K, m["schedules"])
                 + sampler_golden(cm, names["cm"], [dict(s, guidance=1.0) for s in settings[:3]], shape, None,
                                  m["schedules"]))
    return {"dir": out_dir, "golden": golden_path, "import": imported, "align": aligned}
