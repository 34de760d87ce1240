"""Writing a servable model folder (docs/model-contract.md): every graph exported to ONNX and
hashed, model.json built, validated and written. Used by the digits16 export, the tiny test
fixture, the openai importer and the alignment of an imported model, so every model folder this
project writes is made the same way."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import List, Optional

import torch

from .batch_invariant import rewrite_file
from .manifest import manifest, read_manifest, write_manifest
from .onnx_export import export_onnx, sha256

FIXED_GUIDANCE = {"default": 1.0, "min": 1.0, "max": 1.0}


@dataclass
class Graph:
    """One graph of a model folder: the module to export and its manifest entry. A plain CM
    (kind "cm", null_class None) serves with guidance fixed at 1; a JFDL model (kind "jfdl")
    names its null class, K."""
    model: str
    kind: str
    file: str
    module: torch.nn.Module
    null_class: Optional[int] = None
    guidance: dict = field(default_factory=lambda: dict(FIXED_GUIDANCE))

    def entry(self, exported: dict) -> dict:
        """The manifest entry, from what export_onnx reports of the written files. The
        external-data list and the weights' precision are written only when they differ from the
        defaults (none; float32), so a plain folder's manifest reads as before."""
        e = {"model": self.model, "kind": self.kind, "file": self.file, "sha256": exported["sha256"],
             "null_class": self.null_class, "guidance": dict(self.guidance)}
        if exported.get("external_data"):
            e["external_data"] = [dict(f) for f in exported["external_data"]]
        if exported.get("weights_dtype", "float32") != "float32":
            e["weights_dtype"] = exported["weights_dtype"]
        return e


def export_graphs(model_dir: str, graphs: List[Graph], shape, dtype: str = "float32",
                  external_data: Optional[bool] = None) -> List[dict]:
    """Exports each graph into model_dir; returns their manifest entries. `dtype` and
    `external_data` as export_onnx takes them."""
    os.makedirs(model_dir, exist_ok=True)
    return [g.entry(export_onnx(g.module, os.path.join(model_dir, g.file), shape, dtype, external_data))
            for g in graphs]


def write_model_folder(model_dir: str, name: str, description: str, shape, classes, graphs: List[Graph],
                       schedules: dict, provenance: dict, metrics: Optional[dict] = None, dtype: str = "float32",
                       external_data: Optional[bool] = None, **manifest_kw) -> dict:
    """Exports the graphs and writes a validated model.json; returns the manifest.
    `manifest_kw` passes default_steps, max_steps, sigma, default_sampler to manifest()."""
    entries = export_graphs(model_dir, graphs, shape, dtype, external_data)
    m = manifest(name, description, shape, classes, entries, schedules, provenance, metrics or {}, **manifest_kw)
    write_manifest(model_dir, m)
    return m


def graph_layout(entry: dict) -> dict:
    """How a manifest entry's graph was written — {"dtype", "external_data"} as export_onnx
    takes them — so a graph added beside it (the JFDL graph of an imported CM) is written alike."""
    return {"dtype": entry.get("weights_dtype", "float32"), "external_data": bool(entry.get("external_data"))}


def add_graph(model_dir: str, graph: Graph, first: bool = True, dtype: str = "float32",
              external_data: Optional[bool] = None) -> dict:
    """Exports one more graph into an existing model folder and lists it in model.json (first, so
    a guided graph leads the folder's list; an entry with the same file is replaced)."""
    m = read_manifest(model_dir)
    shape = (m["image"]["channels"], m["image"]["height"], m["image"]["width"])
    entry = export_graphs(model_dir, [graph], shape, dtype, external_data)[0]
    rest = [g for g in m["graphs"] if g["file"] != graph.file]
    m["graphs"] = [entry] + rest if first else rest + [entry]
    write_manifest(model_dir, m)
    return m


def make_model_dir_batch_invariant(model_dir: str) -> dict:
    """Rewrite the graphs of an exported model folder (batch_invariant.py) and update their
    SHA-256 in model.json (external-data files are left as they are). Returns {file: ops rewritten}."""
    m = read_manifest(model_dir)
    done = {}
    for g in m["graphs"]:
        f = os.path.join(model_dir, g["file"])
        done[g["file"]] = rewrite_file(f)
        g["sha256"] = sha256(f)
    write_manifest(model_dir, m)
    return done


def move_to_external_data(model_dir: str) -> dict:
    """Rewrite an exported model folder's graphs with their weights in external-data files
    (onnx_external.py) — the graphs' nodes and weights unchanged, so they compute the same bits —
    and list the files with their SHA-256 in model.json. Returns {graph file: data files}."""
    import onnx

    from . import onnx_external

    m = read_manifest(model_dir)
    done = {}
    for g in m["graphs"]:
        path = os.path.join(model_dir, g["file"])
        model = onnx.load(path)
        files = onnx_external.save(model, path, external=True)
        onnx.checker.check_model(path)
        g["sha256"] = sha256(path)
        g["external_data"] = [{"file": f, "sha256": sha256(os.path.join(model_dir, f))} for f in files]
        done[g["file"]] = files
    write_manifest(model_dir, m)
    return done
