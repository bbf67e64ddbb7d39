"""NeMo 1.23's ``manifest_utils`` readers and writers of JSON-lines manifests, one dict per line.

Only the generic pair NeMo users and NeMo's test fixtures call is here: ``read_manifest`` and ``write_manifest``,
plus ``get_ctm_line``, one line of a CTM (word time-mark) file.
Training data goes through ``nemo.collections.asr.data.manifest``, which also checks each entry's keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from nemo.collections.asr.data.manifest import ManifestError
from nemo.collections.common.parts.preprocessing.manifest import iter_text_lines

__all__ = ["get_ctm_line", "read_manifest", "write_manifest"]


def read_manifest(manifest: str | Path) -> list[dict]:
    """Every line of ``manifest`` as a dict, in order; blank lines are skipped.

    The file is UTF-8 with ``"\\n"`` line endings (``"\\r\\n"`` too); a leading byte-order mark is ignored.
    Keys are not checked.

    Raises:
        FileNotFoundError: ``manifest`` does not exist.
        ManifestError: a line is not UTF-8 or not one JSON object (the message names the file and line).
    """
    path = Path(manifest)
    if not path.is_file():
        raise FileNotFoundError(f"Manifest {str(manifest)!r} does not exist; check the path.")
    items = []
    for line_number, line in iter_text_lines(path, ManifestError, "manifest"):
        if not line.strip():
            continue
        where = f"{manifest}:{line_number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as err:
            raise ManifestError(
                f"{where}: not valid JSON ({err.msg} at column {err.colno}); each line of a manifest must be one "
                'JSON object, e.g. {"audio_filepath": "a.wav", "duration": 1.2}.'
            ) from err
        except (ValueError, RecursionError) as err:  # an integer of over 4300 digits; nesting too deep
            raise ManifestError(
                f"{where}: not usable JSON ({type(err).__name__}: {str(err)[:200]}); each line of a manifest must "
                "be one JSON object with ordinary numbers and little nesting."
            ) from None
        if not isinstance(item, dict):
            raise ManifestError(
                f"{where}: a JSON {type(item).__name__}, not an object; each line of a manifest must be one JSON "
                "object."
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


_CTM_TOKEN_TYPES = ("lex", "frag", "fp", "un-lex", "for-lex", "non-lex", "misc", "noscore")


def _ctm_number(value: object, name: str) -> float:
    """``value`` as a float: a float, or a string of a non-negative decimal number (ints are refused, as in NeMo)."""
    if isinstance(value, str) and value.replace(".", "", 1).isdigit():
        return float(value)
    if isinstance(value, float):
        return value
    raise ValueError(
        f"`{name}` must be a float or a string holding a non-negative decimal number, got {type(value).__name__} "
        f"{value!r}; pass e.g. {name}=1.0 rather than 1."
    )


def get_ctm_line(
    source: str,
    channel: int | str | None,
    start_time: float | str,
    duration: float | str,
    token: str,
    conf: float | str | None,
    type_of_token: str | None,
    speaker: str | None,
    NA_token: str = "NA",
    UNK: str = "unknown",
    default_channel: str = "1",
    output_precision: int = 2,
) -> str:
    """One CTM line: ``<source> <channel> <start> <duration> <token> <conf> <type> <speaker>\\n`` (NIST RT-09 layout).

    Times and a given confidence are printed with ``output_precision`` decimals, clamped to 1..3.

    Args:
        source: recording, session or utterance name.
        channel: channel id; ``None`` writes ``default_channel``.
        start_time: word start in seconds (a float or a numeric string).
        duration: word length in seconds (a float or a numeric string).
        token: the word.
        conf: confidence in [0, 1] (a float or a numeric string); ``None`` writes ``NA_token``.
        type_of_token: one of lex, frag, fp, un-lex, for-lex, non-lex, misc, noscore; ``None`` writes ``UNK``.
        speaker: speaker name; ``None`` writes ``NA_token``.
        NA_token: text for a missing confidence or speaker.
        UNK: text for a missing token type.
        default_channel: channel written when ``channel`` is ``None``.
        output_precision: decimals of the numbers (clamped to 1..3).

    Raises:
        ValueError: a time or confidence that is not a float (ints included), a confidence outside [0, 1], an
            unknown token type, or a speaker that is not a string.
    """
    start_time = _ctm_number(start_time, "start_time")
    duration = _ctm_number(duration, "duration")
    if conf is not None:
        conf = _ctm_number(conf, "conf")
        if not 0.0 <= conf <= 1.0:
            raise ValueError(f"`conf` must be between 0 and 1, got {conf}.")
    if type_of_token is not None and type_of_token not in _CTM_TOKEN_TYPES:
        raise ValueError(
            f"`type_of_token` must be one of {list(_CTM_TOKEN_TYPES)} or None, got {type_of_token!r}."
        )
    if speaker is not None and not isinstance(speaker, str):
        raise ValueError(f"`speaker` must be a string or None, got {type(speaker).__name__} {speaker!r}.")
    decimals = min(3, max(1, output_precision))
    fields = (
        source,
        default_channel if channel is None else channel,
        f"{start_time:.{decimals}f}",
        f"{duration:.{decimals}f}",
        token,
        NA_token if conf is None else f"{conf:.{decimals}f}",
        UNK if type_of_token is None else type_of_token,
        NA_token if speaker is None else speaker,
    )
    return " ".join(str(field) for field in fields) + "\n"
