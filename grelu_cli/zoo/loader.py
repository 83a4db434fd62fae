"""``load_model(spec)``: a zoo name, Hub repo or file -> an eval-mode model plus what it predicts.

gReLU checkpoints are rebuilt from ``hyper_parameters.model_params`` (class by ``model_type``,
kwargs as saved) without downloading any base weights, then loaded strictly from the
checkpoint's own ``state_dict``. Plain state dicts (``.pt``) and ``.safetensors`` need the
architecture (``arch`` + ``model_params``) unless the safetensors metadata carries
``model_params`` as JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grelu_cli.errors import InputDataError, UsageError
from grelu_cli.zoo import hub
from grelu_cli.zoo.activation import IDENTITY, OutputActivation, activation_from_train_params
from grelu_cli.zoo.checkpoint import parse_checkpoint, safe_load, split_state_dict
from grelu_cli.zoo.factory import build_model, load_weights
from grelu_cli.zoo.registry import ModelRecord
from grelu_cli.zoo.source import ResolvedSource, resolve


@dataclass
class LoadedModel:
    """A model ready to predict, and everything the pipeline needs to know about it.

    Attributes:
        model: ``nn.Module`` on CPU, float32, eval mode; ``x: (N, 4, L) -> (N, T, L_out)``
            raw outputs (logits).
        activation: apply to outputs ``(N, T, L_out)`` unless ``logits``; gReLU applies it to
            each augmented copy before averaging copies. Identity when ``logits``.
        output_activation: the activation gReLU would apply (even when ``logits``).
        geometry: input-length rules and output-bin map (``model.geometry()``).
        seq_len: the input length the model was trained on (``data_params.train.seq_len``,
            else the zoo record, else the geometry's default), or None if unknown.
        name: short name for outputs (zoo name or file name); ``source``: full origin.
        path: the weights file; ``sha256``: its checksum.
        model_type, model_params, train_params, data_params: as in the checkpoint.
        record: the zoo record, when loaded by zoo name.
        replicate: the zoo replicate, or the replicates of an ensemble (then ``model`` is a
            :class:`~grelu_cli.model.ensemble.ReplicateEnsemble`, ``path`` the first
            replicate's file, ``sha256`` :func:`grelu_cli.zoo.ensemble.ensemble_sha256` of
            the members' checksums and ``members`` each replicate's weights file).
    """

    model: Any
    activation: OutputActivation
    output_activation: OutputActivation
    geometry: Any
    seq_len: int | None
    name: str
    source: str
    path: Path
    sha256: str
    model_type: str
    model_params: dict[str, Any]
    train_params: dict[str, Any] = field(default_factory=dict)
    data_params: dict[str, Any] = field(default_factory=dict)
    logits: bool = False
    record: ModelRecord | None = None
    species: str | None = None
    replicate: int | tuple[int, ...] | None = None
    members: tuple[ReplicateFile, ...] = ()
    _tasks: Any = field(default=None, repr=False)

    def provenance(self) -> dict[str, Any]:
        """What to record in outputs: model name, origin, file, checksum, architecture."""
        out: dict[str, Any] = {
            "model": self.name,
            "source": self.source,
            "path": str(self.path),
            "file": self.path.name,
            "sha256": self.sha256,
            "model_type": self.model_type,
            "activation": self.activation.name,
        }
        if self.record is not None:
            out.update(species=self.species, replicate=self.replicate)
            out["revision"] = hub.snapshot_commit(self.path) or self.record.revision
        if self.members:  # an ensemble: every replicate's file (single models: no new key)
            out["replicate"] = [m.replicate for m in self.members]
            out["replicates"] = [m.provenance() for m in self.members]
        return out

    @property
    def n_tasks(self) -> int:
        return int(self.model_params.get("n_tasks") or len(self.task_names))

    @property
    def task_names(self) -> list[str]:
        return [str(n) for n in self.tasks["name"]]

    @property
    def tasks(self) -> Any:
        """Tasks table (pandas DataFrame, one row per output track): ``name`` first, then the
        checkpoint's metadata columns (``data_params.tasks``). Built on first access."""
        if self._tasks is None:
            self._tasks = tasks_table(self.data_params, self.model_params.get("n_tasks"))
        return self._tasks


@dataclass(frozen=True)
class ReplicateFile:
    """One replicate of an ensemble: its number, weights file, origin and checksum."""

    replicate: int
    path: Path
    source: str
    sha256: str

    def provenance(self) -> dict[str, Any]:
        return {
            "replicate": self.replicate,
            "file": self.path.name,
            "source": self.source,
            "sha256": self.sha256,
        }


def tasks_table(data_params: dict[str, Any], n_tasks: int | None) -> Any:
    """``data_params["tasks"]`` (dict of equal-length lists) as a DataFrame with ``name`` first.

    Missing or inconsistent task metadata gives names ``task_0 .. task_{T-1}``.
    """
    import pandas as pd

    raw = data_params.get("tasks") if isinstance(data_params, dict) else None
    if isinstance(raw, dict) and raw:
        try:
            df = pd.DataFrame({str(k): list(v) for k, v in raw.items()})
        except (TypeError, ValueError):
            df = None
        if df is not None and (n_tasks is None or len(df) == int(n_tasks)):
            if "name" not in df.columns:
                df.insert(0, "name", [f"task_{i}" for i in range(len(df))])
            df["name"] = df["name"].astype(str)
            return df[["name", *[c for c in df.columns if c != "name"]]]
    n = int(n_tasks or 0)
    return pd.DataFrame({"name": [f"task_{i}" for i in range(n)]})


def load_model(
    spec: str | Path,
    *,
    replicate: int | None = None,
    species: str | None = None,
    trust_checkpoint: bool = False,
    logits: bool = False,
    arch: str | None = None,
    model_params: dict[str, Any] | None = None,
    download: bool = True,
    progress: bool = True,
) -> LoadedModel:
    """Load a model by zoo name, Hugging Face repo, or file path.

    Args:
        spec: ``borzoi``, ``Genentech/human-atac-catlas-model``, ``Org/repo/file.ckpt`` or a
            path to ``.ckpt`` / ``.pt`` / ``.safetensors``.
        replicate, species: which zoo weights (default: first species, replicate 0).
        trust_checkpoint: allow arbitrary pickled objects (``--trust-checkpoint``).
        logits: return raw outputs (``activation`` is the identity).
        arch, model_params: architecture for plain state dicts / safetensors without metadata.
        download: fetch uncached zoo weights (else MissingResourceError).
        progress: show a download progress bar on stderr.
    """
    src = resolve(
        str(spec), species=species, replicate=replicate, download=download, progress=progress
    )
    path = src.path
    where = str(spec)
    if path.suffix.lower() == ".safetensors":
        ck_model_params, train_params, data_params, weights = _read_safetensors(path, where)
    else:
        obj = safe_load(path, trust=trust_checkpoint)
        ck_model_params, train_params, data_params, weights = _read_pickle(obj, path, arch)
    if arch is not None:  # the user's architecture wins over anything in the file
        params = {"model_type": arch, **(model_params or {})}
    elif ck_model_params is not None:
        params = dict(ck_model_params)
    else:
        raise UsageError(
            f"{where} holds weights only, so the architecture is unknown",
            fix="pass --arch NAME and --param KEY=VALUE (e.g. --arch ConvModel --param n_tasks=8)",
        )
    model_type = str(params["model_type"])
    kwargs = {k: v for k, v in params.items() if k != "model_type"}
    if arch is not None:  # the user typed these: a mistake is a usage error (exit 2)
        model = build_model(model_type, kwargs, where="--arch/--param", error=UsageError)
    else:  # the file's model_params: bad input data (exit 3)
        model = build_model(model_type, kwargs, where=where)
    load_weights(model, weights, where=where)
    model.eval()
    # gReLU checkpoints without train_params get gReLU's defaults (binary -> sigmoid), as in
    # gReLU; bare weights (state dicts, safetensors) have no activation unless their metadata
    # carries train_params.
    grelu_ckpt = ck_model_params is not None and path.suffix.lower() != ".safetensors"
    gr_activation = (
        activation_from_train_params(train_params, where=where)
        if train_params or grelu_ckpt
        else IDENTITY
    )
    geometry = model.geometry()
    return LoadedModel(
        model=model,
        activation=IDENTITY if logits else gr_activation,
        output_activation=gr_activation,
        geometry=geometry,
        seq_len=_seq_len(data_params, src, geometry),
        name=src.name,
        source=src.label,
        path=path,
        sha256=hub.blob_sha256(path) or hub.file_sha256(path),
        model_type=model_type,
        model_params=params,
        train_params=train_params,
        data_params=data_params,
        logits=logits,
        record=src.record,
        species=src.species,
        replicate=src.replicate,
    )


def _read_pickle(obj: Any, path: Path, arch: str | None) -> tuple:
    """(model_params | None, train_params, data_params, weights) from a torch.load result."""
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        hp = obj.get("hyper_parameters") or {}
        if isinstance(hp.get("model_params"), dict) and "model_type" in hp["model_params"]:
            ck = parse_checkpoint(obj, path)
            return ck.model_params, ck.train_params, ck.data_params, ck.state_dict
        if arch is None:
            parse_checkpoint(obj, path)  # raises with the right message
        weights, _ = split_state_dict(obj["state_dict"])
        return None, {}, {}, weights
    if isinstance(obj, dict) and obj and all(hasattr(v, "shape") for v in obj.values()):
        weights, _ = split_state_dict(obj)
        return None, {}, {}, weights
    raise InputDataError(
        f"{path} is neither a gReLU checkpoint nor a state dict",
        fix="pass a Lightning .ckpt, a state_dict .pt or a .safetensors file",
    )


def _read_safetensors(path: Path, where: str) -> tuple:
    """Weights plus ``model_params``/``train_params``/``data_params`` JSON from the metadata."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
        weights = load_file(str(path), device="cpu")
    except (SafetensorError, OSError) as e:
        raise InputDataError(f"cannot read {where}: {e}", fix="check the file") from None

    def _json(key: str) -> Any:
        try:
            return json.loads(meta[key]) if key in meta else None
        except json.JSONDecodeError:
            raise InputDataError(
                f"{where}: metadata '{key}' is not valid JSON", fix="check the file"
            ) from None

    weights, _ = split_state_dict(weights)
    mp = _json("model_params")
    if mp is not None and "model_type" not in mp:
        mp = None
    return mp, _json("train_params") or {}, _json("data_params") or {}, weights


def _seq_len(data_params: dict[str, Any], src: ResolvedSource, geometry: Any) -> int | None:
    train = data_params.get("train") if isinstance(data_params, dict) else None
    if isinstance(train, dict) and isinstance(train.get("seq_len"), int):
        return int(train["seq_len"])
    if src.record is not None and src.record.input_bp:
        return src.record.input_bp
    return getattr(geometry, "fixed_len", None) or getattr(geometry, "default_len", None)
