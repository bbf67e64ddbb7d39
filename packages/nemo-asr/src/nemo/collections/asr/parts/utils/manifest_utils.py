"""NeMo 1.23's ``manifest_utils`` readers and writers of JSON-lines manifests, one dict per line.

Only the generic pair NeMo users and NeMo's test fixtures call is here: ``read_manifest`` and ``write_manifest``.
Training data goes through ``nemo.collections.asr.data.manifest``, which also checks each entry's keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from nemo.collections.asr.data.manifest import ManifestError

__all__ = ["read_manifest", "write_manifest"]


def read_manifest(manifest: str | Path) -> list[dict]:
    """Every line of ``manifest`` as a dict, in order; blank lines are skipped.

    Raises:
        FileNotFoundError: ``manifest`` does not exist.
        ManifestError: a line is not a JSON object (the message names the file and line).
    """
    path = Path(manifest)
    if not path.is_file():
        raise FileNotFoundError(f"Manifest {str(manifest)!r} does not exist; check the path.")
    items = []
    with path.open(encoding="utf-8") as lines:
        for line_number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as err:
                raise ManifestError(
                    f"{manifest}:{line_number}: not valid JSON ({err.msg} at column {err.colno}); each line of a "
                    'manifest must be one JSON object, e.g. {"audio_filepath": "a.wav", "duration": 1.2}.'
                ) from err
            if not isinstance(item, dict):
                raise ManifestError(
                    f"{manifest}:{line_number}: a JSON {type(item).__name__}, not an object; each line of a "
                    "manifest must be one JSON object."
                )
            items.append(item)
    return items


def write_manifest(
    output_path: str | Path, target_manifest: Iterable[dict], ensure_ascii: bool = True
) -> None:
    """Write each dict of ``target_manifest`` as one JSON line of ``output_path`` (replacing the file).

    ``ensure_ascii`` escapes non-ASCII characters, as ``json.dumps`` does by default (NeMo's default too).
    """
    with open(output_path, "w", encoding="utf-8") as output:
        for item in target_manifest:
            output.write(json.dumps(item, ensure_ascii=ensure_ascii) + "\n")
