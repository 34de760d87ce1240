"""`python3 -m training all` end to end at toy sizes: every stage runs and hands its files to the
next, the evaluation writes every table, and the export produces a servable, schema-valid folder."""
import argparse
import json
import os

import numpy as np
from PIL import Image

from training.data import load_image_folder
from training.manifest import validate_manifest
from training.headline import headline
from training.pipeline import run_all


def test_all_stages_end_to_end(tmp_path):
    args = argparse.Namespace(dataset="digits16", out=str(tmp_path / "runs"), model_dir=str(tmp_path / "model"), iters=2,
                              minutes=None, batch=8, images_per_class=2, stage1_iters=1, stage2_iters=1,
                              golden=str(tmp_path / "golden.json"))
    times = run_all(args)
    assert set(times) == {"stage0_s", "jfdl_s", "evaluate_s", "export_s"}
    # resumable: a second run finds every stage done and only exports again
    again = run_all(args)
    assert again["stage0_s"] == times["stage0_s"] and again["evaluate_s"] == times["evaluate_s"]
    m = json.load(open(tmp_path / "model" / "model.json"))
    validate_manifest(m)
    assert [g["model"] for g in m["graphs"]] == ["digits16", "digits16-cm"]
    res = json.load(open(tmp_path / "model" / "metrics.json"))
    assert set(res["ablation_2step"]) == {"s1", "s12", "s2"}
    # digits16's preset keeps the ode sampler as the default schedule, and the manifest says so
    assert res["chosen"]["sampler"] == "ode" == m["default_sampler"]
    assert len(res["jfdl_grid"]["1step"]) == 14 and len(res["normality"]) == 18
    for f in ("cm.onnx", "jfdl.onnx", "classifier.onnx", "samples.png", "README.md"):
        assert (tmp_path / "model" / f).exists(), f
    golden = json.load(open(tmp_path / "golden.json"))
    assert len(golden["sampler"]) == 16
    assert res["real_train_floor"]["images"] == 20 and 0 <= res["real_train_floor"]["accuracy"] <= 1
    # --extend: stage 0 trains on from its checkpoint (same curriculum horizon); the alignment of
    # the older weights is moved aside and stages 1 + 2 and the evaluation run again
    run = tmp_path / "runs" / "main"
    longer = run_all(argparse.Namespace(**vars(args), extend=["1", "2:4"]))
    assert json.load(open(run / "stage0" / "result.json"))["steps"] == 5
    assert json.load(open(run / "stage0" / "meta.json"))["iters"] == 2
    assert json.load(open(run / "stage0" / "meta.json"))["extend"] == [[1, None], [2, 4]]
    assert json.load(open(run / "jfdl" / "result.json"))["stage0_steps"] == 5
    assert (run / "jfdl-stage0-2" / "null_s12.pt").exists()
    # an alignment interrupted before its result.json still belongs to the weights it started on
    os.remove(run / "jfdl" / "result.json")
    run_all(argparse.Namespace(**vars(args), extend=["1", "2:4", "1:4"]))
    assert (run / "jfdl-stage0-5" / "null_s12.pt").exists()
    assert json.load(open(run / "jfdl" / "result.json"))["stage0_steps"] == 6
    assert longer["stage0_s"] > times["stage0_s"] and longer["evaluate_s"] > times["evaluate_s"]
    # the quick headline of a stage-0 folder and a null embedding (`python3 -m training headline`)
    h = headline("digits16", str(tmp_path / "runs" / "classifier.pt"), str(run / "stage0"), str(run / "jfdl" / "null_s12.pt"),
                 n_per_class=2, sigma_mid=2.0, ws=(1.0, 2.0))
    assert set(h["cm"]) == {"1step", "2step_ode", "2step_consistency"} and list(h["jfdl_2step_ode"]) == ["1.0", "2.0"]
    assert h["images_per_setting"] == 20 and all(0 <= r["accuracy"] <= 1 and r["fd"] > 0 for r in h["cm"].values())


def test_image_folder_loader(tmp_path):
    rng = np.random.default_rng(0)
    for c in ("cat", "dog"):
        os.makedirs(tmp_path / c)
        for i in range(6):
            Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(tmp_path / c / f"{i}.png")
    d = load_image_folder(str(tmp_path), size=8, channels=3, held_out=0.25)
    assert d.classes == ["cat", "dog"]
    assert d.train_x.shape[1:] == (3, 8, 8) and len(d.train_y) + len(d.test_y) == 12
    assert d.train_x.min() >= -1 and d.train_x.max() <= 1
    g = load_image_folder(str(tmp_path), size=16, channels=1)
    assert g.train_x.shape[1:] == (1, 16, 16)
