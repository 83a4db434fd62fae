"""Reading and writing gReLU checkpoint files, safely.

A gReLU 1.1.0 checkpoint is a PyTorch Lightning ``.ckpt`` (a pickle) holding::

    state_dict        {"model.<module path>": tensor, "loss.<...>": tensor (some losses)}
    hyper_parameters  {"model_params": {"model_type": "ConvModel", **kwargs},
                       "train_params": {"task": ..., "loss": ..., ...}}
    data_params       {"tasks": {"name": [...], <metadata column>: [...]},
                       "train": {"seq_len": int, "bin_size": int | None, ...}, "val": ..., ...}
    performance       {"val": {"val_mse": np.ndarray, ...}, ...}   (numpy arrays!)
    + Lightning bookkeeping (epoch, global_step, optimizer_states, ...)

Checkpoints from gReLU < 1.0.6 lack the top-level ``data_params``/``performance`` (data_params
may sit under ``hyper_parameters``); those are read with defaults.

Loading uses ``torch.load(weights_only=True)`` with an allowlist of exactly the numpy objects
gReLU stores (arrays, their dtypes, numpy scalars). Any other global is refused with
:class:`UnsafeCheckpointError` before anything executes; ``trust=True`` (``--trust-checkpoint``)
is the explicit opt-out for files the user trusts.

Before torch sees a file, its first bytes say what it is (:func:`sniff_checkpoint`): only the
zip format that ``torch.save`` has written since PyTorch 1.6 is loaded safely. A bare pickle
(``pickle.dump``, or ``torch.save(_use_new_zipfile_serialization=False)``) is refused without
being unpickled, and anything else (text, random bytes, another kind of zip) is "not a PyTorch
checkpoint": torch's unpickler given such bytes fails with arbitrary errors (``KeyError``,
``IndexError: pop from empty list``) that say nothing about the file.

A zip checkpoint's entries are then measured before torch reads any of them
(:func:`check_zip_sizes`): torch allocates each entry's declared uncompressed size and inflates
into it, so a 1 MB file holding a deflated gigabyte of zeros would take gigabytes of memory.
``torch.save`` stores entries uncompressed, so a real checkpoint declares no more than its own
size (measured: 0.97-1.0 x for every checkpoint under tests/data and for a 744 MB random Borzoi
state dict; deflating those entries gains 1.09 x for Borzoi's weights and at most 7 x for the
small test files).
"""

from __future__ import annotations

import os
import pickle
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grelu_cli.errors import InputDataError, OutputExistsError, UnsafeCheckpointError
from grelu_cli.io.fs.oserrors import write_error, writing

# Lightning format version written into built checkpoints (only read by Lightning's migration
# code, which leaves checkpoints at or above its own version untouched).
LIGHTNING_FORMAT_VERSION = "2.5.0"


def _numpy_allowlist() -> list[Any]:
    """The numpy globals gReLU checkpoints contain, under both numpy 1.x and 2.x module paths.

    ``performance`` holds float arrays (``ndarray`` rebuilt by ``_reconstruct`` with a
    ``dtype``); older gReLU/pandas versions can leave numpy scalars (``scalar``) in
    ``data_params``.
    """
    import importlib

    import numpy as np

    try:
        ma: Any = importlib.import_module("numpy._core.multiarray")  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        ma = importlib.import_module("numpy.core.multiarray")
    allow: list[Any] = [np.ndarray, np.dtype]
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allow.append((ma._reconstruct, f"{mod}._reconstruct"))
        allow.append((ma.scalar, f"{mod}.scalar"))
    # dtype classes appear when numpy >= 1.25 pickles some dtypes (e.g. in object arrays' meta)
    for name in ("Float32DType", "Float64DType", "Int64DType", "Int32DType", "BoolDType"):
        cls = getattr(getattr(np, "dtypes", None), name, None)
        if cls is not None:
            allow.append(cls)
    return allow


def _allowed_names() -> set[str]:
    names = set()
    for item in _numpy_allowlist():
        if isinstance(item, tuple):
            names.add(item[1])
        else:
            names.add(f"{item.__module__}.{item.__qualname__}")
    return names


