"""`python3 -m training import-openai`: an openai/consistency_models checkpoint (a plain state
dict saved with torch.save, e.g. ct_imagenet64.pt) and its model flags → a servable model folder
(`model.json` + `cm.onnx`), plain CM, guidance fixed at 1 until `align` adds the JFDL graph.

The checkpoint is checked against the network the flags describe before anything is written:
the number of classes is taken from the checkpoint (its label embedding's rows); any other
difference is refused, naming the first key that does not fit and both shapes."""
from __future__ import annotations

import inspect
import os
import re
import time
from typing import List, Optional

import torch

from .model_card import write_card
from .model_folder import Graph, write_model_folder
from .openai_cm import SIGMA_DATA, OpenAICM, build_openai_cm
from .openai_flags import parse_flags, unet_config
from .openai_unet import OpenAIUNet, UNetConfig

FAMILY = "openai/consistency_models UNet"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,60}$")  # room for the "-cm" suffix (64 in all)
# openai/consistency_models' two-step CT ImageNet-64 recipe samples `--sampler multistep --ts
# 0,106,200 --steps 201` (scripts/launch.sh): levels 0 and 106 of a 201-level Karras grid
TWO_STEP_LEVELS, GRID_LEVELS, RHO = (0, 106), 201, 7.0


class CheckpointMismatch(ValueError):
    """The checkpoint does not fit the flags (or is not a state dict)."""


def karras_level(i: int, n: int, sigma_min: float, sigma_max: float, rho: float = RHO) -> float:
    """Level i of an n-level Karras grid counted from σ_max, as that repository's multistep
    sampler computes it: (σ_max^(1/ρ) + i/(n−1)·(σ_min^(1/ρ) − σ_max^(1/ρ)))^ρ."""
    a, b = sigma_max ** (1 / rho), sigma_min ** (1 / rho)
    return (a + i / (n - 1) * (b - a)) ** rho


def imported_schedules(sigma_min: float, sigma_max: float) -> dict:
    """1 step: [σ_max]; 2 steps: levels 0 and 106 of the 201-level grid (80 and 1.9128 for the
    published range)."""
    return {"1": [float(sigma_max)],
            "2": [round(karras_level(i, GRID_LEVELS, sigma_min, sigma_max), 4) for i in TWO_STEP_LEVELS]}


def load_state_dict_file(path: str) -> dict:
    """A plain state dict, read without running code from the file where torch allows it."""
    kw = {"map_location": "cpu"}
    if "weights_only" in inspect.signature(torch.load).parameters:
        kw["weights_only"] = True
    try:
        state = torch.load(path, **kw)
    except FileNotFoundError:
        raise
    except Exception as e:  # noqa: BLE001 - any unreadable file is reported the same way
        raise CheckpointMismatch(f"{path}: not a readable PyTorch state dict ({type(e).__name__}: {e})") from None
    if not isinstance(state, dict) or not state or not all(isinstance(k, str) and torch.is_tensor(v)
                                                           for k, v in state.items()):
        raise CheckpointMismatch(f"{path}: expected a plain state dict (parameter name → tensor), as "
                                 "openai/consistency_models saves with torch.save")
    return state


def _shape(t) -> List[int]:
    return list(t.shape)


def first_mismatch(expected: dict, state: dict) -> Optional[str]:
    """The first key, in the network's order, whose tensor the checkpoint lacks or shapes
    differently; then the first key the network lacks. None when every key fits."""
    for k, v in expected.items():
        if k not in state:
            return f"key {k!r}: the flags give shape {_shape(v)}, the checkpoint has no such key"
        if tuple(state[k].shape) != tuple(v.shape):
            return f"key {k!r}: the checkpoint has shape {_shape(state[k])}, the flags give {_shape(v)}"
    for k, v in state.items():
        if k not in expected:
            return f"key {k!r}: the checkpoint has shape {_shape(v)}, the network of the flags has no such key"
    return None


def config_for(state: dict, flags_text: str):
    """(UNetConfig, parsed flags) for a checkpoint; raises CheckpointMismatch naming the first key
    that does not fit. Built on the meta device: no memory, no initialisation."""
    flags = parse_flags(flags_text)
    emb = state.get("label_emb.weight")
    cfg = unet_config(flags, int(emb.shape[0]) if emb is not None and emb.dim() == 2 else 1000)
    try:
        expected = OpenAIUNet(cfg, device="meta").state_dict()
    except ValueError as e:
        raise CheckpointMismatch(f"--flags describe no valid network: {e}") from None
    problem = first_mismatch(expected, state)
    if problem:
        raise CheckpointMismatch(f"checkpoint does not fit the flags: {problem}")
    if cfg.num_classes is None:
        raise CheckpointMismatch("the checkpoint is unconditional (--class_cond False, no label_emb.weight): "
                                 "there are no classes to serve or to guide")
    if cfg.out_channels != 3:
        raise CheckpointMismatch("--learn_sigma True: the network outputs 6 channels; a consistency model's "
                                 "output is the 3-channel image")
    return cfg, flags


