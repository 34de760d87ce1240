"""The committed model folders (models/digits16 and the test fixtures, external-data and float16
ones included): manifest valid against the repo's JSON Schema, hashes of graphs and external-data
files true, graphs pass onnx.checker, CM weights inside the JFDL graph bit for bit, and the claim
of the model card holds in its metrics."""
import hashlib
import json
import os

import onnx
import pytest
from onnx import numpy_helper

from training.manifest import validate_manifest, verify_files

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
MODELS = [os.path.join(ROOT, "models", d) for d in ("digits16", "fashion28")] + [os.path.join(ROOT, "test", "fixtures", *p) for p in [
    ("models", "tiny-rgb8"), ("imported", "tiny-openai"), ("external", "tiny-rgb8-ext"), ("float16", "tiny-openai-fp16")]]


@pytest.mark.parametrize("folder", MODELS)
def test_manifest_and_graphs(folder):
    if not os.path.exists(os.path.join(folder, "model.json")):
        pytest.skip(f"{folder} not exported")
    m = json.load(open(os.path.join(folder, "model.json")))
    validate_manifest(m)
    verify_files(folder, m)  # external-data files too, and exactly those the graphs use
    inits = {}
    for g in m["graphs"]:
        path = os.path.join(folder, g["file"])
        assert hashlib.sha256(open(path, "rb").read()).hexdigest() == g["sha256"]
        model = onnx.load(path)
        onnx.checker.check_model(model)
        inits[g["kind"]] = {i.name: numpy_helper.to_array(i).tobytes() for i in model.graph.initializer}
    for k, v in inits["cm"].items() if "jfdl" in inits else []:
        assert inits["jfdl"][k] == v, k


def test_digits16_metrics_reproduce_the_claim():
    path = os.path.join(ROOT, "models", "digits16", "metrics.json")
    if not os.path.exists(path):
        pytest.skip("digits16 not exported")
    res = json.load(open(path))
    h = res["headline"]
    assert res["images_per_setting"] >= 1000
    assert res["classifier"]["held_out_accuracy"] >= 0.97
    assert h["jfdl_best_w"] > 1
    assert h["jfdl_at_best_w"]["accuracy"] > h["cm"]["accuracy"]
    assert h["fd_drop"] >= 0.20


def test_fashion28_metrics_reproduce_the_claim():
    """Fashion-MNIST's shipped figures (training/evaluate.py on the 10,000 test images): the CM at
    2 steps recognisable, JFDL's best w well past it on both measures, accuracy rising with w up
    to that w."""
    path = os.path.join(ROOT, "models", "fashion28", "metrics.json")
    if not os.path.exists(path):
        pytest.skip("fashion28 not exported")
    res = json.load(open(path))
    h = res["headline"]
    assert res["classifier"]["held_out_images"] == 10000 and res["classifier"]["train_images"] == 60000
    assert res["images_per_setting"] >= 1000
    assert h["cm"]["accuracy"] >= 0.80
    assert h["jfdl_best_w"] > 1
    assert h["jfdl_at_best_w"]["accuracy"] > h["cm"]["accuracy"]
    assert h["fd_drop"] >= 0.40
    # the headline is the CM at the manifest's default schedule (sampler and 2-step σ)
    m = json.load(open(os.path.join(ROOT, "models", "fashion28", "model.json")))
    assert m["default_sampler"] == res["chosen"]["sampler"]
    assert m["schedules"]["2"] == [80.0, res["chosen"]["sigma_mid"]]
    assert h["setting"] == f"2 steps, {m['default_sampler']}, sigma_mid={res['chosen']['sigma_mid']}"
    grid = res["jfdl_grid"][f"2step_{res['chosen']['sampler']}"]
    ws = sorted((float(w) for w in grid if 1 <= float(w) <= h["jfdl_best_w"]))
    accs = [grid[next(k for k in grid if float(k) == w)]["accuracy"] for w in ws]
    assert accs == sorted(accs), f"accuracy by w {dict(zip(ws, accs))}"


@pytest.mark.parametrize("name", ["digits16", "fashion28"])
def test_model_card_is_written_from_the_manifest_and_metrics(name):
    """The card writer rebuilds the shipped card from the folder's own model.json and
    metrics.json, word for word: the card says nothing the measurements do not."""
    from training.jsonfile import read_json
    from training.model_card import model_card

    folder = os.path.join(ROOT, "models", name)
    if not os.path.exists(os.path.join(folder, "metrics.json")):
        pytest.skip(f"{name} not exported")
    with open(os.path.join(folder, "README.md"), encoding="utf-8") as f:
        shipped = f.read()
    assert model_card(read_json(os.path.join(folder, "model.json")), read_json(os.path.join(folder, "metrics.json"))) == shipped
