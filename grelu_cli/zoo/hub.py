"""Weights on the Hugging Face Hub: where the cache is, whether a file is in it, and downloading.

Downloads go through ``huggingface_hub.hf_hub_download`` into the standard cache
(``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ``~/.cache/huggingface/hub``), so files are
shared with every other Hugging Face tool and the download is atomic and locked.

What this module adds:

- a cache lookup that touches neither the network nor ``huggingface_hub`` (``grelu models
  list`` stays instant);
- an explicit offline rule: with ``HF_HUB_OFFLINE=1`` (read when called, not at import) a
  missing file is a :class:`MissingResourceError` at once; without the flag, one short metadata
  request without retries decides whether the Hub is reachable, so a machine with no network
  fails in about a second instead of retrying for minutes;
- verification: the size and, for LFS files, the sha256 the Hub reports (``X-Linked-Etag``)
  are checked after download; a mismatch removes the bad file and raises
  :class:`DownloadError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from grelu_cli.errors import DownloadError, MissingResourceError

_TRUE = {"1", "ON", "YES", "TRUE"}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
DEFAULT_ENDPOINT = "https://huggingface.co"
# Seconds to wait for the Hub's metadata answer before declaring it unreachable.
PROBE_TIMEOUT = 10.0


@dataclass(frozen=True)
class HubSettings:
    """Hub configuration, read from the environment once per call site.

    Attributes:
        cache_dir: the hub cache folder (``.../huggingface/hub``).
        endpoint: Hub URL (``HF_ENDPOINT``), e.g. a mirror.
        offline: ``HF_HUB_OFFLINE`` is set: never touch the network.
    """

    cache_dir: Path
    endpoint: str
    offline: bool

    @classmethod
    def from_env(cls) -> HubSettings:
        env = os.environ
        home = env.get("HF_HOME") or os.path.join(
            env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
            "huggingface",
        )
        home = os.path.expandvars(os.path.expanduser(home))
        cache = env.get("HF_HUB_CACHE") or env.get("HUGGINGFACE_HUB_CACHE")
        cache = cache if cache else os.path.join(home, "hub")
        offline_flag = env.get("HF_HUB_OFFLINE") or env.get("TRANSFORMERS_OFFLINE") or ""
        return cls(
            cache_dir=Path(os.path.expandvars(os.path.expanduser(cache))),
            endpoint=(env.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/"),
            offline=offline_flag.upper() in _TRUE,
        )


def repo_folder(settings: HubSettings, repo_id: str) -> Path:
    """The cache folder of a model repo: ``models--{org}--{name}``."""
    return settings.cache_dir / ("models--" + repo_id.replace("/", "--"))


def cached_file(
    repo_id: str,
    filename: str,
    revision: str | None = None,
    settings: HubSettings | None = None,
    *,
    fallback: bool = True,
) -> Path | None:
    """Path of ``filename`` in the local cache, or None. No network, no huggingface_hub import.

    Follows the cache layout of ``huggingface_hub``: a commit revision is looked up directly
    under ``snapshots/``; a branch name (default ``main``) through ``refs/{branch}``.

    With ``fallback`` (default), a pinned commit that is not cached falls back to the copy the
    cache holds for ``main``: someone who fetched the model with plain ``hf_hub_download`` (as
    gReLU does) is not sent to download it again, or refused offline. ``snapshot_commit`` tells
    which commit was found; provenance records that one.
    """
    settings = settings or HubSettings.from_env()
    folder = repo_folder(settings, repo_id)
    revision = revision or "main"
    if _COMMIT.match(revision):
        commit = revision
    else:
        ref = folder / "refs" / revision
        if not ref.is_file():
            return None
        commit = ref.read_text().strip()
    path = folder / "snapshots" / commit / filename
    if path.exists():
        return path
    if fallback and _COMMIT.match(revision):
        return cached_file(repo_id, filename, "main", settings, fallback=False)
    return None


def snapshot_commit(path: Path) -> str | None:
    """The commit of a cached file (``.../snapshots/<commit>/<filename>``), else None."""
    parts = Path(path).parts
    for i, part in enumerate(parts[:-1]):
        if part == "snapshots" and i + 1 < len(parts) and _COMMIT.match(parts[i + 1]):
            return parts[i + 1]
    return None


def blob_sha256(path: Path) -> str | None:
    """The sha256 recorded in the cache's blob name for LFS files (verified when downloaded)."""
    try:
        name = Path(os.path.realpath(path)).name
    except OSError:
        return None
    return name if _SHA256.match(name) else None


