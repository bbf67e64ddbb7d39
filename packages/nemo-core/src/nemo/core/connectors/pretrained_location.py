"""Where a pretrained model's ``.nemo`` file is on this machine. Nothing is ever downloaded.

A :class:`~nemo.core.classes.model.PretrainedModelInfo` names its file by ``location``: a local path, a
``file://`` URL, or a URL / file name whose file must already be in the cache folder
(:func:`nemo.utils.model_utils.resolve_cache_dir`, i.e. ``$NEMO_CACHE_DIR`` or ``~/.cache/torch/NeMo``).
In the cache, the file is looked up as ``<cache>/<file>``, ``<cache>/<stem>/<file>`` and NeMo's own
layout ``<cache>/<stem>/<md5(location + description)>/<file>``, so a cache filled by NeMo is reused.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import unquote, urlparse

__all__ = ["candidate_paths", "find_local_file"]


def _cache_candidates(location: str, description: str, cache_dir: Path) -> list[Path]:
    file_name = Path(urlparse(location).path).name or location
    stem = Path(file_name).stem
    nemo_subfolder = hashlib.md5((location + description).encode("utf-8")).hexdigest()
    return [
        cache_dir / file_name,
        cache_dir / stem / file_name,
        cache_dir / stem / nemo_subfolder / file_name,
    ]


def candidate_paths(location: str, description: str, cache_dir: Path) -> list[Path]:
    """Every local path where the file named by ``location`` may be, in lookup order.

    Args:
        location: ``PretrainedModelInfo.location`` (path, ``file://`` URL, other URL or file name).
        description: ``PretrainedModelInfo.description`` (part of NeMo's cache folder name).
        cache_dir: the cache folder.
    """
    parsed = urlparse(location)
    if parsed.scheme == "file":
        return [Path(unquote(parsed.path))]
    if len(parsed.scheme) <= 1:  # a plain path or file name (a one-letter scheme is a Windows drive)
        direct = Path(location).expanduser()
        return [direct, *_cache_candidates(location, description, cache_dir)]
    return _cache_candidates(location, description, cache_dir)


def find_local_file(model_name: str, location: str, description: str, cache_dir: Path) -> Path:
    """The existing local file for a pretrained model.

    Args:
        model_name: the name asked for, quoted in the error.
        location: its ``PretrainedModelInfo.location``.
        description: its ``PretrainedModelInfo.description``.
        cache_dir: the cache folder.

    Returns:
        The first candidate path that is a file.

    Raises:
        FileNotFoundError: none exists; the message lists every path tried and where to put the file.
    """
    candidates = candidate_paths(location, description, cache_dir)
    for path in candidates:
        if path.is_file():
            return path
    tried = "\n".join(f"  - {path}" for path in candidates)
    file_name = Path(urlparse(location).path).name or location
    raise FileNotFoundError(
        f"Pretrained model {model_name!r} (location {location!r}) is not on this machine, and nothing is "
        f"downloaded. Looked for:\n{tried}\nCopy the file {file_name!r} to {cache_dir / file_name} (or set "
        "NEMO_CACHE_DIR to the folder that holds it), or pass the path of the .nemo file as model_name."
    )