def load_openai_cm(cfg: UNetConfig, state: dict, sigma_min: float = 0.002) -> OpenAICM:
    """The CM with the checkpoint's weights (strict: every key, every shape), frozen, eval mode.
    Built on the meta device and given memory only for the loaded weights."""
    cm = build_openai_cm(cfg, sigma_min, device="meta").to_empty(device="cpu")
    cm.net.load_state_dict(state, strict=True)
    for p in cm.parameters():
        p.requires_grad_(False)
    return cm.eval()


def read_class_names(path: Optional[str], k: int) -> List[str]:
    """One name per line (blank lines at the end ignored), K of them, distinct; or "0"…"K−1"."""
    if path is None:
        return [str(i) for i in range(k)]
    with open(path, encoding="utf-8") as f:
        names = [line.strip() for line in f.read().splitlines()]
    while names and not names[-1]:
        names.pop()
    if len(names) != k:
        raise ValueError(f"--class-names {path}: {len(names)} names, the checkpoint has {k} classes")
    if any(not n for n in names):
        raise ValueError(f"--class-names {path}: line {names.index('') + 1} is empty")
    if len(set(names)) != k:
        raise ValueError(f"--class-names {path}: names must be distinct")
    return names


def import_openai(checkpoint: str, flags_text: str, out: str, name: Optional[str] = None,
                  class_names: Optional[str] = None, overwrite: bool = False, dtype: str = "float32",
                  external_data: Optional[bool] = None) -> dict:
    """Checks everything first (name, flags, checkpoint, class names), then writes `out`.
    `dtype` "float16" stores the weights in half precision (onnx_float16.py); `external_data`
    as export_onnx takes it (None: only past protobuf's 2 GiB)."""
    from .onnx_export import DTYPES

    t0 = time.time()
    if dtype not in DTYPES:
        raise ValueError(f"--dtype {dtype!r}: one of {', '.join(DTYPES)}")
    name = name or os.path.basename(os.path.normpath(out))
    if not NAME_RE.match(name):
        raise ValueError(f"--name {name!r}: letters, digits, '.', '_' and '-', at most 61 characters, "
                         "starting with a letter or digit")
    if os.path.exists(os.path.join(out, "model.json")) and not overwrite:
        raise ValueError(f"{out} already holds a model folder (pass --overwrite to replace it)")
    state = load_state_dict_file(checkpoint)
    cfg, flags = config_for(state, flags_text)
    classes = read_class_names(class_names, cfg.num_classes)
    smin, smax = float(flags.values["sigma_min"]), float(flags.values["sigma_max"])
    if not 0 < smin < smax:
        raise ValueError(f"--sigma_min {smin} / --sigma_max {smax}: need 0 < sigma_min < sigma_max")
    t_load = time.time()
    cm = load_openai_cm(cfg, state, smin)
    keys = len(state)
    del state  # the module holds its own copy; the export needs the memory (1.2 GB at full size)
    params = sum(p.numel() for p in cm.net.parameters())
    t_built = time.time()
    shape = (cfg.in_channels, cfg.image_size, cfg.image_size)
    prov = {"source": f"openai/consistency_models checkpoint {os.path.basename(checkpoint)}",
            "network": {"family": FAMILY, **cfg.to_json()},
            "flags": {k: flags.values[k] for k in flags.given}, "flags_ignored": flags.ignored,
            "params": params, "state_dict_keys": keys,
            "precision": ("float16 weights (the checkpoint's rounded to half precision), computed in float32"
                          if dtype == "float16" else
                          "float32 (a use_fp16 checkpoint's float16 torso is computed in float32)")}
    m = write_model_folder(
        out, name, f"Consistency model imported from openai/consistency_models ({os.path.basename(checkpoint)}, "
                   f"{cfg.image_size}x{cfg.image_size} RGB, {cfg.num_classes} classes).",
        shape, classes, [Graph(f"{name}-cm", "cm", "cm.onnx", cm)], imported_schedules(smin, smax), prov,
        sigma={"min": smin, "max": smax, "data": SIGMA_DATA}, default_sampler="consistency", default_steps=2,
        dtype=dtype, external_data=external_data)
    write_card(out, m)
    t_done = time.time()
    files = ["cm.onnx"] + [f["file"] for f in m["graphs"][0].get("external_data", [])]
    return {"model_dir": out, "model": f"{name}-cm", "params": params, "state_dict_keys": keys,
            "classes": cfg.num_classes, "weights_dtype": dtype, "files": files,
            "graph_mb": round(sum(os.path.getsize(os.path.join(out, f)) for f in files) / 2 ** 20, 1),
            "wall_s": {"read_and_check": round(t_load - t0, 1), "build": round(t_built - t_load, 1),
                       "export": round(t_done - t_built, 1), "total": round(t_done - t0, 1)}}


def is_openai(m: dict) -> bool:
    return m.get("provenance", {}).get("network", {}).get("family") == FAMILY

