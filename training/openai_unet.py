"""This project's implementation of the class-conditional UNet of openai/consistency_models (the
network of its CT/CD ImageNet-64 checkpoints, `cm/unet.py` there; itself the ADM UNet of Dhariwal
& Nichol 2021), written from a reading of that source so that its checkpoints load with
`strict=True` and compute what they were trained to compute:

- parameter names and shapes are that repository's, so a checkpoint's state dict loads as it is;
- GroupNorm (32 groups) computed in float32 whatever the activations' dtype;
- the timestep input is the repository's rescaled noise level `t = 250·log σ`, embedded with
  sinusoids of periods up to 10,000 (`[cos, sin]`), then Linear–SiLU–Linear to 4 × base channels,
  plus the label embedding's row;
- residual blocks with scale-shift norm (`GN(h)·(1 + scale) + shift`) and, with resblock_updown,
  residual blocks that resample (nearest ×2 up, 2×2 average down) inside;
- self-attention with heads of `num_head_channels` channels (or `num_heads` heads), computed as
  the repository's default *flash* path computes it: the 1×1 qkv convolution's channels are
  ordered (q|k|v, head, channel), i.e. q = channels [0, C), k = [C, 2C), v = [2C, 3C), each split
  into heads of consecutive channels, scores scaled by 1/√d. The older "legacy" order of
  guided-diffusion, (head, q|k|v, channel), loads the same tensors without error and computes
  something else; `qkv_attention` below is the only attention here.

Modules take `device` so the full-size network (296M parameters) can be built on the meta device
for free: shape checks and parameter counts need no memory and no random initialisation."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class UNetConfig:
    """The network's shape, in that repository's terms (see openai_flags.py for the flags)."""
    image_size: int
    model_channels: int
    num_res_blocks: int
    attention_ds: Tuple[int, ...]  # downsampling rates (image_size // resolution) with attention
    channel_mult: Tuple[int, ...]
    num_classes: Optional[int]
    num_heads: int = 1
    num_head_channels: int = -1
    num_heads_upsample: int = -1
    use_scale_shift_norm: bool = True
    resblock_updown: bool = False
    dropout: float = 0.0
    in_channels: int = 3
    out_channels: int = 3

    def to_json(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @staticmethod
    def from_json(d: dict) -> "UNetConfig":
        d = dict(d)
        d["attention_ds"] = tuple(d["attention_ds"])
        d["channel_mult"] = tuple(d["channel_mult"])
        return UNetConfig(**d)


class GroupNorm32(nn.GroupNorm):
    """GroupNorm in float32 even when the network runs in float16 (the repository's fp16 runs
    keep their normalisation statistics in float32)."""

    def forward(self, x):
        return super().forward(x.float()).type(x.dtype)


def norm(channels: int, device=None) -> GroupNorm32:
    return GroupNorm32(32, channels, device=device)


def timestep_embedding(t: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """[cos(t·f), sin(t·f)] for the frequencies f_i = 10000^(−i/half)."""
    args = t[:, None].float() * freqs.to(t.device)[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def embedding_freqs(dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Computed in float32 on the CPU, as the repository computes them (then moved), so the
    embedding's inputs are the same floats. A plain tensor, not a buffer: it is not part of the
    state dict, and a network built on the meta device still has it."""
    half = dim // 2
    return torch.exp(-math.log(max_period) * torch.arange(0, half, dtype=torch.float32, device="cpu") / half)


def qkv_attention(qkv: torch.Tensor, heads: int) -> torch.Tensor:
    """Multi-head self-attention of qkv [B, 3·C, T] with channels ordered (q|k|v, head, d), as the
    flash path reads them ("b (three h d) s"); returns [B, C, T] with channels (head, d).
    Written out (matmul, softmax) rather than F.scaled_dot_product_attention: that needs
    PyTorch 2, and the TorchScript ONNX exporter of PyTorch 1.13 has no symbolic for it."""
    b, width, t = qkv.shape
    c = width // 3
    d = c // heads
    qkv = qkv.reshape(-1, 3, heads, d, t)
    q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]  # [B, H, d, T]
    w = torch.matmul(q.transpose(-1, -2), k) * (1.0 / math.sqrt(d))  # [B, H, T(query), T(key)]
    w = torch.softmax(w.float(), dim=-1).type(w.dtype)
    a = torch.matmul(w, v.transpose(-1, -2))  # [B, H, T, d]
    return a.transpose(-1, -2).reshape(-1, c, t)


