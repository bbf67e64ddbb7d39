"""Safe reading and atomic writing of ``.nemo`` archives.

A ``.nemo`` file is an uncompressed tar (NeMo 1.23) or a gzip-compressed one (older NeMo) holding
``./model_config.yaml``, ``./model_weights.ckpt`` and artifacts ``./<32 hex>_<basename>``.

Reading never trusts the archive: every member is checked before anything is written, and only
regular files and folders with relative, ``..``-free names are accepted (no links, devices, FIFOs or
sparse files, whose declared size could fill the disk), a name is never both a file and a folder, and
names must fit the file system (no NUL, at most 255 bytes per part).
Files are then copied out one by one into a folder the caller created; ``tarfile.extractall`` is never
used on archive members.

Writing builds the tar next to the destination as ``<name>.tmp-<random>`` and renames it over the
destination only once it is complete, so a crash never leaves a truncated ``.nemo`` behind.
"""

from __future__ import annotations

import contextlib
import os
import tarfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from nemo.utils.atomic_write import write_atomically

__all__ = [
    "ArchiveError",
    "UnsafeArchiveError",
    "check_archive_members",
    "extract_archive",
    "open_archive",
    "read_archive_member",
    "write_archive",
]

_COPY_CHUNK = 1 << 20
_NAME_MAX = 255
"""Longest file or folder name, in bytes, that common file systems (ext4, XFS, APFS, NTFS) accept."""
_READ_ERRORS = (tarfile.TarError, EOFError, OSError, zlib.error)
"""What reading a damaged plain or gzip-compressed tar raises (zlib.error: corrupt compressed data)."""


class ArchiveError(ValueError):
    """A file given as a ``.nemo`` archive is missing, corrupt or not a tar archive."""


class UnsafeArchiveError(ArchiveError):
    """A ``.nemo`` archive holds a member that could write outside the extraction folder."""


@contextlib.contextmanager
def open_archive(archive_path: str | os.PathLike[str]) -> Iterator[tarfile.TarFile]:
    """Open a ``.nemo`` file for reading: plain tar first, then gzip-compressed tar (older NeMo).

    Args:
        archive_path: path of the ``.nemo`` file.

    Yields:
        The open :class:`tarfile.TarFile`.

    Raises:
        FileNotFoundError: no file at ``archive_path``.
        ArchiveError: the file is neither an uncompressed nor a gzip-compressed tar archive.
    """
    path = Path(archive_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No .nemo file at {str(path)!r} (absolute: {str(path.absolute())!r}). "
            "Check the path, or save a model there first with model.save_to(path)."
        )
    errors = []
    for mode in ("r:", "r:gz"):
        try:
            tar = tarfile.open(path, mode=mode)
        except (tarfile.TarError, EOFError, OSError) as error:
            errors.append(f"{mode}: {error}")
            continue
        try:
            yield tar
        finally:
            tar.close()
        return
    raise ArchiveError(
        f"{str(path)!r} is not a .nemo archive: it is neither an uncompressed nor a gzip-compressed tar "
        f"file ({'; '.join(errors)}). The file may be truncated or not a .nemo at all; save the model again "
        "with model.save_to(path) or download it again."
    )


def _normalized_name(member: tarfile.TarInfo, archive_path: str) -> str:
    """The member's path relative to the archive root (``""`` for the root itself); refuses unsafe names."""
    name = member.name
    windows_drive = len(name) > 1 and name[1] == ":"
    if name.startswith(("/", "\\")) or windows_drive:
        raise UnsafeArchiveError(
            f"Refusing to extract {archive_path!r}: member {name!r} has an absolute path, which would write "
            "outside the extraction folder. A .nemo archive only holds relative names like "
            "'./model_config.yaml'; do not load this file, or re-create it with model.save_to()."
        )
    parts = [part for part in PurePosixPath(name.replace("\\", "/")).parts if part != "."]
    if ".." in parts:
        raise UnsafeArchiveError(
            f"Refusing to extract {archive_path!r}: member {name!r} contains a '..' component, which would "
            "write outside the extraction folder. Do not load this file, or re-create it with model.save_to()."
        )
    return "/".join(parts)


def _kind(member: tarfile.TarInfo) -> str:
    if member.issparse():
        return f"a sparse file declaring {member.size} bytes, which could fill the disk when written out"
    if member.issym():
        return f"a symbolic link to {member.linkname!r}"
    if member.islnk():
        return f"a hard link to {member.linkname!r}"
    if member.ischr() or member.isblk():
        return "a device file"
    if member.isfifo():
        return "a FIFO"
    return f"an entry of tar type {member.type!r}"


