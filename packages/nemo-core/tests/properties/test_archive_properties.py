"""Property tests for the ``.nemo`` archive reader (issue 16, "Bad input, tried in bulk").

Every archive, however broken or hostile, either extracts or raises :class:`ArchiveError` (its subclass
:class:`UnsafeArchiveError` for hostile members) whose message names the archive; nothing is written outside
the extraction folder, no link, device or FIFO is ever created, and a plain tar never expands to more bytes
than it holds. ``ModelPT.restore_from`` on random bytes raises that ArchiveError and leaves no temporary
folder behind; on bit-flipped or truncated copies of a real saved model it restores or raises a documented
error type whose message names the archive, and leaves no temporary folder behind.

Archives are built byte by byte from ``tarfile`` headers (``TarInfo.tobuf``) so a member may declare a size
that differs from its data, use any type flag (links, devices, FIFOs, GNU sparse files, unknown types), and
carry names with ``..``, absolute paths, backslashes, drive letters, NUL bytes or 300-character parts.

Everything is written under one pytest temporary folder (``area``); hostile names only ever point into it.
"""

from __future__ import annotations

import gc
import gzip
import io
import os
import re
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st
from nemo.core.classes.modelPT import ModelPT
from nemo.core.connectors.archive import ArchiveError, extract_archive, read_archive_member
from nemo.core.connectors.weights import UnsafeCheckpointError
from nemo.utils.target_allowlist import UnsafeTargetError
from omegaconf import OmegaConf

EXAMPLES_RANDOM_BYTES = 100
"""Random byte strings given to ``ModelPT.restore_from``."""
EXAMPLES_RANDOM_TAR = 200
"""Random hand-built tar archives given to ``extract_archive`` and ``read_archive_member``."""
EXAMPLES_MUTATED_ARCHIVE = 100
"""Bit-flipped or truncated copies of a real saved model (plain and gzip) read by the archive functions."""
EXAMPLES_MUTATED_RESTORE = 100
"""Bit-flipped or truncated copies of a real saved model given to ``ModelPT.restore_from``."""

PROPERTY_SETTINGS = dict(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

AREA_TOKEN = "<AREA>"
"""Placeholder in generated names and link targets, replaced by the absolute path of the test's folder."""
OUT_DEPTH = ("case", "x", "y", "z", "out")
"""The extraction folder sits five levels below the area, so up to five ``..`` still land inside it."""

_TYPE_FLAGS = {
    "file": tarfile.REGTYPE,
    "contiguous": tarfile.CONTTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "chardev": tarfile.CHRTYPE,
    "blockdev": tarfile.BLKTYPE,
    "fifo": tarfile.FIFOTYPE,
    "sparse": tarfile.GNUTYPE_SPARSE,
    "unknown": b"Z",
}
_REGULAR_KINDS = ("file", "contiguous")
_SAFE_KINDS = (*_REGULAR_KINDS, "dir")
_FORMATS = (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT)


# ---------------------------------------------------------------------------------------- archive model
@dataclass(frozen=True)
class MemberSpec:
    """One tar member to write: its kind, name, real data and the size its header declares."""

    kind: str
    name: str
    data: bytes
    declared_size: int
    linkname: str
    sparse_size: int

    @property
    def honest(self) -> bool:
        """Whether the header's size matches the data that follows it (sparse headers always do)."""
        return self.kind == "sparse" or self.declared_size == len(self.data)


@dataclass(frozen=True)
class ArchiveSpec:
    """A whole archive: members, tar format, end-of-archive marker, compression and a final mutation."""

    members: tuple[MemberSpec, ...]
    tar_format: int
    end_marker: bool
    gzipped: bool
    mutation: tuple[str, int, int]

    @property
    def pristine(self) -> bool:
        """Whether the bytes are exactly what ``tarfile`` would read back member for member."""
        return self.mutation[0] == "none" and all(member.honest for member in self.members)


_SAFE_SEGMENTS = st.one_of(
    st.sampled_from(["a", "b", "model_config.yaml", "model_weights.ckpt", "é", "0123456789abcdef_vocab.txt"]),
    st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="/\\\0:."), min_size=1, max_size=6
    ),
)
_HOSTILE_SEGMENTS = st.one_of(
    _SAFE_SEGMENTS,
    st.sampled_from(["..", ".", "", "sentinel", "pwned", "C:", "\\..", "..\\..", "x" * 300]),
    st.text(min_size=1, max_size=6),  # anything, NUL, slashes and surrogate-free unicode included
)


