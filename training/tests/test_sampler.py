import numpy as np
import pytest
import torch

from training.networks import CM, GuidedCM, UNet
from training.rng import normals
from training.sampler import sample, to_pixels


@pytest.fixture(scope="module")
def guided():
    torch.manual_seed(3)
    net = UNet(channels=1, num_classes=4, widths=(8, 16), blocks=1, emb=16, dropout=0.0)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    g = GuidedCM(CM(net)).eval()
    with torch.no_grad():
        g.null_embedding.normal_()
    return g


def test_one_step_unguided_is_f_of_scaled_noise(guided):
    px, D = sample(guided, [2], [11], [0], [80.0], 1.0, "ode", 4, shape=(1, 8, 8), return_denoised=True)
    x = torch.from_numpy(normals(11, 0, 0, 64).reshape(1, 1, 8, 8)) * 80.0
    with torch.no_grad():
        want = guided(x, torch.tensor([80.0]), torch.tensor([2])).clamp(-1, 1)
    assert torch.allclose(D, want, atol=1e-6)
    assert np.array_equal(px, to_pixels(want))


def test_guidance_zero_is_unconditional_and_one_is_conditional(guided):
    kw = dict(shape=(1, 8, 8), return_denoised=True)
    _, d0 = sample(guided, [1], [5], [0], [80.0, 2.0], 0.0, "ode", 4, **kw)
    _, du = sample(guided, [4], [5], [0], [80.0, 2.0], 1.0, "ode", 4, **kw)  # the null class as a class
    assert torch.allclose(d0, du, atol=1e-5)
    _, d1 = sample(guided, [1], [5], [0], [80.0, 2.0], 1.0, "ode", 4, **kw)
    _, d15 = sample(guided, [1], [5], [0], [80.0, 2.0], 1.5, "ode", 4, **kw)
    assert not torch.allclose(d1, d15)


def test_an_image_does_not_depend_on_its_batch(guided):
    alone = sample(guided, [3], [9], [2], [80.0, 1.0, 0.3], 1.3, "consistency", 4, shape=(1, 8, 8))
    batch = sample(guided, [0, 3, 1], [1, 9, 2], [0, 2, 5], [80.0, 1.0, 0.3], 1.3, "consistency", 4, shape=(1, 8, 8))
    assert np.array_equal(alone[0], batch[1])


def test_pixels_round_half_up_and_clamp():
    D = torch.tensor([-1.0, 1.0, 0.0, -2.0, 2.0, -0.5])  # 0.0 -> 127.5 rounds up; -0.5 -> 63.75
    assert to_pixels(D).tolist() == [0, 255, 128, 0, 255, 64]


def test_guidance_needs_a_null_class(guided):
    with pytest.raises(ValueError):
        sample(guided, [0], [0], [0], [80.0], 1.5, "ode", None, shape=(1, 8, 8))
