"""openai/consistency_models' model flags, as its launch scripts pass them
(`--attention_resolutions 32,16,8 --class_cond True …`), read into a UNetConfig.

Defaults, meanings and conversions follow that repository's `model_and_diffusion_defaults` and
`create_model` (cm/script_util.py): attention resolutions become downsampling rates
image_size // r; an empty channel_mult is chosen by image size; booleans read "true/yes/t/y/1".
Flags that do not shape the network (training, sampling, data flags) are accepted and ignored,
so a whole launch line can be pasted."""
from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass
from typing import Dict, List, Optional

from .openai_unet import UNetConfig

# cm/script_util.py model_and_diffusion_defaults(): the flags that shape the network or its CM
# scalings. `use_fp16`, `use_checkpoint` and `dropout` are read (the network is the same; this
# project computes in float32 and in eval mode); `use_new_attention_order` is read and, as in
# that repository's AttentionBlock, changes nothing: its attention is always the flash path.
DEFAULTS = dict(sigma_min=0.002, sigma_max=80.0, image_size=64, num_channels=128, num_res_blocks=2, num_heads=4,
                num_heads_upsample=-1, num_head_channels=-1, attention_resolutions="32,16,8", channel_mult="",
                dropout=0.0, class_cond=False, use_checkpoint=False, use_scale_shift_norm=True, resblock_updown=False,
                use_fp16=False, use_new_attention_order=False, learn_sigma=False)

DEFAULT_CHANNEL_MULT = {512: (0.5, 1, 1, 2, 2, 4, 4), 256: (1, 1, 2, 2, 4, 4), 128: (1, 1, 2, 3, 4), 64: (1, 2, 3, 4)}

# Named configurations: the published ImageNet-64 CT/CD checkpoints (scripts/launch.sh) and the
# tiny one of this project's tests (same family: 32×32, 32 channels, ×1,1,2, attention at 16 and
# 8 with 16-channel heads, one residual block per level, 10 classes).
CONFIGS = {
    "imagenet64": "--attention_resolutions 32,16,8 --class_cond True --use_scale_shift_norm True --dropout 0.0 "
                  "--image_size 64 --num_channels 192 --num_head_channels 64 --num_res_blocks 3 --resblock_updown True "
                  "--use_fp16 True --weight_schedule uniform",
    "tiny": "--attention_resolutions 16,8 --class_cond True --use_scale_shift_norm True --dropout 0.0 --image_size 32 "
            "--num_channels 32 --channel_mult 1,1,2 --num_head_channels 16 --num_res_blocks 1 --resblock_updown True "
            "--use_fp16 False --weight_schedule uniform",
    # the playground's test of a 64x64 RGB model with 1,000 classes (ImageNet-64's shape and class
    # count at a few hundred thousand parameters)
    "tiny64": "--attention_resolutions 8 --class_cond True --use_scale_shift_norm True --dropout 0.0 --image_size 64 "
              "--num_channels 32 --channel_mult 1,1,1,1 --num_head_channels 32 --num_res_blocks 1 --resblock_updown False "
              "--use_fp16 False --weight_schedule uniform",
}
CONFIG_CLASSES = {"imagenet64": 1000, "tiny": 10, "tiny64": 1000}


def str2bool(v: str) -> bool:
    if v.lower() in ("yes", "true", "t", "y", "1"):
        return True
    if v.lower() in ("no", "false", "f", "n", "0"):
        return False
    raise argparse.ArgumentTypeError(f"boolean value expected, got {v!r}")


@dataclass
class Flags:
    values: Dict[str, object]  # every network flag, defaults filled in
    given: List[str]  # the network flags the user passed
    ignored: List[str]  # other flags, accepted and ignored


def parse_flags(text: str) -> Flags:
    """Reads a flags string; an unknown or malformed network flag value raises ValueError."""
    p = argparse.ArgumentParser(prog="--flags", add_help=False, allow_abbrev=False, exit_on_error=False)
    for k, v in DEFAULTS.items():
        p.add_argument(f"--{k}", default=v, type=str2bool if isinstance(v, bool) else type(v))
    p.add_argument("--training_mode", default=None)
    try:
        ns, rest = p.parse_known_args(shlex.split(text))
    except (argparse.ArgumentError, argparse.ArgumentTypeError, SystemExit) as e:
        raise ValueError(f"--flags: {e}") from None
    mode = vars(ns).pop("training_mode")
    if mode is not None and "consistency" not in mode:
        # the repository samples an "edm" checkpoint with EDM's scalings (no σ_min boundary
        # shift): it is the diffusion teacher, not a consistency model
        raise ValueError(f"--training_mode {mode}: not a consistency model (this importer takes the checkpoints of "
                         "consistency_training and consistency_distillation)")
    given = [k for k in DEFAULTS if any(a == f"--{k}" or a.startswith(f"--{k}=") for a in shlex.split(text))]
    ignored = [a.split("=")[0][2:] for a in rest if a.startswith("--")]
    return Flags(vars(ns), given, ignored)


def unet_config(flags: Flags, num_classes: Optional[int]) -> UNetConfig:
    """The network the flags describe; `num_classes` comes from the checkpoint (the label
    embedding's row count) — the repository's code fixes it at 1000 for class_cond."""
    f = flags.values
    size = int(f["image_size"])
    if f["channel_mult"] == "":
        if size not in DEFAULT_CHANNEL_MULT:
            raise ValueError(f"--image_size {size} has no default --channel_mult; pass --channel_mult")
        mult = DEFAULT_CHANNEL_MULT[size]
    else:
        try:
            mult = tuple(int(m) for m in str(f["channel_mult"]).split(","))
        except ValueError:
            raise ValueError(f"--channel_mult {f['channel_mult']!r}: comma-separated integers expected") from None
    try:
        ds = tuple(size // int(r) for r in str(f["attention_resolutions"]).split(",") if r.strip())
    except ValueError:
        raise ValueError(f"--attention_resolutions {f['attention_resolutions']!r}: comma-separated integers "
                         "expected") from None
    return UNetConfig(image_size=size, model_channels=int(f["num_channels"]), num_res_blocks=int(f["num_res_blocks"]),
                      attention_ds=ds, channel_mult=mult, num_classes=num_classes if f["class_cond"] else None,
                      num_heads=int(f["num_heads"]), num_head_channels=int(f["num_head_channels"]),
                      num_heads_upsample=int(f["num_heads_upsample"]),
                      use_scale_shift_norm=bool(f["use_scale_shift_norm"]), resblock_updown=bool(f["resblock_updown"]),
                      dropout=float(f["dropout"]), out_channels=6 if f["learn_sigma"] else 3)