#: First bytes of a pickle of protocol 2 or later (``PROTO`` opcode, then the protocol).
_PICKLE_PROTOCOLS = (2, 3, 4, 5)
_ZIP_MAGIC = b"PK\x03\x04"
#: What legacy (non-zip) ``torch.save`` writes first: a protocol-2 pickle of its magic number.
_LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")
ZIP, PICKLE, OTHER = "zip", "pickle", "other"


def sniff_checkpoint(path: Path) -> str:
    """What ``path`` holds, from its bytes alone (nothing is unpickled).

    Returns ``"zip"`` for a ``torch.save`` zip archive (it has a ``data.pkl`` entry) or a
    zip-headed file too damaged to list (reported as unreadable later), ``"pickle"`` for a bare
    pickle of protocol >= 2 (legacy ``torch.save`` and ``pickle.dump`` write these; torch.save
    never writes protocols 0/1), and ``"other"`` for anything else.
    """
    with open(path, "rb") as fh:
        head = fh.read(4)
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return ZIP  # damaged: safe_load reports it as unreadable
        return ZIP if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names) else OTHER
    if head.startswith(_ZIP_MAGIC):
        return ZIP  # a truncated archive: its central directory is missing
    if len(head) >= 2 and head[0] == 0x80 and head[1] in _PICKLE_PROTOCOLS:
        return PICKLE
    return OTHER


