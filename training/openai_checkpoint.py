"""`python3 -m training make-openai-checkpoint`: a random-weight checkpoint in
openai/consistency_models' format (a plain state dict saved with torch.save) for a named
configuration (openai_flags.CONFIGS), with every parameter non-zero. Test tooling: the importer's
tests and the full-size import, export and serving measurements run on these, no download
needed."""
from __future__ import annotations

import os
import time

import torch

from .openai_flags import CONFIG_CLASSES, CONFIGS, parse_flags, unet_config
from .openai_unet import OpenAIUNet, randomize_


def make_openai_checkpoint(config: str, out: str, seed: int = 0) -> dict:
    if config not in CONFIGS:
        raise ValueError(f"--config {config!r}: one of {sorted(CONFIGS)}")
    t0 = time.time()
    cfg = unet_config(parse_flags(CONFIGS[config]), CONFIG_CLASSES[config])
    net = randomize_(OpenAIUNet(cfg, device="meta").to_empty(device="cpu"), seed)  # no default init: all overwritten
    state = net.state_dict()
    d = os.path.dirname(out)
    if d:
        os.makedirs(d, exist_ok=True)
    torch.save(state, out)
    return {"checkpoint": out, "config": config, "flags": CONFIGS[config], "seed": seed,
            "params": sum(v.numel() for v in state.values()), "state_dict_keys": len(state),
            "mb": round(os.path.getsize(out) / 2 ** 20, 1), "wall_s": round(time.time() - t0, 1)}