def file_sha256(path: Path, chunk: int = 1 << 22) -> str:
    """sha256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def missing_error(
    model: str, repo_id: str, filename: str, settings: HubSettings, download_cmd: str, why: str
) -> MissingResourceError:
    """The one-line error for weights that are not cached and cannot be fetched now."""
    return MissingResourceError(
        f"weights for model '{model}' ({repo_id}/{filename}) are not in the cache "
        f"{settings.cache_dir} and {why}",
        fix=f"run '{download_cmd}' on a machine with internet access and copy the cache, "
        "or point HF_HOME at a cache that has it",
    )


def _probe(repo_id: str, filename: str, revision: str, settings: HubSettings):  # -> HfFileMetadata
    """One HEAD request for the file's metadata, no retries (raises on any failure)."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    url = hf_hub_url(repo_id, filename, revision=revision, endpoint=settings.endpoint)
    return get_hf_file_metadata(url, timeout=PROBE_TIMEOUT, endpoint=settings.endpoint)


def fetch(
    repo_id: str,
    filename: str,
    *,
    revision: str | None = None,
    model: str | None = None,
    download_cmd: str | None = None,
    settings: HubSettings | None = None,
    progress: bool = True,
    force: bool = False,
) -> Path:
    """Return the local path of ``repo_id/filename``, downloading it into the cache if needed.

    A cached file is returned without any network access. Otherwise the file is downloaded with
    a progress bar on stderr (``progress=False`` silences it) and verified.

    Raises:
        MissingResourceError: not cached and offline, or the Hub cannot be reached.
        DownloadError: the Hub refused the request, or the file did not verify.
    """
    settings = settings or HubSettings.from_env()
    revision = revision or "main"
    model = model or repo_id
    download_cmd = download_cmd or f"grelu models download {model}"
    if not force:
        hit = cached_file(repo_id, filename, revision, settings)
        if hit is not None:
            return hit
    if settings.offline:
        raise missing_error(
            model, repo_id, filename, settings, download_cmd, "HF_HUB_OFFLINE is set"
        )
    meta = _probe_or_raise(repo_id, filename, revision, settings, model, download_cmd)
    path = _download(repo_id, filename, revision, settings, progress, force)
    _verify(path, meta, repo_id, filename, download_cmd)
    return path


def _probe_or_raise(repo_id, filename, revision, settings, model, download_cmd):
    import httpx2 as httpx  # huggingface_hub's HTTP client
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        return _probe(repo_id, filename, revision, settings)
    except (httpx.ConnectError, httpx.TimeoutException, httpx.NetworkError) as e:
        why = f"the Hub at {settings.endpoint} cannot be reached ({type(e).__name__})"
        raise missing_error(model, repo_id, filename, settings, download_cmd, why) from e
    except RevisionNotFoundError as e:
        raise DownloadError(
            f"revision {revision} of {repo_id} does not exist on {settings.endpoint}",
            fix="check the model name or update grelu-cli",
        ) from e
    except (RepositoryNotFoundError, EntryNotFoundError) as e:
        raise DownloadError(
            f"{repo_id}/{filename} does not exist on {settings.endpoint}",
            fix="check the repo id and file name ('grelu models list' shows zoo names)",
        ) from e
    except HfHubHTTPError as e:
        raise DownloadError(
            f"the Hub refused {repo_id}/{filename}: {str(e).splitlines()[0]}",
            fix="retry later, or check HF_ENDPOINT and your token",
        ) from e


def _download(repo_id, filename, revision, settings, progress, force) -> Path:
    import httpx2 as httpx
    from huggingface_hub import hf_hub_download
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

    if not progress:
        disable_progress_bars()
    try:
        return Path(
            hf_hub_download(
                repo_id,
                filename,
                revision=revision,
                cache_dir=settings.cache_dir,
                endpoint=settings.endpoint,
                force_download=force,
                etag_timeout=PROBE_TIMEOUT,
            )
        )
    except (OSError, httpx.HTTPError) as e:
        # huggingface_hub reports a short body as OSError("Consistency check failed ...").
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DownloadError(
            f"download of {repo_id}/{filename} failed: {first}",
            fix="retry; a partial file is never used",
        ) from e
    finally:
        if not progress:
            enable_progress_bars()


def _verify(path: Path, meta, repo_id: str, filename: str, download_cmd: str) -> None:
    """Check size and (LFS) sha256 against the Hub's metadata; drop the file on mismatch."""
    size = path.stat().st_size
    problem = None
    if meta.size is not None and size != meta.size:
        problem = f"size {size} bytes, the Hub reports {meta.size}"
    elif meta.etag and _SHA256.match(meta.etag):
        digest = file_sha256(path)
        if digest != meta.etag:
            problem = f"sha256 {digest[:12]}..., the Hub reports {meta.etag[:12]}..."
    if problem is None:
        return
    _evict(path)
    raise DownloadError(
        f"downloaded {repo_id}/{filename} is corrupt ({problem}); it was removed from the cache",
        fix=f"retry '{download_cmd}'",
    )


def _evict(path: Path) -> None:
    """Remove a snapshot entry and the blob it points to."""
    blob = Path(os.path.realpath(path))
    for p in (path, blob):
        with contextlib.suppress(OSError):
            p.unlink()
