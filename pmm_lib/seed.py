"""The one seed helper: every stochastic function takes ``seed: int | Generator | None``."""

from __future__ import annotations

import numpy as np

__all__ = ["SeedLike", "rng"]

SeedLike = int | np.random.Generator | None


def rng(seed: SeedLike) -> np.random.Generator:
    """Return a NumPy Generator for ``seed`` (``None`` → fresh entropy; 0 is a valid seed).

    >>> rng(0).integers(10) == rng(0).integers(10)
    np.True_
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
        raise TypeError(f"seed must be an int, a numpy Generator or None, got {seed!r}")
    return np.random.default_rng(seed)