class Upsample(nn.Module):
    """Nearest ×2, then a 3×3 convolution if `use_conv` (parameter name `conv`)."""

    def __init__(self, channels: int, use_conv: bool, device=None):
        super().__init__()
        self.use_conv = use_conv
        if use_conv:
            self.conv = nn.Conv2d(channels, channels, 3, padding=1, device=device)

    def forward(self, x):
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.conv(x) if self.use_conv else x


class Downsample(nn.Module):
    """A stride-2 3×3 convolution if `use_conv`, else 2×2 average pooling (parameter name `op`)."""

    def __init__(self, channels: int, use_conv: bool, device=None):
        super().__init__()
        self.op = (nn.Conv2d(channels, channels, 3, stride=2, padding=1, device=device) if use_conv
                   else nn.AvgPool2d(kernel_size=2, stride=2))

    def forward(self, x):
        return self.op(x)


class ResBlock(nn.Module):
    """GN–SiLU–conv, the embedding's scale and shift (or sum), GN–SiLU–dropout–conv, plus the skip
    (1×1 convolution when the width changes). With up/down the block resamples both paths,
    after the first normalisation and before the first convolution."""

    def __init__(self, channels: int, emb_channels: int, dropout: float, out_channels: Optional[int] = None,
                 use_scale_shift_norm: bool = False, up: bool = False, down: bool = False, device=None):
        super().__init__()
        out = out_channels or channels
        self.use_scale_shift_norm = use_scale_shift_norm
        self.in_layers = nn.Sequential(norm(channels, device), nn.SiLU(),
                                       nn.Conv2d(channels, out, 3, padding=1, device=device))
        self.updown = up or down
        if up:
            self.h_upd, self.x_upd = Upsample(channels, False), Upsample(channels, False)
        elif down:
            self.h_upd, self.x_upd = Downsample(channels, False), Downsample(channels, False)
        else:
            self.h_upd = self.x_upd = nn.Identity()
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb_channels, 2 * out if use_scale_shift_norm else out,
                                                             device=device))
        self.out_layers = nn.Sequential(norm(out, device), nn.SiLU(), nn.Dropout(p=dropout),
                                        zero_(nn.Conv2d(out, out, 3, padding=1, device=device)))
        self.skip_connection = nn.Identity() if out == channels else nn.Conv2d(channels, out, 1, device=device)

    def forward(self, x, emb):
        if self.updown:
            h = self.in_layers[:-1](x)
            h = self.in_layers[-1](self.h_upd(h))
            x = self.x_upd(x)
        else:
            h = self.in_layers(x)
        e = self.emb_layers(emb).type(h.dtype)[:, :, None, None]
        if self.use_scale_shift_norm:
            scale, shift = torch.chunk(e, 2, dim=1)
            h = self.out_layers[0](h) * (1 + scale) + shift
            h = self.out_layers[1:](h)
        else:
            h = self.out_layers(h + e)
        return self.skip_connection(x) + h


class AttentionBlock(nn.Module):
    """Self-attention over the H·W positions: GN, 1×1 qkv convolution, qkv_attention, 1×1
    projection, residual."""

    def __init__(self, channels: int, num_heads: int = 1, num_head_channels: int = -1, device=None):
        super().__init__()
        if num_head_channels == -1:
            self.num_heads = num_heads
        else:
            if channels % num_head_channels:
                raise ValueError(f"{channels} channels are not divisible by num_head_channels {num_head_channels}")
            self.num_heads = channels // num_head_channels
        if channels % self.num_heads:
            raise ValueError(f"{channels} channels are not divisible into {self.num_heads} heads")
        self.norm = norm(channels, device)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1, device=device)
        self.proj_out = zero_(nn.Conv2d(channels, channels, 1, device=device))

    def forward(self, x):
        h = qkv_attention(self.qkv(self.norm(x)).flatten(2), self.num_heads)
        return x + self.proj_out(h.reshape(x.shape))


class EmbedSequential(nn.Sequential):
    """A sequence whose residual blocks also take the embedding."""

    def forward(self, x, emb):
        for layer in self:
            x = layer(x, emb) if isinstance(layer, ResBlock) else layer(x)
        return x


def zero_(m: nn.Module) -> nn.Module:
    """The repository zero-initialises every block's last layer (a fresh network is the
    identity plus zero). Irrelevant once a checkpoint is loaded; kept so a fresh network is what
    that repository builds."""
    with torch.no_grad():
        for p in m.parameters():
            if p.device.type != "meta":
                p.zero_()
    return m


