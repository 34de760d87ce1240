import torch

from training.networks import CM, GuidedCM, UNet, cm_scalings, count_params
from training.schedules import SIGMA_DATA, SIGMA_MIN
from training.stages import build_cm


def test_boundary_condition_f_at_sigma_min_is_identity():
    torch.manual_seed(0)
    cm = build_cm(1, 10).eval()
    with torch.no_grad():  # make F non-trivial so the test cannot pass by a zero output layer
        for p in cm.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    x = torch.randn(5, 1, 16, 16)
    out = cm(x, torch.full((5,), SIGMA_MIN), torch.arange(5))
    assert torch.equal(out, x)
    assert not torch.allclose(cm(x, torch.full((5,), 1.0), torch.arange(5)), x)


def test_scalings_match_the_design_formulas():
    s = torch.tensor([SIGMA_MIN, 0.5, 80.0], dtype=torch.float64)
    c_skip, c_out, c_in, c_noise = cm_scalings(s)
    assert torch.allclose(c_skip[0], torch.tensor(1.0, dtype=torch.float64))
    assert c_out[0] == 0
    assert torch.allclose(c_skip, SIGMA_DATA ** 2 / ((s - SIGMA_MIN) ** 2 + SIGMA_DATA ** 2))
    assert torch.allclose(c_out, (s - SIGMA_MIN) * SIGMA_DATA / (s ** 2 + SIGMA_DATA ** 2).sqrt())
    assert torch.allclose(c_in, 1 / (s ** 2 + SIGMA_DATA ** 2).sqrt())
    assert torch.allclose(c_noise, 0.25 * s.log())


def test_parameter_count_is_in_the_issue_range():
    assert 500_000 <= count_params(build_cm(1, 10)) <= 2_000_000


def test_guided_model_shares_weights_and_adds_one_row():
    cm = build_cm(1, 10).eval()
    g = GuidedCM(cm).eval()
    assert g.null_class == 10
    assert g.class_table().shape[0] == 11
    assert torch.equal(g.class_table()[:10], cm.class_table())
    x = torch.randn(3, 1, 16, 16)
    s = torch.tensor([80.0, 2.0, 0.1])
    c = torch.tensor([1, 2, 3])
    with torch.no_grad():
        assert torch.equal(g(x, s, c), cm(x, s, c))
    learnable = [n for n, p in g.named_parameters()]
    assert "null_embedding" in learnable


def test_rgb_network_shapes():
    m = CM(UNet(channels=3, num_classes=4, widths=(8, 16), blocks=1, emb=16)).eval()
    assert m(torch.randn(2, 3, 8, 8), torch.tensor([1.0, 2.0]), torch.tensor([0, 3])).shape == (2, 3, 8, 8)
