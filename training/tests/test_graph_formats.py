"""How graphs are written: external data (training/onnx_external.py) and float16 weights
(training/onnx_float16.py), through the export every model folder goes through
(onnx_export.export_onnx, model_folder.write_model_folder), the manifest fields that describe
them, and the tools that rewrite a folder (batch-invariant, external-data). What onnxruntime
computes with these graphs is checked in the TypeScript suite (test/models/external-data.test.ts,
test/models/float16.test.ts); Python here has no onnxruntime."""
import copy
import json
import os
import shutil

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, numpy_helper

from training import onnx_external
from training.__main__ import main
from training.align_model import align_model_dir
from training.batch_invariant import rewrite_file
from training.manifest import read_manifest, validate_manifest, verify_files
from training.model_folder import Graph, move_to_external_data, write_model_folder
from training.networks import CM, GuidedCM, UNet
from training.onnx_export import sha256
from training.onnx_float16 import WIDENED
from training.onnx_weights import load_from_model_dir
from training.openai_checkpoint import make_openai_checkpoint
from training.openai_flags import CONFIGS
from training.openai_import import import_openai
from training.tiny_openai import make_image_folder

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
SHAPE = (3, 8, 8)


def _models():
    torch.manual_seed(3)
    net = UNet(channels=3, num_classes=4, widths=(8, 16), blocks=1, emb=16, dropout=0.0)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    cm = CM(net)
    return cm, GuidedCM(cm)


def _folder(out, **kw):
    cm, g = _models()
    return write_model_folder(str(out), "fmt", "format test", SHAPE, ["a", "b", "c", "d"],
                              [Graph("fmt", "jfdl", "jfdl.onnx", g, null_class=4,
                                     guidance={"default": 1.5, "min": 0.0, "max": 4.0}),
                               Graph("fmt-cm", "cm", "cm.onnx", cm)],
                              {"1": [80.0]}, {"network": {"widths": [8, 16], "blocks": 1, "emb": 16}}, **kw), (cm, g)


def _weights(path):
    return {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}


@pytest.fixture(scope="module")
def inline(tmp_path_factory):
    out = tmp_path_factory.mktemp("inline") / "m"
    m, _ = _folder(out)
    return str(out), m


def test_plain_export_lists_no_external_data_and_no_dtype(inline):
    out, m = inline
    for g in m["graphs"]:
        assert "external_data" not in g and "weights_dtype" not in g
        assert not os.path.exists(os.path.join(out, g["file"] + ".data"))
    verify_files(out)


def test_forced_external_data_holds_the_same_weights_and_is_listed(inline, tmp_path):
    out, _ = inline
    ext = tmp_path / "ext"
    m, _ = _folder(ext, external_data=True)
    validate_manifest(m)
    verify_files(str(ext))
    for g in m["graphs"]:
        data = g["file"] + ".data"
        assert [f["file"] for f in g["external_data"]] == [data]
        assert g["external_data"][0]["sha256"] == sha256(str(ext / data))
        assert onnx_external.external_files(str(ext / g["file"])) == [data]
        onnx.checker.check_model(str(ext / g["file"]))
        a, b = _weights(os.path.join(out, g["file"])), _weights(str(ext / g["file"]))
        assert a.keys() == b.keys()
        for k in a:
            assert a[k].tobytes() == b[k].tobytes(), k
        # big tensors outside (at aligned offsets), small ones inline
        model = onnx.load(str(ext / g["file"]), load_external_data=False)
        outside = [t for t in model.graph.initializer if t.data_location == TensorProto.EXTERNAL]
        assert outside and all(len(t.raw_data) < onnx_external.THRESHOLD for t in model.graph.initializer
                               if t.data_location != TensorProto.EXTERNAL)
        offsets = [int(dict((e.key, e.value) for e in t.external_data)["offset"]) for t in outside]
        assert all(o % onnx_external.ALIGN == 0 for o in offsets)


