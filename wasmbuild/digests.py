"""Content digests: of a file, and of a value (YAML settings, cache keys)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path


def hash_file(path: Path, algorithm: str) -> str:
    """Hex digest of a file's content (read in blocks: a tarball is never all in memory)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, algorithm).hexdigest()


def digest(obj) -> str:
    """A short, stable digest of a JSON-able value (dataclasses and paths as their str)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:24]
