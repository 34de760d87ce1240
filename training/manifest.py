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
    """Checks a manifest against schemas/model.schema.json (the repo's JSON Schema)."""
    import jsonschema
    jsonschema.validate(m, read_json(SCHEMA))


def read_manifest(model_dir: str) -> dict:
    return read_json(os.path.join(model_dir, "model.json"))


def write_manifest(model_dir: str, m: dict) -> None:
    """Validates, then writes model_dir/model.json (nothing is written if it is invalid)."""
    validate_manifest(m)
    write_json(os.path.join(model_dir, "model.json"), m)
