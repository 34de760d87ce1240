"""Importing openai/consistency_models checkpoints: the network (this project's implementation)
against an independent reading of the flash attention, the full-size construction, import of a
freshly generated random tiny checkpoint in that repository's format, refusal of a checkpoint
that does not fit its flags, and JFDL alignment of the import. The ONNX-vs-PyTorch numbers are
checked against onnxruntime in test/imported-model.test.ts (Python has no onnxruntime here)."""
import json
import math
import os

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from training.__main__ import main
from training.align_model import align_model_dir
from training.manifest import validate_manifest
from training.onnx_weights import load_from_model_dir
from training.openai_checkpoint import make_openai_checkpoint
from training.openai_flags import CONFIGS, parse_flags, unet_config
from training.openai_import import (CheckpointMismatch, import_openai, karras_level, load_openai_cm,
                                    load_state_dict_file)
from training.openai_unet import OpenAIUNet, qkv_attention
from training.tiny_openai import make_image_folder

SIGMAS = [80.0, 40.0, 10.0, 2.0, 0.5, 0.1, 0.02, 0.002]


def _initializers(path):
    return {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return make_openai_checkpoint("tiny", str(tmp_path_factory.mktemp("ckpt") / "ct_tiny.pt"), seed=5)


@pytest.fixture(scope="module")
def imported(ckpt, tmp_path_factory):
    names = tmp_path_factory.mktemp("names") / "classes.txt"
    names.write_text("\n".join(f"class {i}" for i in range(10)) + "\n\n")
    out = str(tmp_path_factory.mktemp("models") / "tiny-ct")
    r = import_openai(ckpt["checkpoint"], CONFIGS["tiny"], out, class_names=str(names))
    return out, r


def test_full_size_network_of_the_published_flags():
    """Built on the meta device: no memory, no initialisation, well under a second."""
    cfg = unet_config(parse_flags(CONFIGS["imagenet64"]), 1000)
    net = OpenAIUNet(cfg, device="meta")
    assert sum(p.numel() for p in net.parameters()) == 295_899_267
    state = net.state_dict()
    assert len(state) == 541
    assert tuple(state["label_emb.weight"].shape) == (1000, 768)
    assert cfg.attention_ds == (2, 4, 8) and cfg.channel_mult == (1, 2, 3, 4)
    assert net.middle_block[1].num_heads == 768 // 64  # heads of num_head_channels=64


def test_attention_reads_q_k_v_in_the_flash_order():
    """Reference written from the flash path's layout "b (three h d) s": q is channels [0, C),
    k [C, 2C), v [2C, 3C), head h the d consecutive channels h·d … (h+1)·d − 1 of each."""
    torch.manual_seed(0)
    B, H, d, T = 2, 3, 4, 5
    C = H * d
    qkv = torch.randn(B, 3 * C, T)
    want = torch.empty(B, C, T)
    for b in range(B):
        for h in range(H):
            q, k, v = (qkv[b, part * C + h * d: part * C + (h + 1) * d] for part in range(3))  # [d, T]
            for t in range(T):
                w = torch.softmax(torch.stack([q[:, t] @ k[:, s] for s in range(T)]) / math.sqrt(d), 0)
                want[b, h * d:(h + 1) * d, t] = sum(w[s] * v[:, s] for s in range(T))
    assert torch.allclose(qkv_attention(qkv, H), want, atol=1e-6)
    # guided-diffusion's legacy order, (head, q|k|v, d), reads the same tensor differently
    legacy = qkv.reshape(B, H, 3, d, T).transpose(1, 2).reshape(B, 3 * C, T)
    assert not torch.allclose(qkv_attention(legacy, H), want, atol=1e-3)


def test_random_checkpoint_is_in_the_upstream_format(ckpt):
    state = load_state_dict_file(ckpt["checkpoint"])
    assert all(isinstance(k, str) and not k.startswith("net.") for k in state)
    assert "label_emb.weight" in state and "out.2.weight" in state
    assert len(state) == ckpt["state_dict_keys"] == 217
    for k, v in state.items():
        assert v.dtype == torch.float32 and bool((v != 0).all()), f"{k} has zeros"


def test_import_writes_a_servable_cm_folder(imported, ckpt):
    out, r = imported
    m = json.load(open(os.path.join(out, "model.json")))
    validate_manifest(m)
    assert m["name"] == "tiny-ct" and [g["model"] for g in m["graphs"]] == ["tiny-ct-cm"]
    g = m["graphs"][0]
    assert g["kind"] == "cm" and g["null_class"] is None and g["guidance"] == {"default": 1.0, "min": 1.0, "max": 1.0}
    assert m["default_sampler"] == "consistency" and m["default_steps"] == 2
    assert m["schedules"] == {"1": [80.0], "2": [80.0, 1.9128]}
    assert m["classes"] == [f"class {i}" for i in range(10)]
    assert m["image"] == {"channels": 3, "height": 32, "width": 32}
    assert r["params"] == 998_755 and r["state_dict_keys"] == 217
    assert os.path.exists(os.path.join(out, "README.md"))


def test_graph_carries_the_checkpoint_bit_for_bit(imported, ckpt):
    out, _ = imported
    inits = _initializers(os.path.join(out, "cm.onnx"))
    state = load_state_dict_file(ckpt["checkpoint"])
    for k, v in state.items():
        assert inits[f"net.{k}"].tobytes() == v.numpy().tobytes(), k


def test_module_rebuilt_from_the_graph_computes_the_checkpoint(imported, ckpt):
    """f(x, σ, c) of the checkpoint loaded directly = of the module rebuilt from cm.onnx, at σ
    from 80 down to 0.002; and f(x, σ_min, c) = x (the boundary condition)."""
    out, _ = imported
    cfg = unet_config(parse_flags(CONFIGS["tiny"]), 10)
    direct = load_openai_cm(cfg, load_state_dict_file(ckpt["checkpoint"]))
    rebuilt = load_from_model_dir(out, "cm")
    g = torch.Generator().manual_seed(0)
    s = torch.tensor(SIGMAS)
    x = torch.randn(len(SIGMAS), 3, 32, 32, generator=g) * s[:, None, None, None]
    c = torch.arange(len(SIGMAS)) % 10
    with torch.no_grad():
        a, b = direct(x, s, c), rebuilt(x, s, c)
        assert torch.equal(a, b)
        assert torch.equal(direct(x, torch.full_like(s, 0.002), c), x)
        # the class matters and the network is not the identity away from σ_min
        assert not torch.allclose(direct(x, s, (c + 1) % 10), a)
        assert (a[:4] - x[:4]).abs().max() > 1


def test_two_step_schedule_is_level_106_of_201():
    assert karras_level(0, 201, 0.002, 80.0) == pytest.approx(80.0)
    assert karras_level(106, 201, 0.002, 80.0) == pytest.approx(1.9128, abs=1e-4)
    assert karras_level(200, 201, 0.002, 80.0) == pytest.approx(0.002)


@pytest.mark.parametrize("flags, key, shapes", [
    (CONFIGS["tiny"].replace("--num_channels 32", "--num_channels 64"), "time_embed.0.weight", ("[128, 32]", "[256, 64]")),
    (CONFIGS["tiny"].replace("--class_cond True", "--class_cond False"), "label_emb.weight", ("[10, 128]",)),
    (CONFIGS["tiny"].replace("--resblock_updown True", "--resblock_updown False"), "input_blocks.2.0.op.weight",
     ("[32, 32, 3, 3]",)),
], ids=["num_channels", "class_cond", "resblock_updown"])
def test_mismatch_is_refused_by_key_and_shapes_and_nothing_is_written(ckpt, tmp_path, flags, key, shapes):
    out = tmp_path / "never"
    with pytest.raises(CheckpointMismatch) as e:
        import_openai(ckpt["checkpoint"], flags, str(out))
    msg = str(e.value)
    assert f"'{key}'" in msg, msg
    for s in shapes:
        assert s in msg, msg
    assert not out.exists()


def test_command_line_refuses_with_one_line_and_status_2(ckpt, tmp_path, capsys):
    out = tmp_path / "never"
    rc = main(["import-openai", "--checkpoint", ckpt["checkpoint"], "--flags",
               CONFIGS["tiny"].replace("--num_head_channels 16", "--num_head_channels 64"), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert not out.exists()
    state = load_state_dict_file(ckpt["checkpoint"])
    state.pop("out.2.bias")
    torch.save(state, tmp_path / "cut.pt")
    with pytest.raises(CheckpointMismatch, match=r"'out.2.bias'.*\[3\].*no such key"):
        import_openai(str(tmp_path / "cut.pt"), CONFIGS["tiny"], str(out))
    assert not out.exists()


def test_non_network_flags_are_ignored_and_a_diffusion_model_is_refused():
    f = parse_flags(CONFIGS["imagenet64"] + " --training_mode consistency_training --ema_rate 0.999,0.9999 --lr=1e-4")
    assert set(f.ignored) == {"weight_schedule", "ema_rate", "lr"}
    with pytest.raises(ValueError, match="training_mode edm"):
        parse_flags(CONFIGS["imagenet64"] + " --training_mode edm")
    g = parse_flags("--num_heads 2 --num_heads_upsample 1 --use_new_attention_order True --channel_mult 1,2")
    cfg = unet_config(g, 10)
    assert (cfg.num_heads, cfg.num_heads_upsample, cfg.channel_mult) == (2, 1, (1, 2))


def test_align_adds_jfdl_with_every_cm_weight_and_one_row(imported, tmp_path):
    out, _ = imported
    names = json.load(open(os.path.join(out, "model.json")))["classes"]
    images = make_image_folder(str(tmp_path / "images"), names[:4], per_class=2, size=20)
    os.rename(tmp_path / "images" / names[0], tmp_path / "images" / "not a class")
    with pytest.raises(ValueError, match="'not a class'"):
        align_model_dir(out, images, str(tmp_path / "run0"), 1, 1, batch=4)
    assert not os.path.exists(os.path.join(out, "jfdl.onnx"))
    os.rename(tmp_path / "images" / "not a class", tmp_path / "images" / names[0])

    r = align_model_dir(out, images, str(tmp_path / "run"), stage1_iters=2, stage2_iters=2, batch=4)
    m = json.load(open(os.path.join(out, "model.json")))
    validate_manifest(m)
    assert [(g["model"], g["kind"], g["null_class"]) for g in m["graphs"]] == [("tiny-ct", "jfdl", 10),
                                                                               ("tiny-ct-cm", "cm", None)]
    assert m["graphs"][0]["guidance"]["default"] > 1 and m["graphs"][0]["guidance"]["min"] == 0
    assert r["images"] == 8 and r["classes_seen"] == 4
    a = _initializers(os.path.join(out, "cm.onnx"))
    b = _initializers(os.path.join(out, "jfdl.onnx"))
    for k, v in a.items():
        assert b[k].tobytes() == v.tobytes(), k
    assert set(b) - set(a) == {"null_embedding"}
    null = b["null_embedding"]
    assert null.shape == (128,)
    table = a["net.label_emb.weight"]
    assert not np.allclose(null, table.mean(0))  # learned: moved from its start, the mean row
    assert os.path.exists(tmp_path / "run" / "null_s1.pt") and os.path.exists(tmp_path / "run" / "null_s12.pt")
    ck = torch.load(tmp_path / "run" / "s12" / "checkpoint.pt")
    assert list(ck["model"]) == ["null_embedding"]  # the frozen CM is not saved again
