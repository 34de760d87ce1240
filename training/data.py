"""Datasets. Images are float32 in [-1, 1], shape [N, C, H, W]; labels int64 in 0..K-1."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List

import numpy as np
import torch
import torch.nn.functional as F

SPLIT_SEED = 0
HELD_OUT = 300


@dataclass
class Dataset:
    name: str
    classes: List[str]
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor

    @property
    def shape(self):
        return tuple(self.train_x.shape[1:])


def _split(x: torch.Tensor, y: torch.Tensor, held_out: int, seed: int):
    """Seeded, stratified split: the held-out part is the same on every machine and never trained on."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    tr, te = train_test_split(idx, test_size=held_out, random_state=seed, stratify=y.numpy())
    tr.sort(), te.sort()
    return x[tr], y[tr], x[te], y[te]


def load_digits16(size: int = 16) -> Dataset:
    """scikit-learn's handwritten digits (1,797 real 8x8 images, values 0..16), bilinear-upsampled to
    size x size and scaled to [-1, 1]. Bundled with scikit-learn, so nothing is downloaded."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = (x.clamp(0, 1) * 2 - 1).contiguous()
    y = torch.tensor(d.target, dtype=torch.int64)
    tx, ty, vx, vy = _split(x, y, HELD_OUT, SPLIT_SEED)
    return Dataset("digits16", [str(i) for i in range(10)], tx, ty, vx, vy)


def read_image_folder(root: str, size: int, channels: int):
    """(class names, x [N, C, size, size] in [-1, 1], y [N]) of an image folder: one sub-folder of
    PNG/JPEG images per class (class names = folder names, sorted), each image resized (bicubic)
    to size x size, gray (channels=1) or RGB (channels=3)."""
    from PIL import Image

    if not os.path.isdir(root):
        raise ValueError(f"{root}: not a folder")
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    if not classes:
        raise ValueError(f"{root}: no class sub-folders")
    xs, ys = [], []
    for k, c in enumerate(classes):
        for f in sorted(os.listdir(os.path.join(root, c))):
            if not f.lower().endswith((".png", ".jpg", ".jpeg")):
                continue
            with Image.open(os.path.join(root, c, f)) as im:
                im = im.convert("L" if channels == 1 else "RGB").resize((size, size), Image.BICUBIC)
                a = np.asarray(im, dtype=np.float32) / 127.5 - 1.0
            xs.append(a[None] if channels == 1 else a.transpose(2, 0, 1))
            ys.append(k)
    if not xs:
        raise ValueError(f"{root}: no PNG or JPEG images in its class sub-folders")
    return classes, torch.tensor(np.stack(xs)), torch.tensor(ys, dtype=torch.int64)


def load_image_folder(root: str, size: int, channels: int, held_out: float = 0.1) -> Dataset:
    """An image folder (read_image_folder) with a seeded, stratified held-out split. For users'
    own data, e.g. CIFAR-10 exported as PNG folders."""
    classes, x, y = read_image_folder(root, size, channels)
    n_out = max(len(classes), int(round(held_out * len(y))))
    tx, ty, vx, vy = _split(x, y, n_out, SPLIT_SEED)
    return Dataset(os.path.basename(os.path.normpath(root)), classes, tx, ty, vx, vy)


FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                         "Ankle boot"]


def read_idx(path: str) -> np.ndarray:
    """An IDX file (LeCun's MNIST format, also Fashion-MNIST's), gzip-compressed or not: a big-endian
    magic number whose third byte is the element type (0x08 = uint8) and fourth the rank, then one
    big-endian uint32 per dimension, then the data in C order."""
    import gzip

    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic)")
    if raw[2] != 0x08:
        raise ValueError(f"{path}: IDX element type 0x{raw[2]:02x} is not uint8")
    rank = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * k:8 + 4 * k], "big") for k in range(rank)]
    offset = 4 + 4 * rank
    count = int(np.prod(dims))
    if len(raw) - offset != count:
        raise ValueError(f"{path}: {len(raw) - offset} data bytes, the header says {count}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def load_fashion_mnist(root: str = FASHION_MNIST_DIR) -> Dataset:
    """Fashion-MNIST (Xiao et al. 2017) from Debian's `dataset-fashion-mnist` IDX files: the official
    split, 60,000 training and 10,000 test images, 28x28 gray, native size (the UNet runs at
    28 -> 14 -> 7), scaled to [-1, 1]."""
    def part(prefix):
        x = read_idx(os.path.join(root, f"{prefix}-images-idx3-ubyte.gz"))
        y = read_idx(os.path.join(root, f"{prefix}-labels-idx1-ubyte.gz"))
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"{root}: {x.shape[0]} {prefix} images but {y.shape[0]} labels")
        xt = torch.from_numpy(x.astype(np.float32) / 127.5 - 1.0).unsqueeze(1).contiguous()
        return xt, torch.from_numpy(y.astype(np.int64))

    if not os.path.isdir(root):
        raise FileNotFoundError(f"{root} not found: install Debian's dataset-fashion-mnist "
                                "(apt-get install dataset-fashion-mnist)")
    tx, ty = part("train")
    vx, vy = part("t10k")
    return Dataset("fashion-mnist", list(FASHION_MNIST_CLASSES), tx, ty, vx, vy)


def load(spec: str, size: int = 16, channels: int = 1) -> Dataset:
    if spec == "digits16":
        return load_digits16(size)
    if spec == "fashion-mnist":
        return load_fashion_mnist()
    return load_image_folder(spec, size, channels)
