"""Where the checkout and the shared read-only datasets are."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _shared() -> Path:
    """../shared next to the checkout; SHARED_DIR overrides it (a clone made elsewhere)."""
    candidates = [Path(os.environ["SHARED_DIR"])] if os.environ.get("SHARED_DIR") else []
    candidates += [ROOT.parent / "shared", Path("/work/shared")]
    return next((c for c in candidates if (c / "datasets").is_dir()), candidates[0])


DATASETS = _shared() / "datasets"
