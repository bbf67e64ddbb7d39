"""Paths to data that may live in an object store (NeMo's ``nemo.utils.data_utils``).

NeMo scripts pass every manifest or tokenizer corpus through :class:`DataStoreObject` so that an
``ais://bucket/object`` path (AIStore) is fetched into a local cache first, and a plain path is used as it is.
This rebuild works offline: a store path resolves to its place in the local cache
(``$NEMO_DATA_STORE_CACHE_DIR`` or ``<cache dir>/ais``, then ``<host>/<port>/<bucket>/<object>``), and an object
that is not already there raises :class:`DataStoreUnavailableError` instead of being downloaded. Local paths
are returned unchanged, so scripts such as ``scripts/tokenizers/process_asr_text_tokenizer.py`` run as they are.

Example:
    >>> DataStoreObject("/data/train_manifest.json").get()
    '/data/train_manifest.json'
    >>> bucket_and_object_from_uri("ais://speech/train/manifest.json")
    ('speech', 'train/manifest.json')
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath

from nemo import constants
from nemo.utils.model_utils import resolve_cache_dir

__all__ = [
    "DataStoreObject",
    "DataStoreUnavailableError",
    "ais_binary",
    "ais_cache_base",
    "ais_endpoint",
    "ais_endpoint_to_dir",
    "bucket_and_object_from_uri",
    "datastore_object_get",
    "datastore_path_to_local_path",
    "datastore_path_to_webdataset_url",
    "get_datastore_object",
    "is_datastore_cache_shared",
    "is_datastore_path",
    "is_tarred_path",
    "resolve_cache_dir",
]

_AIS_SCHEME = "ais://"
_AIS_ENDPOINT_VARIABLE = "AIS_ENDPOINT"
_DEFAULT_AIS_BINARY = "/usr/local/bin/ais"


class DataStoreUnavailableError(RuntimeError):
    """An object-store path whose object is not in the local cache: this package never downloads it."""


def is_datastore_path(path: str) -> bool:
    """Whether ``path`` names an object in a data store (only AIStore, ``ais://``, is known)."""
    return str(path).startswith(_AIS_SCHEME)


def is_tarred_path(path: str) -> bool:
    """Whether ``path`` names a ``.tar`` file (a shard of a tarred dataset)."""
    return str(path).endswith(".tar")


def is_datastore_cache_shared() -> bool:
    """Whether the data-store cache is shared between nodes: ``$NEMO_DATA_STORE_CACHE_SHARED`` 1 (default) or 0.

    Raises:
        ValueError: the variable holds anything other than ``0`` or ``1``.
    """
    name = constants.NEMO_ENV_DATA_STORE_CACHE_SHARED
    value = os.environ.get(name, "1").strip()
    if value not in ("0", "1"):
        raise ValueError(
            f"${name} is {value!r}; set it to 1 (cache shared by all nodes) or 0 (one per node)."
        )
    return value == "1"


def ais_cache_base() -> str:
    """The folder under which AIStore objects are cached: ``$NEMO_DATA_STORE_CACHE_DIR`` or ``<cache dir>/ais``."""
    override = os.environ.get(constants.NEMO_ENV_DATA_STORE_CACHE_DIR, "")
    base = Path(override).expanduser().resolve() if override else resolve_cache_dir()
    return os.path.join(base.as_posix(), "ais")


def ais_endpoint() -> str | None:
    """The AIStore endpoint from ``$AIS_ENDPOINT`` (``http://host:port``), or ``None`` when it is not set."""
    return os.environ.get(_AIS_ENDPOINT_VARIABLE)


def bucket_and_object_from_uri(uri: str) -> tuple[str, str]:
    """Split a store path into its bucket and object path: ``ais://b/o/p`` gives ``("b", "o/p")``.

    Raises:
        ValueError: ``uri`` is not a store path.
    """
    if not is_datastore_path(uri):
        raise ValueError(f"{uri!r} is not a data-store path; expected ais://<bucket>/<object>.")
    parts = PurePosixPath(uri[len(_AIS_SCHEME) :]).parts
    if len(parts) < 2:
        raise ValueError(f"{uri!r} names no object; expected ais://<bucket>/<object>.")
    return parts[0], str(PurePosixPath(*parts[1:]))


def ais_endpoint_to_dir(endpoint: str) -> str:
    """The cache sub-folder of an endpoint: ``http://host:port`` gives ``host/port``.

    Raises:
        ValueError: ``endpoint`` is not ``http://host:port``.
    """
    prefix = "http://"
    host, sep, port = endpoint[len(prefix) :].rpartition(":") if endpoint.startswith(prefix) else ("", "", "")
    if not (host and sep and port):
        raise ValueError(
            f"AIS endpoint {endpoint!r} is not of the form http://host:port; fix ${_AIS_ENDPOINT_VARIABLE}."
        )
    return os.path.join(host, port)


def ais_binary() -> str:
    """The path of the ``ais`` command-line client: on ``PATH``, else ``/usr/local/bin/ais``.

    Raises:
        RuntimeError: neither exists.
    """
    found = shutil.which("ais")
    if found:
        return found
    if os.path.isfile(_DEFAULT_AIS_BINARY):
        return _DEFAULT_AIS_BINARY
    raise RuntimeError(
        f"The AIStore client `ais` is not on PATH nor at {_DEFAULT_AIS_BINARY}; install it or use local paths."
    )


def datastore_path_to_local_path(store_path: str) -> str:
    """Where the object of ``store_path`` lives in the local cache.

    Raises:
        RuntimeError: ``$AIS_ENDPOINT`` is not set (the cache is laid out per endpoint).
        ValueError: ``store_path`` is not a store path.
    """
    if not is_datastore_path(store_path):
        raise ValueError(f"{store_path!r} is not a data-store path; expected ais://<bucket>/<object>.")
    endpoint = ais_endpoint()
    if endpoint is None:
        raise RuntimeError(
            f"${_AIS_ENDPOINT_VARIABLE} is not set, so {store_path} has no place in the local cache; set it to the "
            "endpoint the object was cached from (http://host:port) or pass a local path."
        )
    bucket, obj = bucket_and_object_from_uri(store_path)
    return os.path.join(ais_cache_base(), ais_endpoint_to_dir(endpoint), bucket, obj)


def get_datastore_object(path: str, force: bool = False, num_retries: int = 5) -> str:
    """The local path of ``path``: a local path as it is, a store path as its cached copy.

    Args:
        path: a local path or ``ais://<bucket>/<object>``.
        force: fetch again even when cached; refused here (nothing is downloaded).
        num_retries: download attempts in NeMo; must be positive, otherwise unused since nothing is downloaded.

    Raises:
        DataStoreUnavailableError: a store object that is not cached, or ``force=True`` for a store path.
        ValueError: ``num_retries`` < 1.
    """
    if num_retries < 1:
        raise ValueError(f"num_retries must be at least 1, got {num_retries}.")
    if not is_datastore_path(path):
        return path
    local_path = datastore_path_to_local_path(path)
    if force:
        raise DataStoreUnavailableError(
            f"force=True asks to download {path} again; this package works offline and downloads nothing. "
            f"Refresh {local_path} yourself (e.g. `ais get {path} {local_path}`) and call without force."
        )
    if not os.path.isfile(local_path):
        raise DataStoreUnavailableError(
            f"{path} is not in the local cache ({local_path}) and this package downloads nothing. Fetch it once "
            f"(`ais get {path} {local_path}`) or give the local path instead."
        )
    return local_path


class DataStoreObject:
    """An object that may live in a data store, resolved to a local file on :meth:`get`.

    Args:
        store_path: a local path or ``ais://<bucket>/<object>``.
        local_path: not supported (as in NeMo 1.23); must be ``None``.
        get: resolve the local path at once.
    """

    def __init__(self, store_path: str, local_path: str | None = None, get: bool = False) -> None:
        if local_path is not None:
            raise NotImplementedError(
                f"DataStoreObject(local_path={local_path!r}) is not supported; give only the store path."
            )
        self._store_path = store_path
        self._local_path: str | None = None
        if get:
            self.get()

    @property
    def store_path(self) -> str:
        """The path given at construction."""
        return self._store_path

    @property
    def local_path(self) -> str | None:
        """The resolved local path, ``None`` before :meth:`get`."""
        return self._local_path

    def get(self, force: bool = False) -> str:
        """Resolve (once) and return the local path; see :func:`get_datastore_object` for the errors."""
        if not self._local_path or force:
            self._local_path = get_datastore_object(self._store_path, force=force)
        return self._local_path

    def put(self, force: bool = False) -> str:
        """Uploading is not supported (as in NeMo 1.23)."""
        raise NotImplementedError(
            f"DataStoreObject.put is not supported; copy {self._store_path} to the store yourself."
        )

    def __str__(self) -> str:
        return f"{type(self)}: store_path={self.store_path}, local_path={self.local_path}"


def datastore_path_to_webdataset_url(store_path: str) -> str:
    """The WebDataset ``pipe:`` URL that streams ``store_path`` through the ``ais`` client.

    Only the text is built here; the tarred datasets of this package open local shards and refuse such URLs.

    Raises:
        ValueError: ``store_path`` is not a store path.
    """
    if not is_datastore_path(store_path):
        raise ValueError(f"{store_path!r} is not a data-store path; expected ais://<bucket>/<object>.")
    return f"pipe:ais get {store_path} - || true"


def datastore_object_get(store_object: DataStoreObject) -> bool:
    """``store_object.get()`` for ``multiprocessing`` maps: whether it gave a path."""
    return store_object.get() is not None