def safe_names() -> st.SearchStrategy[str]:
    """Plausible relative names, as ``save_to`` writes them (``./name``) or close to it (``sub/name``)."""
    return st.tuples(st.sampled_from(["", "./", "./sub/", "sub/deeper/"]), _SAFE_SEGMENTS).map("".join)


@st.composite
def hostile_names(draw: st.DrawFn) -> str:
    """``..``-laden, absolute (into the area), Windows-style, over-long or odd names."""
    name = "/".join(draw(st.lists(_HOSTILE_SEGMENTS, min_size=1, max_size=5)))
    prefix = draw(st.sampled_from(["", "./", "/", f"{AREA_TOKEN}/sentinel/", "\\"]))
    return prefix + name


@st.composite
def plausible_members(draw: st.DrawFn) -> MemberSpec:
    """A file or folder with a safe name and an honest size."""
    kind = draw(st.sampled_from(["file"] * 4 + ["dir", "contiguous"]))
    data = draw(st.binary(max_size=64)) if kind != "dir" else b""
    return MemberSpec(kind, draw(safe_names()), data, len(data), "", 0)


_DECLARED = ["honest"] * 3 + ["one more", "one less", "8 GiB", "1 TiB"]


@st.composite
def twisted_members(draw: st.DrawFn) -> MemberSpec:
    """Any kind (links, devices, FIFOs, sparse, unknown), any name, any declared size."""
    kind = draw(st.sampled_from(list(_TYPE_FLAGS)))
    data = draw(st.binary(max_size=64)) if kind in (*_REGULAR_KINDS, "unknown", "sparse") else b""
    declared = {
        "honest": len(data),
        "one more": len(data) + 1,
        "one less": max(len(data) - 1, 0),
        "8 GiB": 8 << 30,
        "1 TiB": 1 << 40,
    }[draw(st.sampled_from(_DECLARED))]
    linkname = draw(
        st.sampled_from(["", "a", "../../../../../sentinel", f"{AREA_TOKEN}/sentinel", "model_config.yaml"])
    )
    # Big enough to exceed any generated archive, small enough not to fill the disk if a reader ever expands it.
    sparse_size = draw(st.sampled_from([len(data) + 1, 1 << 20, 16 << 20]))
    name = draw(st.one_of(safe_names(), hostile_names()))
    return MemberSpec(kind, name, data, declared, linkname, sparse_size)


@st.composite
def archive_specs(draw: st.DrawFn) -> ArchiveSpec:
    """Up to 4 plausible members with up to 2 twisted ones (or a duplicate) mixed in, then packing choices."""
    plausible = draw(st.lists(plausible_members(), max_size=4))
    members = list(
        {member.name.removeprefix("./"): member for member in plausible}.values()
    )  # no repeats yet
    for twist in draw(st.lists(twisted_members(), max_size=draw(st.sampled_from([0, 1, 1, 2])))):
        members.insert(draw(st.integers(0, len(members))), twist)
    if members and draw(st.integers(0, 4)) == 0:  # the same member twice: a duplicate name
        members.append(members[draw(st.integers(0, len(members) - 1))])
    mutation = draw(
        st.one_of(
            st.just(("none", 0, 0)),
            st.just(("none", 0, 0)),
            st.just(("none", 0, 0)),
            st.tuples(st.just("truncate"), st.integers(0, 10_000), st.just(0)),
            st.tuples(st.just("flip"), st.integers(0, 10_000), st.integers(1, 255)),
        )
    )
    return ArchiveSpec(
        members=tuple(members),
        tar_format=draw(st.sampled_from(_FORMATS)),
        end_marker=draw(st.sampled_from([True, True, True, False])),
        gzipped=draw(st.booleans()),
        mutation=mutation,
    )