def check_archive_members(
    tar: tarfile.TarFile, archive_path: str | os.PathLike[str]
) -> list[tarfile.TarInfo]:
    """Check every member of an open archive; return them only if all are safe to extract.

    Args:
        tar: the archive, open for reading.
        archive_path: its path, quoted in errors.

    Returns:
        All members, each a regular file or a folder with a relative, ``..``-free name.

    Raises:
        UnsafeArchiveError: a member has an absolute name or a ``..`` component, is a link, device,
            FIFO, sparse file or anything else that is not a regular file or folder, a file name repeats,
            or a name is used both as a file and as a folder.
        ArchiveError: the member list cannot be read (truncated or corrupt archive), or a name holds a
            NUL character or a part longer than 255 bytes.
    """
    where = str(archive_path)
    try:
        members = tar.getmembers()
    except _READ_ERRORS as error:
        raise ArchiveError(
            f"Cannot list the members of {where!r}: {error}. The archive is truncated or corrupt; "
            "save or download it again."
        ) from error
    seen_files: set[str] = set()
    seen_dirs: set[str] = set()
    for member in members:
        name = _normalized_name(member, where)
        if member.issparse() or not (member.isreg() or member.isdir()):
            raise UnsafeArchiveError(
                f"Refusing to extract {where!r}: member {member.name!r} is {_kind(member)}; a .nemo archive "
                "only holds regular files and folders. Do not load this file, or re-create it with "
                "model.save_to()."
            )
        _check_name_fits(member, name, where)
        if member.isreg():
            if not name:
                raise UnsafeArchiveError(
                    f"Refusing to extract {where!r}: member {member.name!r} is a file named like the "
                    "archive root. Re-create the archive with model.save_to()."
                )
            if name in seen_files:
                raise UnsafeArchiveError(
                    f"Refusing to extract {where!r}: member {member.name!r} appears twice, so one copy "
                    "would silently replace the other. Re-create the archive with model.save_to()."
                )
        parents = _parents(name)
        clash = next((folder for folder in parents if folder in seen_files), None)
        if clash is None and name in (seen_dirs if member.isreg() else seen_files):
            clash = name
        if clash is not None:
            raise UnsafeArchiveError(
                f"Refusing to extract {where!r}: member {member.name!r} needs {clash!r} to be both a file "
                "and a folder, so one would replace the other. Re-create the archive with model.save_to()."
            )
        seen_dirs.update(parents)
        (seen_files if member.isreg() else seen_dirs).add(name)
    return members


def _parents(name: str) -> list[str]:
    """The folders a normalized member name lies in: ``"a/b/c"`` -> ``["a", "a/b"]``."""
    parts = name.split("/")
    return ["/".join(parts[:end]) for end in range(1, len(parts))]


def _check_name_fits(member: tarfile.TarInfo, name: str, where: str) -> None:
    """Refuse a name no file system can hold: a NUL byte, or a part longer than 255 bytes."""
    problem = None
    if "\0" in name:
        problem = "contains a NUL character"
    else:
        for part in name.split("/"):
            try:
                size = len(os.fsencode(part))
            except UnicodeError:
                problem = f"has a part ({part!r}) that cannot be encoded as a file name"
                break
            if size > _NAME_MAX:
                problem = f"has a part of {size} bytes, longer than the {_NAME_MAX} a file name may have"
                break
    if problem is not None:
        raise ArchiveError(
            f"Cannot extract {where!r}: member {member.name!r} {problem}. The archive was not written by "
            "model.save_to(); re-create it with model.save_to() or download it again."
        )


def _copy_member(tar: tarfile.TarFile, member: tarfile.TarInfo, destination: Path, where: str) -> None:
    """Copy one checked regular member to ``destination`` (which must not exist yet)."""
    source = tar.extractfile(member)
    if source is None:
        raise ArchiveError(f"Cannot read member {member.name!r} of {where!r}; the archive is corrupt.")
    with source:
        try:
            target = open(destination, "xb")
        except OSError as error:
            raise _write_error(member, where, destination, error) from error
        with target:
            while chunk := source.read(_COPY_CHUNK):
                try:
                    target.write(chunk)
                except OSError as error:
                    raise _write_error(member, where, destination, error) from error


def _write_error(member: tarfile.TarInfo, where: str, destination: Path, error: OSError) -> ArchiveError:
    return ArchiveError(
        f"Cannot extract member {member.name!r} of {where!r} to {str(destination)!r}: {error}. Check that "
        "the folder is writable and has free space; if the member's name is the problem, re-create the "
        "archive with model.save_to()."
    )


def _read_error(member: tarfile.TarInfo, where: str, error: BaseException) -> ArchiveError:
    return ArchiveError(
        f"Cannot read member {member.name!r} of {where!r}: {error}. The archive is truncated or corrupt; "
        "save or download it again."
    )