def test_re_export_replaces_the_data_file(tmp_path):
    _folder(tmp_path / "m", external_data=True)
    size = os.path.getsize(tmp_path / "m" / "cm.onnx.data")
    _folder(tmp_path / "m", external_data=True)
    assert os.path.getsize(tmp_path / "m" / "cm.onnx.data") == size  # not appended to
    _folder(tmp_path / "m", external_data=False)
    assert not os.path.exists(tmp_path / "m" / "cm.onnx.data")  # the stale file is gone
    verify_files(str(tmp_path / "m"))


def test_external_data_is_automatic_past_the_protobuf_limit(tmp_path, monkeypatch):
    """Past the limit (lowered here: a real one needs a 2 GiB graph) the export writes external data by itself."""
    monkeypatch.setattr(onnx_external, "PROTOBUF_LIMIT", 100_000)
    monkeypatch.setattr(onnx_external, "STRUCTURE_MARGIN", 0)
    m, _ = _folder(tmp_path / "m")
    assert all(g["external_data"] for g in m["graphs"])


def test_float16_weights_are_half_precision_read_through_casts(inline, tmp_path):
    out, _ = inline
    m, (cm, g) = _folder(tmp_path / "h", dtype="float16")
    validate_manifest(m)
    assert all(e["weights_dtype"] == "float16" for e in m["graphs"])
    params = dict(g.named_parameters())

    def weight_bytes(path):
        return sum(len(i.raw_data) for i in onnx.load(path).graph.initializer if i.name in params)

    assert 2 * weight_bytes(str(tmp_path / "h" / "jfdl.onnx")) == weight_bytes(os.path.join(out, "jfdl.onnx"))
    model = onnx.load(str(tmp_path / "h" / "jfdl.onnx"))
    inits = {i.name: i for i in model.graph.initializer}
    for name, p in params.items():
        assert inits[name].data_type == TensorProto.FLOAT16, name
        assert np.array_equal(numpy_helper.to_array(inits[name]), p.detach().numpy().astype(np.float16)), name
    casts = [n for n in model.graph.node if n.op_type == "Cast" and n.output[0].endswith(WIDENED)]
    assert {n.input[0] for n in casts} == set(params)
    assert not any(i in params for n in model.graph.node if n.op_type != "Cast" for i in n.input)
    # everything else stays float32: the contract's I/O and the exporter's constants (σ arithmetic)
    assert all(v.type.tensor_type.elem_type in (TensorProto.FLOAT, TensorProto.INT64)
               for v in list(model.graph.input) + list(model.graph.output))
    assert all(i.data_type != TensorProto.FLOAT16 for n, i in inits.items() if n not in params)
    # the module rebuilt from the graph holds the rounded weights, widened exactly
    rebuilt = load_from_model_dir(str(tmp_path / "h"), "jfdl")
    for name, p in rebuilt.named_parameters():
        assert torch.equal(p, params[name].detach().half().float()), name


def test_manifest_rejects_bad_external_data_entries(inline):
    _, m = inline
    good = copy.deepcopy(m)
    good["graphs"][1]["external_data"] = [{"file": "cm.onnx.data", "sha256": "a" * 64}]
    good["graphs"][1]["weights_dtype"] = "float16"
    validate_manifest(good)
    for bad_file in ["../cm.onnx.data", "sub/cm.data", "..", "model.json"]:
        bad = copy.deepcopy(good)
        bad["graphs"][1]["external_data"][0]["file"] = bad_file
        with pytest.raises(Exception):
            validate_manifest(bad)
    clash = copy.deepcopy(good)
    clash["graphs"][1]["external_data"][0]["file"] = "jfdl.onnx"
    with pytest.raises(ValueError, match="also a graph file"):
        validate_manifest(clash)
    twice = copy.deepcopy(good)
    twice["graphs"][1]["external_data"].append(dict(twice["graphs"][1]["external_data"][0]))
    with pytest.raises(ValueError, match="listed twice"):
        validate_manifest(twice)
    dtype = copy.deepcopy(good)
    dtype["graphs"][1]["weights_dtype"] = "bfloat16"
    with pytest.raises(Exception):
        validate_manifest(dtype)