def _sparse_header(info: tarfile.TarInfo, stored: int, real_size: int) -> bytes:
    """A GNU sparse ('S') header: ``stored`` bytes of data placed at the end of a ``real_size``-byte file."""
    info.size = stored
    block = bytearray(info.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape"))
    start = len(block) - tarfile.BLOCKSIZE  # after any GNU long-name blocks

    def put(offset: int, value: int) -> None:
        block[start + offset : start + offset + 12] = tarfile.itn(value, 12, tarfile.GNU_FORMAT)

    put(386, real_size - stored)  # first sparse map entry: where the data goes ...
    put(398, stored)  # ... and how long it is
    put(483, real_size)  # the size of the file once the holes are filled with zeros
    block[start + 148 : start + 156] = b" " * 8
    checksum = sum(block[start : start + tarfile.BLOCKSIZE])
    block[start + 148 : start + 156] = b"%06o\0 " % checksum
    return bytes(block)


def _member_bytes(member: MemberSpec, tar_format: int, area: Path) -> bytes:
    """Header (plus long-name/PAX blocks) and data, padded to 512-byte blocks, as a tar writer emits them."""
    info = tarfile.TarInfo(member.name.replace(AREA_TOKEN, str(area)))
    info.type = _TYPE_FLAGS[member.kind]
    info.linkname = member.linkname.replace(AREA_TOKEN, str(area))
    info.mode = 0o755 if member.kind == "dir" else 0o644
    info.devmajor, info.devminor = (1, 3) if member.kind in ("chardev", "blockdev") else (0, 0)
    info.size = member.declared_size
    if member.kind == "sparse":
        header = _sparse_header(info, len(member.data), member.sparse_size)
    else:
        try:
            header = info.tobuf(tar_format, "utf-8", "surrogateescape")
        except ValueError:  # e.g. a name or size USTAR cannot hold: GNU can
            header = info.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")
    padding = -len(member.data) % tarfile.BLOCKSIZE
    return header + member.data + b"\0" * padding


def build_archive(spec: ArchiveSpec, area: Path) -> bytes:
    """The archive's bytes: members, end marker, optional gzip, then the mutation."""
    data = b"".join(_member_bytes(member, spec.tar_format, area) for member in spec.members)
    if spec.end_marker:
        data += b"\0" * (2 * tarfile.BLOCKSIZE)
    if spec.gzipped:
        data = gzip.compress(data, compresslevel=1, mtime=0)
    return mutate(data, spec.mutation)


def mutate(data: bytes, mutation: tuple[str, int, int]) -> bytes:
    """Apply ``("none"|"truncate"|"flip", position, xor mask)``; positions wrap around the length."""
    kind, position, mask = mutation
    if kind == "none" or not data:
        return data
    position %= len(data)
    if kind == "truncate":
        return data[:position]
    flipped = bytearray(data)
    flipped[position] ^= mask
    return bytes(flipped)


# ---------------------------------------------------------------------------------------- oracles
def _name_parts(name: str) -> list[str]:
    return [part for part in re.split(r"[/\\]", name) if part not in ("", ".")]


def must_be_refused(member: MemberSpec, area: Path) -> bool:
    """Whether the documented rules forbid this member: not a regular file or folder, absolute, or ``..``.

    Names holding NUL are left out: tar headers cut them at the NUL, so what the reader sees differs.
    """
    name = member.name.replace(AREA_TOKEN, str(area))
    if "\0" in name:
        return member.kind not in _SAFE_KINDS
    if member.kind == "dir":
        name = name.rstrip("/")
    parts = _name_parts(name)
    absolute = name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":")
    regular_at_root = member.kind in _REGULAR_KINDS and not parts
    too_long = any(len(part.encode("utf-8", "surrogateescape")) > 255 for part in parts)
    return member.kind not in _SAFE_KINDS or absolute or ".." in parts or regular_at_root or too_long


