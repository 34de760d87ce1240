"""A few iterations of every stage, end to end, on the real data: they run, write what the next
stage reads, and JFDL leaves every CM weight untouched."""
import json
import os

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from training.data import load_digits16
from training.manifest import validate_manifest
from training.onnx_export import export_onnx
from training.tiny import export_tiny
from training.stages import load_cm, load_guided, stage0_consistency_training, stage12_jfdl

SMALL = {"widths": [8, 16, 16], "blocks": 1, "emb": 16}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    data = load_digits16()
    stage0_consistency_training(data, str(out / "stage0"), iters=3, batch=8, net_cfg=SMALL)
    stage12_jfdl(data, str(out / "stage0"), str(out / "jfdl"), stage1_iters=2, stage2_iters=2, batch=8)
    return out, data


def test_data_split_is_fixed_and_disjoint():
    d = load_digits16()
    assert d.train_x.shape == (1497, 1, 16, 16) and d.test_x.shape == (300, 1, 16, 16)
    assert d.train_x.min() >= -1 and d.train_x.max() <= 1
    assert torch.equal(load_digits16().test_y, d.test_y)
    tr = {t.numpy().tobytes() for t in d.train_x}
    assert sum(t.numpy().tobytes() in tr for t in d.test_x) < 5  # digits has a few exact duplicates


def test_stage0_writes_a_resumable_checkpoint_and_a_loss_log(run):
    out, data = run
    s0 = out / "stage0"
    assert (s0 / "checkpoint.pt").exists() and (s0 / "cm_ema.pt").exists()
    assert json.load(open(s0 / "result.json"))["steps"] == 3
    # Resuming a finished run is a no-op that keeps the step count.
    r = stage0_consistency_training(data, str(s0), iters=3, batch=8, net_cfg=SMALL)
    assert r["steps"] == 3


def test_jfdl_learns_only_the_null_embedding(run):
    out, _ = run
    cm = load_cm(str(out / "stage0"))
    ema = torch.load(out / "stage0" / "cm_ema.pt", map_location="cpu")
    for k, v in cm.state_dict().items():
        assert torch.equal(v, ema[k])
    for v in ("s1", "s12", "s2"):
        g = load_guided(str(out / "stage0"), str(out / "jfdl" / f"null_{v}.pt"))
        for k, w in g.state_dict().items():
            if k != "null_embedding":
                assert torch.equal(w, cm.state_dict()[k]), k
    e0 = torch.load(out / "jfdl" / "null_s1.pt")
    mean_init = cm.net.class_emb.weight.mean(0)
    assert not torch.equal(e0, mean_init)  # stage 1 moved it


def test_exported_jfdl_graph_carries_the_cm_weights_bit_for_bit(run, tmp_path):
    out, _ = run
    cm = load_cm(str(out / "stage0"))
    g = load_guided(str(out / "stage0"), str(out / "jfdl" / "null_s12.pt"))
    export_onnx(cm, str(tmp_path / "cm.onnx"), (1, 16, 16))
    export_onnx(g, str(tmp_path / "jfdl.onnx"), (1, 16, 16))
    a = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(tmp_path / "cm.onnx")).graph.initializer}
    b = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(tmp_path / "jfdl.onnx")).graph.initializer}
    weights = {k for k in a if a[k].size > 1}
    assert len(weights) > 20
    for k in weights:
        assert a[k].tobytes() == b[k].tobytes(), k
    extra = [k for k in b if k not in a and b[k].size > 1]
    assert extra == ["null_embedding"]


def test_tiny_fixture_exports_and_validates(tmp_path):
    r = export_tiny(str(tmp_path / "tiny"), str(tmp_path / "golden.json"))
    m = json.load(open(tmp_path / "tiny" / "model.json"))
    validate_manifest(m)
    for f in ("cm.onnx", "jfdl.onnx"):
        model = onnx.load(str(tmp_path / "tiny" / f))
        onnx.checker.check_model(model)
        assert model.opset_import[0].version >= 17
        assert [i.name for i in model.graph.input] == ["x", "sigma", "class_labels"]
        assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # dynamic batch
    golden = json.load(open(tmp_path / "golden.json"))
    assert len(golden["sampler"]) >= 12
