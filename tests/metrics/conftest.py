"""Fixtures shared by the scorer tests: tiny models built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.metrics._tiny_clip import save_tiny_clip
from tests.metrics._tiny_vlm import build_tiny_vlm


@pytest.fixture(scope="session")
def tiny_vlm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen2.5-VL folder (vqascore and vqascore_video)."""
    return build_tiny_vlm(tmp_path_factory.mktemp("vlm"))


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random CLIP folder at 32 px (the video scorers' frames are 32x32)."""
    return save_tiny_clip(tmp_path_factory.mktemp("clip") / "tiny-clip", seed=3)