def archive_must_be_refused(spec: ArchiveSpec, area: Path) -> bool:
    """Whether a pristine archive must be refused as a whole: a forbidden member, a file name used twice,
    or a name used both as a file and as a folder (NUL names left out, as in :func:`must_be_refused`)."""
    if any(must_be_refused(member, area) for member in spec.members):
        return True
    files: list[tuple[str, ...]] = []
    folders: set[tuple[str, ...]] = set()
    for member in spec.members:
        if "\0" in member.name:
            continue
        parts = tuple(_name_parts(member.name))
        folders.update(parts[:end] for end in range(1, len(parts)))
        if member.kind in _REGULAR_KINDS:
            files.append(parts)
        else:
            folders.add(parts)
    return len(set(files)) != len(files) or any(parts in folders for parts in files)


def snapshot(root: Path, skip: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` (``skip``'s subtree left out) -> (file type and mode, size), links not followed."""
    found: dict[str, tuple[int, int]] = {}
    for folder, dirs, files in os.walk(root):
        if Path(folder) == skip:
            dirs[:] = []
            continue
        for name in dirs + files:
            path = Path(folder) / name
            if path == skip:
                continue
            info = path.lstat()
            found[str(path.relative_to(root))] = (info.st_mode, info.st_size)
    return found


def assert_clean_tree(out: Path) -> int:
    """Everything under ``out`` is a plain file or folder; returns the total bytes of the files."""
    total = 0
    for folder, dirs, files in os.walk(out):
        for name in dirs + files:
            mode = (Path(folder) / name).lstat().st_mode
            assert stat.S_ISREG(mode) or stat.S_ISDIR(mode), f"{Path(folder) / name} is {stat.filemode(mode)}"
            if stat.S_ISREG(mode):
                total += (Path(folder) / name).lstat().st_size
    return total


_REASONS = (
    "appears twice",
    "both a file and a folder",
    "absolute path",
    "'..' component",
    "symbolic link",
    "hard link",
    "device file",
    "FIFO",
    "sparse file",
    "tar type",
    "archive root",
    "NUL character",
    "longer than",
    "not a .nemo archive",
    "Cannot list",
    "Cannot read member",
    "Cannot extract member",
    "has no member",
)


def reason(error: BaseException) -> str:
    """A short label of why the archive was refused, for hypothesis' statistics (``--hypothesis-show-statistics``)."""
    text = str(error)
    return next((label for label in _REASONS if label in text), "other")


def assert_names_archive(error: BaseException, archive: Path) -> None:
    assert str(archive) in str(error), f"the message does not name {archive}: {error}"


# ---------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def area(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one folder these properties write in; holds a ``sentinel`` folder hostile names aim at."""
    folder = tmp_path_factory.mktemp("archive_properties")
    (folder / "sentinel").mkdir()
    (folder / "sentinel" / "keep.txt").write_text("must stay as it is\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def fresh_case(area: Path) -> Iterator[Callable[[], Path]]:
    """Returns a function giving an empty ``area/case`` folder (wiped between hypothesis examples)."""

    def make() -> Path:
        case = area / OUT_DEPTH[0]
        shutil.rmtree(case, ignore_errors=True)
        case.mkdir()
        return case

    yield make
    shutil.rmtree(area / OUT_DEPTH[0], ignore_errors=True)


class _RoutedTempdir:
    """Routes ``tempfile``'s default folder into ``folder`` while active, so leftovers can be seen."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __enter__(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._saved = tempfile.tempdir
        tempfile.tempdir = str(self.folder)
        return self.folder

    def __exit__(self, *exc_info: object) -> None:
        tempfile.tempdir = self._saved


# ------------------------------------------------------------------------------------ (a) random tars
def check_extraction(archive_path: Path, spec: ArchiveSpec | None, area: Path, out: Path) -> None:
    """The extraction property for one archive file (``spec`` None: unknown content)."""
    before = snapshot(area, skip=out)
    try:
        written = extract_archive(archive_path, out)
    except ArchiveError as error:
        assert_names_archive(error, archive_path)
        event(f"extract_archive: {type(error).__name__} ({reason(error)})")
        written = None
    assert snapshot(area, skip=out) == before, "something was written or changed outside the output folder"
    total = assert_clean_tree(out)
    if written is None:
        if spec is not None and spec.pristine and archive_must_be_refused(spec, area):
            # Members are all checked before the first byte is written.
            assert not any(out.iterdir()), f"a refused archive still wrote {sorted(out.rglob('*'))}"
        return
    event("extract_archive: extracted")
    for path in written:
        assert path.resolve().is_relative_to(out.resolve()) and path.is_file() and not path.is_symlink()
    if spec is None:
        return
    if not spec.gzipped:
        # A plain tar holds its files' bytes: extracting can never write more than the archive's size.
        assert total <= archive_path.stat().st_size
    if spec.pristine:
        assert not archive_must_be_refused(spec, area), "extracted although the archive must be refused"
        for member in spec.members:
            if member.kind in _REGULAR_KINDS and "\0" not in member.name:
                target = out.joinpath(*_name_parts(member.name))
                assert target.read_bytes() == member.data, f"{member.name!r} came out with other bytes"


def check_member_read(archive_path: Path, spec: ArchiveSpec | None, area: Path) -> None:
    """``read_archive_member`` returns the member's bytes, or FileNotFoundError/ArchiveError naming the file."""
    before = snapshot(area, skip=area / "no such folder")
    try:
        data = read_archive_member(archive_path, "model_config.yaml")
    except (ArchiveError, FileNotFoundError) as error:
        assert_names_archive(error, archive_path)
        event(f"read_archive_member: {type(error).__name__} ({reason(error)})")
        data = None
    assert snapshot(area, skip=area / "no such folder") == before, "read_archive_member wrote to disk"
    if data is not None and spec is not None and spec.pristine:
        assert not archive_must_be_refused(spec, area), "read a member of an archive that must be refused"
        (member,) = [
            m
            for m in spec.members
            if m.kind in _REGULAR_KINDS and _name_parts(m.name) == ["model_config.yaml"]
        ]
        assert data == member.data


def _pristine(*members: MemberSpec, tar_format: int = tarfile.GNU_FORMAT) -> ArchiveSpec:
    return ArchiveSpec(members, tar_format, end_marker=True, gzipped=False, mutation=("none", 0, 0))


def _file(name: str, data: bytes = b"data") -> MemberSpec:
    return MemberSpec("file", name, data, len(data), "", 0)


def _dir(name: str) -> MemberSpec:
    return MemberSpec("dir", name, b"", 0, "", 0)


REGRESSIONS = {
    # Bugs these properties found (always run, before the generated examples):
    "sparse file expanding to 16 MiB": _pristine(MemberSpec("sparse", "./big", b"x", 1, "", 16 << 20)),
    "file, then a folder of the same name": _pristine(_file("./x"), _dir("./x")),
    "folder, then a file of the same name": _pristine(_dir("./x"), _file("./x")),
    "file used as a parent folder": _pristine(_file("./x"), _file("./x/y")),
    "300-byte name part, after a good file": _pristine(_file("./a"), _file("./" + "x" * 300)),
    "NUL inside a PAX name": _pristine(_file("./a"), _file("./é\0b"), tar_format=tarfile.PAX_FORMAT),
    "member data cut short by the end of the file (caught while listing)": ArchiveSpec(
        (MemberSpec("file", "./model_config.yaml", b"abc", 4096, "", 0),),
        tarfile.GNU_FORMAT,
        end_marker=False,
        gzipped=False,
        mutation=("none", 0, 0),
    ),
    # Classic attacks, kept as fixed examples too:
    "symlink out, then a file through it": _pristine(
        MemberSpec("symlink", "./link", b"", 0, f"{AREA_TOKEN}/sentinel", 0), _file("./link/pwned")
    ),
    "dot-dot into the sentinel": _pristine(_file("../../../../../sentinel/pwned")),
    "absolute into the sentinel": _pristine(_file(f"{AREA_TOKEN}/sentinel/pwned")),
    "hard link to the sentinel": _pristine(
        MemberSpec("hardlink", "./keep.txt", b"", 0, f"{AREA_TOKEN}/sentinel/keep.txt", 0)
    ),
}


def _with_regressions(test):
    for spec in REGRESSIONS.values():
        test = example(spec=spec)(test)
    return test


@settings(max_examples=EXAMPLES_RANDOM_TAR, **PROPERTY_SETTINGS)
@_with_regressions
@given(spec=archive_specs())
def test_random_tar_extracts_inside_or_raises_archive_error(area, fresh_case, spec):
    case = fresh_case()
    archive_path = case / "model.nemo"
    archive_path.write_bytes(build_archive(spec, area))
    out = case.joinpath(*OUT_DEPTH[1:])
    out.mkdir(parents=True)
    check_extraction(archive_path, spec, area, out)
    check_member_read(archive_path, spec, area)


def test_paths_the_file_system_refuses_raise_archive_error(area, fresh_case):
    """Every name part fits, but the whole path does not (PATH_MAX): ArchiveError naming the member, not OSError.

    Checked both where the folders are made and where the file itself is opened.
    """
    case = fresh_case()
    out = case.joinpath(*OUT_DEPTH[1:])
    out.mkdir(parents=True)
    folders_too_deep = "/".join(["d" * 250] * 20)
    # Folders just under PATH_MAX (4096 bytes with the final NUL), the file, 256 bytes more, over it.
    fitting_folders = "/".join(["d" * 250] * ((4090 - len(str(out))) // 251))
    for name in (f"./{folders_too_deep}/f", f"./{fitting_folders}/{'f' * 255}"):
        archive_path = case / "deep.nemo"
        archive_path.write_bytes(build_archive(_pristine(_file(name)), area))
        try:
            extract_archive(archive_path, out)
        except ArchiveError as error:
            assert_names_archive(error, archive_path)
            assert "Cannot extract member" in str(error) and "File name too long" in str(error)
        else:
            pytest.fail(f"a {len(str(out / name))}-byte path was extracted")
        shutil.rmtree(out)
        out.mkdir()


@settings(max_examples=EXAMPLES_RANDOM_BYTES, **PROPERTY_SETTINGS)
@given(
    data=st.one_of(
        st.binary(max_size=2048),
        st.binary(max_size=2048).map(lambda tail: b"\x1f\x8b\x08\x00" + tail),  # gzip magic, then noise
        st.binary(min_size=1, max_size=2048).map(lambda tail: gzip.compress(tail, mtime=0)),  # gzip, not tar
    )
)
def test_random_bytes_restore_raises_archive_error_naming_the_file(area, fresh_case, data):
    case = fresh_case()
    archive_path = case / "model.nemo"
    archive_path.write_bytes(data)
    out = case.joinpath(*OUT_DEPTH[1:])
    out.mkdir(parents=True)
    check_extraction(archive_path, None, area, out)
    with _RoutedTempdir(case / "tmp") as temp_root:
        with pytest.raises(ArchiveError) as info:
            TinyModel.restore_from(str(archive_path), map_location="cpu")
        assert_names_archive(info.value, archive_path)
        del info  # the traceback keeps restore's frames (and so its temporary folder object) alive
        assert list(temp_root.iterdir()) == [], "restore_from leaked a temporary folder"


# ------------------------------------------------------------------------ (b) mutated real archives
class TinyModel(ModelPT):
    """A 3 -> 2 linear layer with one artifact (a word list); no data, no training."""

    def __init__(self, cfg, trainer=None):
        super().__init__(cfg=cfg, trainer=trainer)
        self.layer = torch.nn.Linear(3, 2)
        self.vocab: list[str] = []
        if self.cfg.get("vocab_file"):  # .get: a damaged archive may have lost the key
            vocab = self.register_artifact("vocab_file", self.cfg.vocab_file)
            # errors="replace": a damaged vocabulary must not fail the model's own code, so that the restore
            # properties below test the connector's errors, not this test model's.
            self.vocab = Path(vocab).read_text(encoding="utf-8", errors="replace").split()

    def setup_training_data(self, train_data_config):
        self._train_dl = None

    def setup_validation_data(self, val_data_config):
        self._validation_dl = None

    @classmethod
    def list_available_models(cls):
        return []


VOCAB = ["alpha", "beta", "gamma"]


class SavedArchives(dict):
    """``{"plain": bytes, "gzip": bytes}`` with a short repr (hypothesis prints the arguments of a failure).

    ``spans`` holds ``(offset, size)`` of each regular member's data in the plain archive.
    """

    spans: list[tuple[int, int]]

    def __repr__(self) -> str:
        sizes = ", ".join(f"{flavour}: {len(data)} bytes" for flavour, data in self.items())
        return f"SavedArchives({sizes})"


@pytest.fixture(scope="module")
def saved_archives(tmp_path_factory: pytest.TempPathFactory) -> SavedArchives:
    """A real model saved with ``save_to`` (plain tar, as NeMo 1.23 writes) and the same members gzipped."""
    folder = tmp_path_factory.mktemp("saved_model")
    vocab = folder / "vocab.txt"
    vocab.write_text(" ".join(VOCAB) + "\n", encoding="utf-8")
    model = TinyModel(OmegaConf.create({"vocab_file": str(vocab), "hidden": 3}))
    archive = folder / "tiny.nemo"
    with _RoutedTempdir(folder / "tmp"):  # save_to packs in a temporary folder
        model.save_to(str(archive))
    plain = archive.read_bytes()
    with tarfile.open(archive, "r:") as tar:
        spans = [(member.offset_data, member.size) for member in tar.getmembers() if member.isreg()]
    assert len(spans) == 3  # config, artifact, weights
    buffer = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r:") as source:
        with tarfile.open(fileobj=buffer, mode="w:gz") as target:
            for member in source.getmembers():
                target.addfile(member, source.extractfile(member) if member.isreg() else None)
    archives = SavedArchives(plain=plain, gzip=buffer.getvalue())
    archives.spans = spans
    return archives


def test_saved_archive_restores_unchanged(area, fresh_case, saved_archives):
    """The unmutated archives restore: the mutated-archive properties start from a working file."""
    case = fresh_case()
    for flavour, data in saved_archives.items():
        path = case / f"{flavour}.nemo"
        path.write_bytes(data)
        with _RoutedTempdir(case / "tmp"):
            model = TinyModel.restore_from(str(path), map_location="cpu")
        assert model.vocab == VOCAB and model.layer.weight.shape == (2, 3)


_STEP = st.one_of(
    # Anywhere in the file (headers, padding, gzip stream) ...
    st.tuples(st.just("flip"), st.none(), st.integers(0, 1 << 20), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.none(), st.integers(0, 1 << 20), st.just(0)),
    # ... or inside one member's data (plain archives): the config YAML, the artifact, the weights.
    st.tuples(st.just("flip"), st.integers(0, 2), st.integers(0, 1 << 20), st.integers(1, 255)),
)
mutations = st.tuples(st.sampled_from(["plain", "gzip"]), st.lists(_STEP, min_size=1, max_size=3))


def apply_mutations(archives: SavedArchives, flavour: str, steps: list[tuple]) -> bytes:
    """The ``flavour`` archive with each ``(kind, member index or None, position, xor mask)`` step applied.

    A member index (plain archives only) moves the position into that member's data.
    """
    data = archives[flavour]
    for kind, member_index, position, mask in steps:
        if member_index is not None and flavour == "plain":
            start, size = archives.spans[member_index % len(archives.spans)]
            position = start + position % max(size, 1)
        data = mutate(data, (kind, position, mask))
    return data


@settings(max_examples=EXAMPLES_MUTATED_ARCHIVE, **PROPERTY_SETTINGS)
@given(mutation=mutations)
def test_mutated_saved_archive_extracts_or_raises_archive_error(area, fresh_case, saved_archives, mutation):
    flavour, steps = mutation
    case = fresh_case()
    archive_path = case / "model.nemo"
    archive_path.write_bytes(apply_mutations(saved_archives, flavour, steps))
    out = case.joinpath(*OUT_DEPTH[1:])
    out.mkdir(parents=True)
    check_extraction(archive_path, None, area, out)
    check_member_read(archive_path, None, area)


DOCUMENTED_RESTORE_ERRORS = (
    ArchiveError,
    FileNotFoundError,
    UnsafeTargetError,
    UnsafeCheckpointError,
    ValueError,
    RuntimeError,
)
"""What ``restore_from`` documents for a missing, corrupt or unsafe archive (``ArchiveError`` is a ValueError;
``RuntimeError`` is torch's strict state-dict check, when a flipped byte renames or reshapes a tensor)."""


class RestoreContractViolation(AssertionError):
    """``restore_from`` broke the documented contract for a damaged archive (see the full-contract test)."""


def restore_mutated(archive_path: Path, temp_root: Path) -> BaseException | None:
    """Restore ``archive_path`` with temporary folders under ``temp_root``; the error raised, or None."""
    with _RoutedTempdir(temp_root):
        try:
            model = TinyModel.restore_from(str(archive_path), map_location="cpu")
        except Exception as error:  # noqa: BLE001 - sorted by the callers
            return error
    assert isinstance(model, TinyModel) and model.layer.weight.shape == (2, 3)
    return None


@settings(max_examples=EXAMPLES_MUTATED_RESTORE, **PROPERTY_SETTINGS)
@given(mutation=mutations)
def test_mutated_saved_archive_restores_or_raises_known_error(area, fresh_case, saved_archives, mutation):
    """What holds today: restore works or raises a documented (or known, reported) error; an ArchiveError
    names the archive; every temporary folder is gone once the error is dropped."""
    flavour, steps = mutation
    case = fresh_case()
    archive_path = case / "model.nemo"
    archive_path.write_bytes(apply_mutations(saved_archives, flavour, steps))
    error = restore_mutated(archive_path, case / "tmp")
    event(f"restore_from: {'restored' if error is None else type(error).__name__}")
    if error is None:
        return  # the restored model owns its extracted folder; the case folder is wiped next
    if not isinstance(error, DOCUMENTED_RESTORE_ERRORS):
        raise error
    if isinstance(error, ArchiveError):
        assert_names_archive(error, archive_path)
    del error
    if list((case / "tmp").iterdir()):
        gc.collect()  # slow (a quarter second with torch loaded), so only when something is left
    assert list((case / "tmp").iterdir()) == [], "restore_from leaked a temporary folder"


@settings(
    max_examples=EXAMPLES_MUTATED_RESTORE,
    report_multiple_bugs=False,
    phases=[Phase.explicit, Phase.generate],  # stop at the first violation: no shrinking
    **PROPERTY_SETTINGS,
)
@given(mutation=mutations)
def test_mutated_saved_archive_restore_full_contract(area, fresh_case, saved_archives, mutation):
    """The whole contract: restore works, or raises a documented error type whose message names the archive
    and leaves no temporary folder behind, without waiting for garbage collection."""
    flavour, steps = mutation
    case = fresh_case()
    archive_path = case / "model.nemo"
    archive_path.write_bytes(apply_mutations(saved_archives, flavour, steps))
    error = restore_mutated(archive_path, case / "tmp")
    if error is None:
        return
    leftovers = list((case / "tmp").iterdir())
    if not isinstance(error, DOCUMENTED_RESTORE_ERRORS):
        raise RestoreContractViolation(f"raw {type(error).__name__} from restore_from: {error}") from error
    if str(archive_path) not in str(error):
        raise RestoreContractViolation(f"{type(error).__name__} does not name {archive_path}: {error}")
    if leftovers:
        raise RestoreContractViolation(f"restore_from left {leftovers} behind")
