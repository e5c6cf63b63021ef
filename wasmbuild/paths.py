"""Where things live: the project's YAML folders and the per-user cache."""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

PROJECT_DIR = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """Toolchain roots, downloads, ccache, default sources. WASMBUILD_CACHE overrides."""
    override = os.environ.get("WASMBUILD_CACHE")
    return Path(override) if override else Path(platformdirs.user_cache_dir("wasmbuild"))


def downloads_dir() -> Path:
    return cache_dir() / "downloads"


def roots_dir() -> Path:
    """The provisioned toolchains. WASMBUILD_TOOLCHAINS overrides: a machine image (a CI
    farm's) keeps its toolchains while its build caches start empty."""
    override = os.environ.get("WASMBUILD_TOOLCHAINS")
    return Path(override) if override else cache_dir() / "toolchains"