def extract_archive(
    archive_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    only: Callable[[str], bool] | None = None,
) -> list[Path]:
    """Check every member of a ``.nemo`` archive, then copy its files into ``out_dir``.

    Args:
        archive_path: the ``.nemo`` file.
        out_dir: an existing, empty folder (e.g. a fresh ``tempfile.TemporaryDirectory``).
        only: when given, copy only the files whose normalized member name it accepts (all members are
            still checked first).

    Returns:
        Paths of the files written, in archive order.

    Raises:
        FileNotFoundError: ``archive_path`` does not exist.
        ArchiveError: the file is not a readable tar archive, a member's data is truncated or corrupt, or
            a file cannot be written into ``out_dir`` (the message names the member and the OS error).
        UnsafeArchiveError: a member is unsafe (see :func:`check_archive_members`); nothing was written.
    """
    where = str(archive_path)
    root = Path(out_dir)
    written: list[Path] = []
    with open_archive(archive_path) as tar:
        members = check_archive_members(tar, where)
        for member in members:
            name = _normalized_name(member, where)
            if not name or (only is not None and not member.isdir() and not only(name)):
                continue
            destination = root.joinpath(*name.split("/"))
            folder = destination if member.isdir() else destination.parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise _write_error(member, where, folder, error) from error
            if member.isdir():
                continue
            try:
                _copy_member(tar, member, destination, where)
            except ArchiveError:
                raise
            except _READ_ERRORS as error:
                raise _read_error(member, where, error) from error
            written.append(destination)
    return written


def read_archive_member(archive_path: str | os.PathLike[str], member_name: str) -> bytes:
    """Read one file of a ``.nemo`` archive into memory, writing nothing to disk.

    The whole member list is checked first, as for extraction. ``member_name`` matches with or without
    the leading ``./`` that NeMo writes.

    Args:
        archive_path: the ``.nemo`` file.
        member_name: e.g. ``"model_config.yaml"``.

    Returns:
        The member's bytes.

    Raises:
        FileNotFoundError: the archive or the member does not exist (the message lists the members).
        ArchiveError: the file is not a readable tar archive.
        UnsafeArchiveError: a member is unsafe.
    """
    where = str(archive_path)
    wanted = _normalized_name(tarfile.TarInfo(member_name), "member_name argument")
    with open_archive(archive_path) as tar:
        members = check_archive_members(tar, where)
        for member in members:
            if member.isreg() and _normalized_name(member, where) == wanted:
                source = tar.extractfile(member)
                if source is None:
                    raise ArchiveError(
                        f"Cannot read member {member.name!r} of {where!r}; the archive is corrupt."
                    )
                with source:
                    return source.read()
    names = [member.name for member in members]
    raise FileNotFoundError(
        f"{where!r} has no member {member_name!r}; it holds {names}. A .nemo archive needs "
        "'./model_config.yaml' and './model_weights.ckpt'; re-create it with model.save_to()."
    )


def _add_tree(tar: tarfile.TarFile, folder: Path, arcname: str) -> None:
    """Add ``folder`` and what it holds, names sorted, as ``tar.add`` would but refusing links."""
    tar.add(folder, arcname=arcname, recursive=False)
    for entry in sorted(os.listdir(folder)):
        path = folder / entry
        member_name = f"{arcname}/{entry}"
        if path.is_symlink():
            raise ValueError(
                f"Cannot pack {str(path)!r} into a .nemo archive: it is a symbolic link. Copy the file it "
                "points to into the folder instead."
            )
        if path.is_dir():
            _add_tree(tar, path, member_name)
        elif path.is_file():
            tar.add(path, arcname=member_name, recursive=False)
        else:
            raise ValueError(
                f"Cannot pack {str(path)!r} into a .nemo archive: it is not a regular file or folder."
            )


def write_archive(save_path: str | os.PathLike[str], source_dir: str | os.PathLike[str]) -> Path:
    """Pack ``source_dir`` into an uncompressed ``.nemo`` tar at ``save_path``, atomically.

    Members are named as NeMo 1.23 names them: ``./`` for the root, then ``./<name>`` for each file,
    sorted by name. The tar is written to ``<save_path>.tmp-<random>`` in the destination folder, flushed
    to disk, then renamed over ``save_path``; on any error the temporary file is removed and an existing
    ``save_path`` is left untouched.

    Args:
        save_path: destination ``.nemo`` path; its folder must exist.
        source_dir: folder holding ``model_config.yaml``, ``model_weights.ckpt`` and artifacts.

    Returns:
        ``save_path`` as a :class:`~pathlib.Path`.

    Raises:
        FileNotFoundError: the destination folder does not exist.
        ValueError: ``source_dir`` holds a link or a special file.
    """
    destination = Path(save_path)
    folder = destination.parent
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Cannot save {str(destination)!r}: folder {str(folder)!r} does not exist. Create it first."
        )

    def pack(stream: IO[bytes]) -> None:
        with tarfile.open(fileobj=stream, mode="w:") as tar:
            _add_tree(tar, Path(source_dir), ".")

    write_atomically(destination, pack)
    return destination