def _is_legacy_torch_save(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(len(_LEGACY_TORCH_MAGIC)) == _LEGACY_TORCH_MAGIC


#: Declared uncompressed bytes allowed per byte of file: torch.save writes 1.0 at most; a
#: checkpoint re-zipped with deflate stays well under this (see the module docstring).
MAX_INFLATION = 16
#: Below this many declared bytes the ratio is not checked (small files deflate well and
#: inflating them cannot hurt).
INFLATION_FLOOR = 64 << 20
#: No checkpoint may declare more than this in all (the largest sequence models are ~2 GB).
MAX_DECLARED = 32 << 30


def _gb(n: int) -> str:
    return f"{n / (1 << 30):.2f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.1f} MiB"


def check_zip_sizes(
    path: Path, *, max_ratio: float = MAX_INFLATION, ceiling: int = MAX_DECLARED
) -> None:
    """Refuse a zip checkpoint whose entries would inflate far beyond the file (a zip bomb).

    Reads only the zip's central directory (no entry is decompressed). The declared
    uncompressed sizes of all entries may add up to at most ``max_ratio`` times the file size
    (or :data:`INFLATION_FLOOR`, whichever is larger) and never more than ``ceiling``.

    Raises:
        InputDataError: the sizes are out of bounds (names the file, the largest entry and the
            sizes), or the zip's directory cannot be read.
    """
    size = os.path.getsize(path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise unreadable(path, f"its zip directory is damaged ({e})") from None
    if not infos:
        return
    total = sum(i.file_size for i in infos)
    allowed = min(ceiling, max(int(max_ratio * size), INFLATION_FLOOR))
    if total <= allowed:
        return
    big = max(infos, key=lambda i: i.file_size)
    why = (
        f"more than the {_gb(ceiling)} any model checkpoint needs"
        if total > ceiling
        else f"{total / max(size, 1):,.0f} x its size; torch.save stores tensors uncompressed"
    )
    raise InputDataError(
        f"checkpoint {path} ({size:,} bytes) declares {total:,} bytes ({_gb(total)}) of "
        f"uncompressed data, {why}; its largest entry {big.filename!r} declares "
        f"{big.file_size:,} bytes stored in {big.compress_size:,} (a zip bomb?)",
        fix="nothing was read from it; re-save the weights with torch.save from a trusted "
        "environment",
    )


def not_a_checkpoint(path: Path) -> InputDataError:
    """The error for a file that is not a PyTorch checkpoint at all."""
    return InputDataError(
        f"{path} is not a PyTorch checkpoint",
        fix="give a gReLU .ckpt, a torch.save state dict (.pt) or a .safetensors file",
    )


def safe_load(path: Path, *, trust: bool = False) -> Any:
    """``torch.load`` on CPU; refuse pickled objects outside the allowlist unless ``trust``.

    Raises:
        InputDataError: the file is not a PyTorch checkpoint (text, random bytes, another
            zip), a damaged one, or a zip whose entries would inflate far beyond the file
            (:func:`check_zip_sizes`; checked with ``trust`` too).
        UnsafeCheckpointError: the file is a bare pickle (never unpickled without ``trust``),
            or references a global that is not allowlisted.
    """
    kind = sniff_checkpoint(path)
    if kind == OTHER:
        raise not_a_checkpoint(path)
    if kind == PICKLE and not trust:
        raise UnsafeCheckpointError(
            f"{path} is a legacy/plain pickle, which grelu-cli never unpickles",
            fix="re-save it with torch.save from a trusted environment or pass --trust-checkpoint",
        )
    if kind == ZIP and not zipfile.is_zipfile(path):
        raise unreadable(path, "the zip archive is truncated or damaged (an interrupted copy?)")
    if kind == ZIP:
        check_zip_sizes(path)  # before torch allocates and inflates any entry
    import torch

    # Memory-map zip-format files: tensors are read on demand and copied once into the model,
    # so loading Borzoi needs ~0.7 GB rather than twice that.
    mmap = kind == ZIP
    try:
        if trust and kind == PICKLE and not _is_legacy_torch_save(path):
            with open(path, "rb") as fh:  # a pickle.dump file the user vouched for
                return pickle.load(fh)
        if trust:
            return torch.load(path, map_location="cpu", weights_only=False, mmap=mmap)
        with torch.serialization.safe_globals(_numpy_allowlist()), warnings.catch_warnings():
            # a protocol note for pickles not written by torch.save; the refusal says enough
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError:
        if trust:
            raise unreadable(path, "its pickle is damaged") from None
        bad = _unsafe_globals(path)
        what = ", ".join(bad) if bad else "objects outside the safe-loading allowlist"
        raise UnsafeCheckpointError(
            f"checkpoint {path} contains objects that are not plain weights: {what}; "
            "loading it could run arbitrary code",
            fix="pass --trust-checkpoint only if you trust where this file came from",
        ) from None
    except MemoryError:
        raise
    except Exception as e:  # torch.load on damaged bytes raises almost anything
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise unreadable(path, first) from None


def unreadable(path: Path, why: str) -> InputDataError:
    """The error for a checkpoint whose format is right but whose content is damaged."""
    return InputDataError(
        f"cannot read checkpoint {path}: {why}",
        fix="check that the file is a complete PyTorch/Lightning checkpoint",
    )


def _unsafe_globals(path: Path) -> list[str]:
    """Globals in the pickle that are neither torch's defaults nor ours (static scan)."""
    from torch.serialization import get_unsafe_globals_in_checkpoint

    try:
        found = get_unsafe_globals_in_checkpoint(path)
    except Exception:  # a scan failure must not hide the refusal itself
        return []
    allowed = _allowed_names()
    return [g for g in found if g not in allowed]


@dataclass
class GreluCheckpoint:
    """The parts of a gReLU checkpoint that describe and rebuild the model.

    Attributes:
        model_params: ``{"model_type": str, **constructor kwargs}``.
        train_params: training options (``task``, ``loss`` decide the output activation).
        data_params: ``tasks``, ``train`` (``seq_len``, ``bin_size``), ...; ``{}`` if absent.
        state_dict: the model's weights, ``model.`` prefix removed.
        ignored_keys: state_dict keys that are not model weights (``loss.*``, ...).
        has_performance: the file carried gReLU's ``performance`` entry.
    """

    model_params: dict[str, Any]
    train_params: dict[str, Any] = field(default_factory=dict)
    data_params: dict[str, Any] = field(default_factory=dict)
    state_dict: dict[str, Any] = field(default_factory=dict)
    ignored_keys: list[str] = field(default_factory=list)
    has_performance: bool = False

    @property
    def model_type(self) -> str:
        return str(self.model_params["model_type"])

    @property
    def kwargs(self) -> dict[str, Any]:
        """Constructor keywords: ``model_params`` without ``model_type``."""
        return {k: v for k, v in self.model_params.items() if k != "model_type"}


def split_state_dict(raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Model weights (``model.`` prefix removed) and the names of every other key.

    A LightningModel's state_dict also holds the loss's buffers (``loss.pos_weight``,
    ``loss.weight``) and could hold a prediction transform's; none belong to the model.
    A plain state dict without any ``model.`` key is returned as is.
    """
    if not any(k.startswith("model.") for k in raw):
        return dict(raw), []
    weights = {k[len("model.") :]: v for k, v in raw.items() if k.startswith("model.")}
    return weights, [k for k in raw if not k.startswith("model.")]


def parse_checkpoint(obj: Any, path: Path) -> GreluCheckpoint:
    """Interpret a loaded ``.ckpt`` object as a gReLU checkpoint (or raise InputDataError)."""
    if not isinstance(obj, dict) or "state_dict" not in obj:
        raise InputDataError(
            f"{path} is not a gReLU/Lightning checkpoint (no 'state_dict' entry)",
            fix="for a plain state dict pass --arch and --param to name the architecture",
        )
    hp = obj.get("hyper_parameters") or {}
    model_params = hp.get("model_params")
    if not isinstance(model_params, dict) or "model_type" not in model_params:
        raise InputDataError(
            f"{path} has no hyper_parameters.model_params.model_type, so the architecture is "
            "unknown",
            fix="pass --arch and --param to name the architecture",
        )
    data_params: Any = obj.get("data_params")
    if not isinstance(data_params, dict):  # gReLU < 1.0.6 kept it among the hyperparameters
        data_params = hp.get("data_params") if isinstance(hp.get("data_params"), dict) else {}
    weights, ignored = split_state_dict(obj["state_dict"])
    return GreluCheckpoint(
        model_params=dict(model_params),
        train_params=dict(hp.get("train_params") or {}),
        data_params=dict(data_params),
        state_dict=weights,
        ignored_keys=ignored,
        has_performance="performance" in obj,
    )


def build_checkpoint(
    model: Any,
    model_params: dict[str, Any],
    train_params: dict[str, Any],
    tasks: dict[str, list[Any]],
    train_data: dict[str, Any],
) -> dict[str, Any]:
    """A checkpoint dict in the layout gReLU 1.1.0's ``LightningModel.load_from_checkpoint``
    reads: Lightning bookkeeping, ``state_dict`` with the ``model.`` prefix,
    ``hyper_parameters`` (``model_params``, ``train_params``), ``data_params`` and an empty
    ``performance``. Only plain Python containers and tensors, so it also loads with
    ``weights_only=True`` and no allowlist.
    """
    state = {f"model.{k}": v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    return {
        "epoch": 0,
        "global_step": 0,
        "pytorch-lightning_version": LIGHTNING_FORMAT_VERSION,
        "state_dict": state,
        "loops": {},
        "callbacks": {},
        "optimizer_states": [],
        "lr_schedulers": [],
        "hparams_name": "kwargs",
        "hyper_parameters": {"model_params": dict(model_params), "train_params": train_params},
        "data_params": {"tasks": tasks, "train": train_data},
        "performance": {},
    }


def atomic_save(obj: Any, out: Path, *, overwrite: bool = False) -> None:
    """``torch.save`` to a temporary file in the target folder, then rename into place."""
    import torch

    out = Path(out)
    if out.exists() and not overwrite:
        raise OutputExistsError(
            f"output {out} already exists", fix="pass --overwrite to replace it"
        )
    with writing(out):
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            sink = _WriteErrors(fh)
            try:
                torch.save(obj, sink)  # type: ignore[arg-type]
            except RuntimeError as e:
                # torch reports a failed write as RuntimeError ("unexpected pos ..."); the
                # OSError underneath says why (no space, file size limit...).
                mapped = write_error(sink.error, out) if sink.error else None
                if mapped is None:
                    raise
                raise mapped from e
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file normal permissions
        os.replace(tmp, out)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        mapped = write_error(e, out)
        if mapped is None:
            raise
        raise mapped from e
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _WriteErrors:
    """A binary file wrapper that remembers the OSError of a failed write (torch hides it)."""

    def __init__(self, fh: Any) -> None:
        self._fh = fh
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return self._fh.write(data)
        except OSError as e:
            self.error = e
            raise

    def flush(self) -> None:
        self._fh.flush()
