"""Loading precomputed features (NeMo 1.23's ``ExternalFeatureLoader``).

Feature files are PyTorch tensors (``.pt`` / ``.pth``) or NumPy arrays (``.npy``, ``.npz``, pickles read by
``numpy.load``). Integer arrays are taken as PCM-like data and scaled to [-1, 1) (``x / 2**(bits - 1)``); float
arrays are cast to float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["ExternalFeatureLoader"]

_TORCH_SUFFIXES = (".pt", ".pth")


class ExternalFeatureLoader:
    """Read a feature file into a float32 tensor.

    Args:
        augmentor: optional object whose ``perturb(features)`` changes the loaded (float32 NumPy) features in
            place before they become a tensor.
    """

    def __init__(self, augmentor: Any | None = None) -> None:
        self.augmentor = augmentor

    def load_feature_from_file(self, file_path: str) -> np.ndarray:
        """The features of ``file_path`` as a float32 array (shape as stored, e.g. (D, T))."""
        if file_path.endswith(_TORCH_SUFFIXES):
            return torch.load(file_path, map_location="cpu").float().numpy()
        return self._convert_samples_to_float32(np.load(file_path, allow_pickle=True))

    @staticmethod
    def _convert_samples_to_float32(samples: np.ndarray) -> np.ndarray:
        """Float arrays cast to float32; signed integer arrays scaled by ``1 / 2**(bits - 1)``."""
        if np.issubdtype(samples.dtype, np.signedinteger):
            return samples.astype(np.float32) / float(2 ** (np.iinfo(samples.dtype).bits - 1))
        if np.issubdtype(samples.dtype, np.floating):
            return samples.astype(np.float32)
        raise TypeError(
            f"ExternalFeatureLoader: unsupported feature dtype {samples.dtype}; store float or signed integer "
            "arrays."
        )

    def process(self, file_path: str) -> torch.Tensor:
        """Load ``file_path`` and return the (augmented) features as a float32 tensor."""
        return self.process_segment(self.load_feature_from_file(file_path))

    def process_segment(self, feature_segment: np.ndarray) -> torch.Tensor:
        """Apply the augmentor (if any) to ``feature_segment`` and return it as a float32 tensor."""
        if self.augmentor is not None:
            self.augmentor.perturb(feature_segment)
        return torch.tensor(feature_segment, dtype=torch.float)
