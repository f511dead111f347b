"""The one filesystem layer of the store: a local directory or an object store, via ``pyarrow.fs``.

A store location is a local path or a URI (``s3://bucket/prefix``, ``gs://bucket/prefix``,
``az://container/prefix``). :func:`resolve` turns it into a :class:`Location`: a
``pyarrow.fs.FileSystem`` and the store's path on it. Every read, write, listing and delete
of the store goes through the helpers here, so the same code runs on every backend.

``pyarrow.fs`` rather than fsspec: Parquet files are written and read by pyarrow, which uses
these filesystems natively (no Python wrapper per call), DuckDB reads them through registered
``pyarrow.dataset`` objects, and S3, GCS and Azure ship inside the pyarrow wheel: no further
dependency. Its S3 client does not send conditional writes (``If-None-Match``), which shapes
the commit protocol (``docs/store.md``).

Credentials are never part of a location: they come from the environment or the standard
cloud configuration (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL``,
``~/.aws/``, ``GOOGLE_APPLICATION_CREDENTIALS``, ``AZURE_STORAGE_*``). A URI that carries
them is refused, without repeating it.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pyarrow as pa
import pyarrow.fs as pafs

from curate.errors import UserError

#: URI schemes the store accepts; ``gcs`` and ``abfs``/``abfss`` are pyarrow's other spellings
REMOTE_SCHEMES = {"s3", "gs", "gcs", "az", "abfs", "abfss"}
#: query keys pyarrow would take as credentials: refused, they belong in the environment
_SECRET_KEYS = {
    "access_key",
    "secret_key",
    "session_token",
    "account_key",
    "sas_token",
    "client_secret",
    "credentials",
}


@dataclass(frozen=True)
class Location:
    """A directory on a filesystem: ``fs`` and ``path`` (no trailing slash) on it.

    ``uri`` names it for users and for workers in other processes (``resolve(uri)`` gives the
    same location back): an absolute local path, or ``scheme://bucket/prefix``.
    """

    fs: pafs.FileSystem
    path: str
    uri: str

    @property
    def local(self) -> bool:
        return isinstance(self.fs, pafs.LocalFileSystem)

    def join(self, *parts: str) -> str:
        """A path on ``fs`` below this location."""
        return posixpath.join(self.path, *parts)

    def child(self, *parts: str) -> Location:
        return Location(self.fs, self.join(*parts), _join_uri(self.uri, "/".join(parts)))


def is_uri(location: str | Path) -> bool:
    return isinstance(location, str) and urlsplit(location).scheme.lower() in REMOTE_SCHEMES


def resolve(location: str | Path | Location) -> Location:
    """The filesystem and path of a store location (a local path or a URI)."""
    if isinstance(location, Location):
        return location
    if not is_uri(location):
        path = Path(location).expanduser().resolve()
        return Location(pafs.LocalFileSystem(), path.as_posix(), str(path))
    text = str(location)
    parts = urlsplit(text)
    # abfs[s]://CONTAINER@ACCOUNT.dfs.core.windows.net/...: a user part that is no credential
    container = parts.scheme.lower() in ("abfs", "abfss") and not parts.password
    if parts.password or (parts.username and not container):
        raise UserError(
            "a store URI must not carry credentials",
            hint="set them in the environment (e.g. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
        )
    if {k.lower() for k, _ in parse_qsl(parts.query)} & _SECRET_KEYS:
        raise UserError(
            "a store URI must not carry credentials",
            hint="set them in the environment (e.g. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
        )
    if not parts.netloc:
        raise UserError(
            f"store URI {_shown(parts)} names no bucket", hint="use scheme://bucket/prefix"
        )
    scheme = parts.scheme.lower()
    try:
        if scheme == "az":
            fs, path = _azure(parts), f"{parts.netloc}{parts.path}"
        else:
            fs, path = pafs.FileSystem.from_uri(_with_gcs_retry_limit(text, parts))
    except (ImportError, AttributeError, pa.ArrowNotImplementedError):
        raise UserError(
            f"this pyarrow has no {_CLOUD[scheme][0]} filesystem",
            hint=f"install the PyPI wheel, which has it: pip install 'pyarrow=={pa.__version__}'",
        ) from None
    except (pa.ArrowException, ValueError, OSError) as exc:
        # pyarrow's message may quote the URI; say what failed without it
        raise UserError(
            f"cannot open store {_shown(parts)}: {type(exc).__name__}",
            hint=f"check the URI and {_CLOUD[scheme][1]}",
        ) from None
    uri = f"{parts.scheme}://{path.rstrip('/')}"
    if parts.query:
        uri += f"?{parts.query}"
    return Location(fs, path.rstrip("/"), uri)


#: per scheme: the cloud's name, and where its settings come from (for error hints)
_AWS = ("S3", "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_ENDPOINT_URL")
_GCS = ("GCS", "GOOGLE_APPLICATION_CREDENTIALS (or `gcloud auth application-default login`)")
_AZURE = (
    "Azure",
    "AZURE_STORAGE_ACCOUNT_NAME and the credentials (AZURE_STORAGE_ACCOUNT_KEY, "
    "AZURE_STORAGE_SAS_TOKEN, AZURE_CLIENT_ID/AZURE_CLIENT_SECRET/AZURE_TENANT_ID, or az login)",
)
_CLOUD = {"s3": _AWS, "gs": _GCS, "gcs": _GCS, "az": _AZURE, "abfs": _AZURE, "abfss": _AZURE}
#: how long a GCS request is retried unless the URI says (``?retry_limit_seconds=N``): the
#: client's own default is 15 minutes, a long silent wait when no credentials or no network
GCS_RETRY_SECONDS = 60


def _with_gcs_retry_limit(text: str, parts: object) -> str:
    """``text`` with ``retry_limit_seconds`` for a GCS URI that gives none."""
    query = getattr(parts, "query", "")
    scheme = getattr(parts, "scheme", "").lower()
    if scheme not in ("gs", "gcs") or "retry_limit_seconds" in dict(parse_qsl(query)):
        return text
    return f"{text}{'&' if query else '?'}retry_limit_seconds={GCS_RETRY_SECONDS}"


#: options of pyarrow's AzureFileSystem that an ``az://`` URI may give in its query
_AZURE_ENDPOINT_OPTIONS = frozenset(
    {"blob_storage_authority", "blob_storage_scheme", "dfs_storage_authority", "dfs_storage_scheme"}
)


def _azure(parts: object) -> pafs.FileSystem:
    """The Azure filesystem of an ``az://container/prefix`` URI (the fsspec/adlfs spelling,
    which pyarrow does not parse): the account from ``AZURE_STORAGE_ACCOUNT_NAME``, a key or
    SAS token from ``AZURE_STORAGE_ACCOUNT_KEY``/``AZURE_STORAGE_SAS_TOKEN`` when set, else
    Azure's default credential chain. The query may name the service's address
    (``?blob_storage_authority=127.0.0.1:10000&blob_storage_scheme=http`` and the ``dfs_``
    pair), as for Azurite."""
    account = os.environ.get("AZURE_STORAGE_ACCOUNT_NAME")
    if not account:
        raise UserError(
            f"store {_shown(parts)}: az:// needs the storage account in AZURE_STORAGE_ACCOUNT_NAME",
            hint="set it, or name the account in the URI: "
            "abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/prefix",
        )
    options = {"account_name": account}
    # the service's address, for an emulator such as Azurite or a private endpoint
    query = dict(parse_qsl(getattr(parts, "query", "")))
    options.update({k: v for k, v in query.items() if k in _AZURE_ENDPOINT_OPTIONS})
    if os.environ.get("AZURE_STORAGE_ACCOUNT_KEY"):
        options["account_key"] = os.environ["AZURE_STORAGE_ACCOUNT_KEY"]
    elif os.environ.get("AZURE_STORAGE_SAS_TOKEN"):
        options["sas_token"] = os.environ["AZURE_STORAGE_SAS_TOKEN"]
    return pafs.AzureFileSystem(**options)


def unreachable(uri: str, exc: BaseException) -> UserError:
    """A clear error for a store whose filesystem refused or failed a first request: the
    failure's first sentence (never the URI's query, never a credential) and where the
    settings of its cloud come from."""
    text = " ".join(str(exc).split()).removeprefix("Unknown error: ")
    text = re.sub(r"\bN\d\w*E: ", "", text)  # a mangled C++ exception type (Azure's SDK)
    reason = text.split("last message of ", 1)[-1]  # google-cloud-cpp's retry wrapper
    reason = reason.split(". ", 1)[0].split(" error_info=", 1)[0].rstrip(".")
    for cause in ("Could not resolve hostname", "Failed to get token", "Connection refused"):
        if cause in text and cause not in reason:
            reason += f" ({cause.lower()})"
    scheme = urlsplit(uri).scheme.lower()
    where = _CLOUD.get(scheme, ("", "the path and its permissions"))[1]
    return UserError(
        f"cannot reach the store {uri.split('?', 1)[0]}: {reason[:300]}", hint=f"check {where}"
    )


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Nothing written to file descriptor 2 within the block reaches the terminal: Azure's
    default credential chain runs ``az`` through a shell, which complains on stderr where the
    Azure CLI is not installed, before the chain's error that :func:`unreachable` reports."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _shown(parts: object) -> str:
    """A URI as shown in messages: scheme, bucket and prefix only."""
    p = parts  # urllib.parse.SplitResult
    return f"{p.scheme}://{p.hostname or ''}{p.path}"  # type: ignore[attr-defined]


def _join_uri(uri: str, rel: str) -> str:
    if not rel:
        return uri
    if not is_uri(uri):
        return posixpath.join(uri, rel)
    parts = urlsplit(uri)
    base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}/{rel}"
    return f"{base}?{parts.query}" if parts.query else base


# -- file operations --------------------------------------------------------------------------
def exists(fs: pafs.FileSystem, path: str) -> bool:
    return fs.get_file_info(path).type != pafs.FileType.NotFound


def is_file(fs: pafs.FileSystem, path: str) -> bool:
    return fs.get_file_info(path).type == pafs.FileType.File


def read_bytes(fs: pafs.FileSystem, path: str) -> bytes | None:
    """The content of a file, or None if there is none."""
    try:
        with fs.open_input_stream(path) as stream:
            return stream.read()
    except FileNotFoundError:
        return None


def ensure_parent(fs: pafs.FileSystem, path: str) -> None:
    """Create the parent directory on a local filesystem (object stores have no directories)."""
    if isinstance(fs, pafs.LocalFileSystem):
        fs.create_dir(posixpath.dirname(path), recursive=True)


def fsync(fs: pafs.FileSystem, path: str) -> None:
    """Flush a complete local file to disk (an object is durable once its PUT returns)."""
    if isinstance(fs, pafs.LocalFileSystem):
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())


def write_bytes(fs: pafs.FileSystem, path: str, data: bytes, durable: bool = True) -> None:
    """Write a whole file so that readers see the old content or the new, never a part.

    Local: a temporary file beside it (flushed to disk when ``durable``), then renamed over
    it. Object stores: one PUT, which is atomic.
    """
    ensure_parent(fs, path)
    if isinstance(fs, pafs.LocalFileSystem):
        tmp = f"{path}.tmp"
        with fs.open_output_stream(tmp) as out:
            out.write(data)
        if durable:
            fsync(fs, tmp)
        fs.move(tmp, path)
    else:
        with fs.open_output_stream(path) as out:
            out.write(data)


def delete_file(fs: pafs.FileSystem, path: str) -> None:
    """Delete a file if it is there."""
    with contextlib.suppress(FileNotFoundError):
        fs.delete_file(path)


def delete_dir(fs: pafs.FileSystem, path: str) -> None:
    """Delete a directory (on an object store: every key below the prefix) if it is there."""
    if exists(fs, path):
        with contextlib.suppress(FileNotFoundError):
            fs.delete_dir(path)


def list_files(fs: pafs.FileSystem, path: str, recursive: bool = True) -> list[str]:
    """Paths of the files below ``path`` (none if it does not exist), sorted."""
    selector = pafs.FileSelector(path, recursive=recursive, allow_not_found=True)
    try:
        infos = fs.get_file_info(selector)
    except FileNotFoundError:
        return []
    return sorted(i.path for i in infos if i.type == pafs.FileType.File)


def list_dirs(fs: pafs.FileSystem, path: str) -> list[str]:
    """Names of the directories (common prefixes) directly below ``path``."""
    selector = pafs.FileSelector(path, recursive=False, allow_not_found=True)
    try:
        infos = fs.get_file_info(selector)
    except FileNotFoundError:
        return []
    return sorted(posixpath.basename(i.path) for i in infos if i.type == pafs.FileType.Directory)


def relative(base: str, path: str) -> str:
    """``path`` relative to ``base`` (both paths on one filesystem)."""
    return posixpath.relpath(path, base)
