"""Fashion-MNIST from Debian's dataset-fashion-mnist: the IDX reader, the official split and class
names, and a few consistency-training iterations of the shipped network at 28x28."""
import gzip
import os

import numpy as np
import pytest
import torch

from training.data import FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, load_fashion_mnist, read_idx
from training.loss import ct_loss
from training.presets import preset
from training.stages import build_cm

needs_data = pytest.mark.skipif(not os.path.isdir(FASHION_MNIST_DIR) and not os.environ.get("CI"),
                                reason="apt-get install dataset-fashion-mnist")


def test_idx_reader(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = bytes([0, 0, 0x08, 3]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape) + a.tobytes()
    with gzip.open(tmp_path / "x-idx3-ubyte.gz", "wb") as f:
        f.write(raw)
    (tmp_path / "x-idx3-ubyte").write_bytes(raw)
    assert (read_idx(str(tmp_path / "x-idx3-ubyte.gz")) == a).all()
    assert (read_idx(str(tmp_path / "x-idx3-ubyte")) == a).all()
    (tmp_path / "bad").write_bytes(raw[:-1])
    with pytest.raises(ValueError, match="header says 24"):
        read_idx(str(tmp_path / "bad"))
    (tmp_path / "float").write_bytes(bytes([0, 0, 0x0D, 1, 0, 0, 0, 1]) + b"\0\0\0\0")
    with pytest.raises(ValueError, match="not uint8"):
        read_idx(str(tmp_path / "float"))


@needs_data
def test_official_split_and_classes():
    d = load_fashion_mnist()
    assert d.classes == FASHION_MNIST_CLASSES and d.classes[0] == "T-shirt/top" and d.classes[9] == "Ankle boot"
    assert d.train_x.shape == (60000, 1, 28, 28) and d.test_x.shape == (10000, 1, 28, 28)
    assert d.train_x.min() == -1 and d.train_x.max() == 1
    # the official split is balanced: 6,000 training and 1,000 test images per class
    assert torch.bincount(d.train_y).tolist() == [6000] * 10
    assert torch.bincount(d.test_y).tolist() == [1000] * 10


@needs_data
def test_a_few_training_iterations():
    d = load_fashion_mnist()
    torch.manual_seed(0)
    cm = build_cm(1, 10, preset("fashion-mnist").net)
    opt = torch.optim.Adam(cm.parameters(), lr=2e-4)
    g = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(3):
        i = torch.randint(0, 60000, (8,), generator=g)
        loss = ct_loss(cm, d.train_x[i], d.train_y[i], 11, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert all(np.isfinite(losses))
    with torch.no_grad():
        out = cm(d.test_x[:4], torch.full((4,), 80.0), d.test_y[:4])
    assert out.shape == (4, 1, 28, 28) and torch.isfinite(out).all()