class OpenAIUNet(nn.Module):
    """F(x, t, y): the UNet. `forward(x, t, y)` takes class indices like the repository's model;
    `forward_vec(x, t, label_vec)` takes the label embedding's row itself, which is what the JFDL
    alignment needs (the null class is a row that is not in the table)."""

    def __init__(self, cfg: UNetConfig, device=None):
        super().__init__()
        self.cfg = cfg
        mc, ed = cfg.model_channels, cfg.model_channels * 4
        heads_up = cfg.num_heads if cfg.num_heads_upsample == -1 else cfg.num_heads_upsample
        self.freqs = embedding_freqs(mc)
        self.time_embed = nn.Sequential(nn.Linear(mc, ed, device=device), nn.SiLU(), nn.Linear(ed, ed, device=device))
        if cfg.num_classes is not None:
            self.label_emb = nn.Embedding(cfg.num_classes, ed, device=device)

        def res(cin, cout, **kw):
            return ResBlock(cin, ed, cfg.dropout, cout, cfg.use_scale_shift_norm, device=device, **kw)

        def attn(c, heads):
            return AttentionBlock(c, heads, cfg.num_head_channels, device=device)

        ch = input_ch = int(cfg.channel_mult[0] * mc)
        self.input_blocks = nn.ModuleList([EmbedSequential(nn.Conv2d(cfg.in_channels, ch, 3, padding=1, device=device))])
        skips = [ch]
        ds = 1
        for level, mult in enumerate(cfg.channel_mult):
            for _ in range(cfg.num_res_blocks):
                layers = [res(ch, int(mult * mc))]
                ch = int(mult * mc)
                if ds in cfg.attention_ds:
                    layers.append(attn(ch, cfg.num_heads))
                self.input_blocks.append(EmbedSequential(*layers))
                skips.append(ch)
            if level != len(cfg.channel_mult) - 1:
                self.input_blocks.append(EmbedSequential(
                    res(ch, ch, down=True) if cfg.resblock_updown else Downsample(ch, True, device)))
                skips.append(ch)
                ds *= 2
        self.middle_block = EmbedSequential(res(ch, ch), attn(ch, cfg.num_heads), res(ch, ch))
        self.output_blocks = nn.ModuleList()
        for level, mult in list(enumerate(cfg.channel_mult))[::-1]:
            for i in range(cfg.num_res_blocks + 1):
                layers = [res(ch + skips.pop(), int(mc * mult))]
                ch = int(mc * mult)
                if ds in cfg.attention_ds:
                    layers.append(attn(ch, heads_up))
                if level and i == cfg.num_res_blocks:
                    layers.append(res(ch, ch, up=True) if cfg.resblock_updown else Upsample(ch, True, device))
                    ds //= 2
                self.output_blocks.append(EmbedSequential(*layers))
        self.out = nn.Sequential(norm(ch, device), nn.SiLU(),
                                 zero_(nn.Conv2d(input_ch, cfg.out_channels, 3, padding=1, device=device)))

    def class_table(self) -> torch.Tensor:
        return self.label_emb.weight

    def forward_vec(self, x, t, label_vec=None):
        emb = self.time_embed(timestep_embedding(t, self.freqs))
        if label_vec is not None:
            emb = emb + label_vec
        h = x
        hs = []
        for m in self.input_blocks:
            h = m(h, emb)
            hs.append(h)
        h = self.middle_block(h, emb)
        for m in self.output_blocks:
            h = m(torch.cat([h, hs.pop()], dim=1), emb)
        return self.out(h.type(x.dtype))

    def forward(self, x, t, y=None):
        if (y is None) != (self.cfg.num_classes is None):
            raise ValueError("class labels are needed if and only if the network is class-conditional")
        return self.forward_vec(x, t, None if y is None else self.label_emb(y))


def randomize_(net: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights with every parameter non-zero (the zero-initialised output layers too), at
    scales that keep activations O(1): weights N(0, 1/fan_in), label rows N(0, 1), GroupNorm
    scales 1 + N(0, 0.1²), biases N(0, 0.1²). For tests and the random-weight checkpoints of
    `make-openai-checkpoint`; also works on a network made on the meta device and moved with
    `to_empty` (no prior initialisation needed)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            z = torch.randn(p.shape, generator=g)
            if name.endswith("label_emb.weight"):
                p.copy_(z)
            elif p.dim() > 1:
                p.copy_(z / math.sqrt(p[0].numel()))
            elif isinstance(_owner(net, name), nn.GroupNorm) and name.endswith(".weight"):
                p.copy_(1 + 0.1 * z)
            else:
                p.copy_(0.1 * z)
    return net


def _owner(net: nn.Module, param_name: str) -> nn.Module:
    return net.get_submodule(param_name.rsplit(".", 1)[0])