def test_verify_files_names_the_file_at_fault(tmp_path):
    _folder(tmp_path / "m", external_data=True)
    d = tmp_path / "m"
    b = bytearray((d / "cm.onnx.data").read_bytes())
    b[len(b) // 2] ^= 1
    (d / "cm.onnx.data").write_bytes(bytes(b))
    with pytest.raises(ValueError, match=r"SHA-256 mismatch for cm\.onnx\.data"):
        verify_files(str(d))
    os.remove(d / "cm.onnx.data")
    with pytest.raises(ValueError, match=r"cm\.onnx\.data \(of graph cm\.onnx\) not found"):
        verify_files(str(d))


def test_batch_invariance_rewrite_of_an_external_data_graph_keeps_its_data(tmp_path):
    """A graph exported elsewhere, with external data: `batch-invariant` rewrites its structure
    only; the data file stays byte for byte what it was and the weights read back unchanged."""
    from training.onnx_export import INPUTS, OUTPUT, _torch_export
    cm, _ = _models()
    raw = str(tmp_path / "raw.onnx")
    _torch_export(cm, (torch.randn(2, *SHAPE), torch.tensor([80.0, 0.5]), torch.tensor([0, 1])), raw, INPUTS, [OUTPUT],
                  fold=False)
    path = str(tmp_path / "g.onnx")
    onnx_external.save(onnx.load(raw), path, external=True)
    data = sha256(path + ".data")
    weights = _weights(path)
    assert rewrite_file(path) > 0
    onnx.checker.check_model(path)
    assert sha256(path + ".data") == data
    after = _weights(path)
    for k, v in weights.items():
        assert after[k].tobytes() == v.tobytes(), k
    assert rewrite_file(path) == 0


def test_external_data_command_moves_a_folder_bit_for_bit(tmp_path):
    src = os.path.join(ROOT, "test", "fixtures", "models", "tiny-rgb8")
    d = tmp_path / "tiny"
    shutil.copytree(src, d)
    assert main(["external-data", str(d)]) == 0
    verify_files(str(d))
    m = read_manifest(str(d))
    for g in m["graphs"]:
        assert g["external_data"][0]["file"] == g["file"] + ".data"
        a, b = _weights(os.path.join(src, g["file"])), _weights(str(d / g["file"]))
        for k in a:
            assert a[k].tobytes() == b[k].tobytes(), k


def test_float16_import_aligns_into_a_float16_jfdl_graph(tmp_path):
    ckpt = make_openai_checkpoint("tiny", str(tmp_path / "ct.pt"), seed=2)
    out = str(tmp_path / "half")
    r = import_openai(ckpt["checkpoint"], CONFIGS["tiny"], out, dtype="float16")
    assert r["weights_dtype"] == "float16"
    m = read_manifest(out)
    assert m["graphs"][0]["weights_dtype"] == "float16" and "float16" in m["provenance"]["precision"]
    images = make_image_folder(str(tmp_path / "images"), m["classes"][:2], per_class=2, size=16)
    align_model_dir(out, images, str(tmp_path / "run"), stage1_iters=1, stage2_iters=1, batch=4)
    m = read_manifest(out)
    verify_files(out)
    assert [g["weights_dtype"] for g in m["graphs"]] == ["float16", "float16"]
    a, b = _weights(os.path.join(out, "cm.onnx")), _weights(os.path.join(out, "jfdl.onnx"))
    for k, v in a.items():
        assert b[k].tobytes() == v.tobytes(), k
    assert set(b) - set(a) == {"null_embedding"} and b["null_embedding"].dtype == np.float16


def test_command_line_options(tmp_path):
    ckpt = make_openai_checkpoint("tiny", str(tmp_path / "ct.pt"), seed=2)
    out = tmp_path / "cli"
    assert main(["import-openai", "--checkpoint", ckpt["checkpoint"], "--config", "tiny", "--out", str(out),
                 "--dtype", "float16", "--external-data"]) == 0
    g = read_manifest(str(out))["graphs"][0]
    assert g["weights_dtype"] == "float16" and g["external_data"][0]["file"] == "cm.onnx.data"
    verify_files(str(out))
    with pytest.raises(SystemExit):
        main(["import-openai", "--checkpoint", ckpt["checkpoint"], "--config", "tiny", "--out", str(tmp_path / "x"),
              "--dtype", "int8"])
