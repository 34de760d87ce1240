"""`python3 -m training headline --model-dir DIR`: the shipped model scored from its folder alone —
the evaluation classifier rebuilt from classifier.onnx, the CM and JFDL modules from the graphs,
σ_mid and sampler from model.json."""
import argparse
import json
import os

import pytest

from training.data import load
from training.evaluate import load_classifier
from training.classifier import accuracy
from training.headline import main

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


@pytest.mark.parametrize("name,dataset", [("digits16", "digits16"), ("fashion28", "fashion-mnist")])
def test_classifier_from_the_shipped_onnx_scores_as_recorded(name, dataset):
    folder = os.path.join(ROOT, "models", name)
    if not os.path.exists(os.path.join(folder, "metrics.json")):
        pytest.skip(f"{name} not exported")
    data = load(dataset)
    clf = load_classifier(os.path.join(folder, "classifier.onnx"), data)
    recorded = json.load(open(os.path.join(folder, "metrics.json")))["classifier"]["held_out_accuracy"]
    assert round(accuracy(clf, data.test_x, data.test_y), 4) == recorded


def test_headline_of_a_model_folder_takes_its_default_schedule():
    folder = os.path.join(ROOT, "models", "digits16")
    if not os.path.exists(os.path.join(folder, "model.json")):
        pytest.skip("digits16 not exported")
    m = json.load(open(os.path.join(folder, "model.json")))
    args = argparse.Namespace(dataset="digits16", model_dir=folder, images_per_class=2, sigma_mid=None, sampler=None,
                              w="1,1.5", threads=1, write=None, out=None, stage0=None, null=None)
    res = main(args)
    assert res["sigma_mid"] == m["schedules"]["2"][1]
    key = f"jfdl_2step_{m['default_sampler']}"
    assert list(res[key]) == ["1.0", "1.5"]
    # at w = 1 the JFDL graph runs only its conditional branch: the CM's weights, the same images
    assert res[key]["1.0"] == res["cm"][f"2step_{m['default_sampler']}"]
    assert res[key]["1.5"] != res[key]["1.0"]
