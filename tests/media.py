"""Stored files of one test only, so that what is written and deleted can be checked on disk.

``media_root`` is a fixture for every test module (tests/conftest.py imports it);
a module whose tests all store files asks for it with ``pytest.mark.usefixtures("media_root")``.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


def stored_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
