"""The alignment's adapter (training/adapter.py): this project's UNet and the openai UNet pass the
adapter self-test, and the third adapter that training/README.md documents — an EDM-style
network whose label map is a Linear over one-hot labels — reproduces the network's own label
path, aligns (only the new row moves) and exports a JFDL graph that adds exactly that row."""
import math
import os

import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

from training.adapter import check_adapter
from training.model_folder import Graph, write_model_folder
from training.networks import GuidedCM, cm_scalings
from training.openai_cm import build_openai_cm
from training.openai_flags import CONFIGS, parse_flags, unet_config
from training.openai_unet import randomize_
from training.stages import align_null_embedding, build_cm


class TinyEDMNet(nn.Module):
    """An EDM-style F(x, c_noise, class_labels): labels arrive one-hot and are mapped by a Linear
    (EDM scales the one-hot by √K first), added to the noise embedding, FiLM on one conv."""

    def __init__(self, channels=3, K=5, E=16):
        super().__init__()
        self.map_noise = nn.Linear(1, E)
        self.map_label = nn.Linear(K, E)
        self.inp = nn.Conv2d(channels, 8, 3, padding=1)
        self.film = nn.Linear(E, 16)
        self.out = nn.Conv2d(8, channels, 3, padding=1)

    def forward(self, x, c_noise, class_labels):
        emb = torch.sin(self.map_noise(c_noise[:, None]))
        emb = emb + self.map_label(class_labels * math.sqrt(self.map_label.in_features))
        scale, shift = self.film(F.silu(emb))[:, :, None, None].chunk(2, dim=1)
        return self.out(F.silu(self.inp(x) * (1 + scale) + shift))


# --- the example of training/README.md ("A third adapter"), verbatim -------------------------
class EDMLabelAdapter(torch.nn.Module):
    """An EDM-style CM whose network maps one-hot labels with a Linear, `net.map_label`: class
    c's row is what the Linear adds for it, √K·W[:, c] (EDM scales the one-hot by √K); the null
    class is one more such row, a new column of W."""

    def __init__(self, net, sigma_min=0.002, sigma_data=0.5):
        super().__init__()
        self.net, self.sigma_min, self.sigma_data = net, sigma_min, sigma_data

    def class_table(self):  # [K, E]
        lin = self.net.map_label
        return lin.weight.t() * math.sqrt(lin.in_features)

    def denoise(self, x, sigma, rows):
        lin = self.net.map_label  # its output, for these rows, is rows + bias
        hook = lin.register_forward_hook(lambda m, inputs, output: rows + m.bias)
        try:
            c_skip, c_out, c_in, c_noise = (v[:, None, None, None] for v in cm_scalings(sigma, self.sigma_min,
                                                                                        self.sigma_data))
            out = self.net(c_in * x, c_noise.flatten(), x.new_zeros(x.shape[0], lin.in_features))
        finally:
            hook.remove()
        return c_skip * x + c_out * out

    def forward(self, x, sigma, labels):
        return self.denoise(x, sigma, F.embedding(labels, self.class_table()))
# ----------------------------------------------------------------------------------------------


def _random(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return module.eval()


def test_the_two_adapters_of_this_project_pass_the_self_test():
    check_adapter(_random(build_cm(1, 10, {"widths": [8, 16], "blocks": 1, "emb": 16, "dropout": 0.0})), (1, 16, 16))
    cm = build_openai_cm(unet_config(parse_flags(CONFIGS["tiny"]), 10))
    randomize_(cm.net, seed=2)
    check_adapter(cm.eval(), (3, 32, 32))


def test_edm_adapter_reproduces_the_networks_own_label_path():
    net = _random(TinyEDMNet())
    a = EDMLabelAdapter(net).eval()
    check_adapter(a, (3, 8, 8))
    x, s, c = torch.randn(4, 3, 8, 8) * 3, torch.tensor([80.0, 5.0, 0.5, 0.01]), torch.tensor([0, 4, 2, 3])
    c_skip, c_out, c_in, c_noise = (v[:, None, None, None] for v in cm_scalings(s))
    with torch.no_grad():
        want = c_skip * x + c_out * net(c_in * x, c_noise.flatten(), F.one_hot(c, 5).float())
        assert torch.allclose(a(x, s, c), want, atol=1e-5)
    assert not net.map_label._forward_hooks  # the hook is gone after each call


def test_edm_adapter_aligns_and_exports_one_new_row(tmp_path):
    net = _random(TinyEDMNet())
    a = EDMLabelAdapter(net)
    before = {k: v.clone() for k, v in a.state_dict().items()}
    x, y = torch.rand(12, 3, 8, 8) * 2 - 1, torch.arange(12) % 5
    align_null_embedding(a, x, y, str(tmp_path / "run"), stage1_iters=2, stage2_iters=2, batch=4, device="cpu")
    assert all(torch.equal(v, a.state_dict()[k]) for k, v in before.items())  # the CM is untouched
    g = GuidedCM(a)
    with torch.no_grad():
        g.null_embedding.copy_(torch.load(tmp_path / "run" / "null_s12.pt"))
    assert not torch.allclose(g.null_embedding, a.class_table().mean(0))  # learned
    m = write_model_folder(str(tmp_path / "edm"), "edm", "EDM-style adapter test", (3, 8, 8), list("abcde"),
                           [Graph("edm", "jfdl", "jfdl.onnx", g, null_class=5, guidance={"default": 1.3, "min": 0.0,
                                                                                       "max": 4.0}),
                            Graph("edm-cm", "cm", "cm.onnx", a)], {"1": [80.0]}, {"network": "test"})
    inits = {f: {i.name: numpy_helper.to_array(i) for i in onnx.load(os.path.join(tmp_path, "edm", f)).graph.initializer}
             for f in ("cm.onnx", "jfdl.onnx")}
    for k, v in inits["cm.onnx"].items():
        assert inits["jfdl.onnx"][k].tobytes() == v.tobytes(), k
    assert set(inits["jfdl.onnx"]) - set(inits["cm.onnx"]) == {"null_embedding"}
    assert [e["null_class"] for e in m["graphs"]] == [5, None]
