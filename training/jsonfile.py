"""JSON files read and written in one place, each closed as soon as it is done with."""
from __future__ import annotations

import json
from typing import Any


def read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_json(path: str, obj: Any, indent=1) -> None:
    """`indent=None` writes one line (the golden vectors: large, machine-read)."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=indent)
