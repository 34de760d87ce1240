"""The model folder's manifest, model.json (docs/model-contract.md): building it, checking it
against the repository's JSON Schema, reading and writing it."""
from __future__ import annotations

import os
from typing import Optional

from .jsonfile import read_json, write_json
from .schedules import SIGMA_DATA, SIGMA_MAX, SIGMA_MIN, sampling_schedule

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "schemas", "model.schema.json")


def default_schedules(sigma_mid: Optional[float] = None, max_steps: int = 4) -> dict:
    """Karras schedules for 1…max_steps steps, with the 2-step σ_mid an evaluation tuned."""
    sch = {str(n): sampling_schedule(n) for n in range(1, max_steps + 1)}
    if sigma_mid is not None:
        sch["2"] = [SIGMA_MAX, float(sigma_mid)]
    return sch


def manifest(name: str, description: str, shape, classes, graphs: list, schedules: dict, provenance: dict,
             metrics: dict, default_steps: int = 2, max_steps: int = 8, sigma: Optional[dict] = None,
             default_sampler: str = "ode") -> dict:
    """model.json's content; `graphs` are the contract's entries (model, kind, file, sha256,
    null_class, guidance). σ defaults to this project's VE range (0.002…80, σ_data 0.5)."""
    return {
        "schema_version": 1, "name": name, "description": description,
        "image": {"channels": shape[0], "height": shape[1], "width": shape[2]},
        "classes": list(classes),
        "sigma": dict(sigma) if sigma else {"min": SIGMA_MIN, "max": SIGMA_MAX, "data": SIGMA_DATA},
        "clamp": True, "default_sampler": default_sampler, "default_steps": default_steps, "max_steps": max_steps,
        "schedules": schedules, "graphs": graphs, "provenance": provenance, "metrics": metrics,
    }


def validate_manifest(m: dict, root: str = ".") -> None:
    """Checks a manifest against schemas/model.schema.json (the repo's JSON Schema), plus what a
    schema cannot say: an external-data file is not also a graph file, nor listed twice by one
    graph (the service's zod schema, src/models/manifest.ts, refuses the same)."""
    import jsonschema
    jsonschema.validate(m, read_json(SCHEMA))
    graph_files = {g["file"] for g in m["graphs"]}
    for g in m["graphs"]:
        names = [f["file"] for f in g.get("external_data", [])]
        clash = sorted(set(names) & graph_files)
        if clash:
            raise ValueError(f"graph {g['file']}: external-data file {clash[0]} is also a graph file")
        if len(set(names)) != len(names):
            raise ValueError(f"graph {g['file']}: an external-data file is listed twice")


def verify_files(model_dir: str, m: Optional[dict] = None) -> None:
    """Checks a folder's files against its manifest as the service does at load: every graph
    and external-data file present with its SHA-256, and each graph's external-data list exactly
    the files the graph refers to. Raises ValueError naming the first file that fails."""
    from .onnx_export import sha256
    from .onnx_external import external_files

    m = m or read_manifest(model_dir)
    for g in m["graphs"]:
        listed = [f["file"] for f in g.get("external_data", [])]
        for f, want in [(g["file"], g["sha256"])] + [(x["file"], x["sha256"]) for x in g.get("external_data", [])]:
            path = os.path.join(model_dir, f)
            if not os.path.isfile(path):
                raise ValueError(f"{f} (of graph {g['file']}) not found in {model_dir}")
            if sha256(path) != want.lower():
                raise ValueError(f"SHA-256 mismatch for {f} (of graph {g['file']})")
        used = external_files(os.path.join(model_dir, g["file"]))
        if sorted(used) != sorted(listed):
            raise ValueError(f"graph {g['file']} uses external-data files {used}, model.json lists {listed}")


def read_manifest(model_dir: str) -> dict:
    return read_json(os.path.join(model_dir, "model.json"))


def write_manifest(model_dir: str, m: dict) -> None:
    """Validates, then writes model_dir/model.json (nothing is written if it is invalid)."""
    validate_manifest(m)
    write_json(os.path.join(model_dir, "model.json"), m)
