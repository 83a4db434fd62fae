"""The model zoo as data: one frozen record per named model, no torch import.

Two kinds of entry:

- ``pretrained``: a published checkpoint on the Hugging Face Hub (gReLU model zoo, Genentech
  organisation). The record says where the weights are (repo, file per species/replicate,
  pinned commit where known) and what the model is (architecture, input length, bin size, crop,
  tracks), so ``grelu models list`` can answer without downloading anything. When the model is
  loaded, the checkpoint's own ``model_params`` rebuild it; the record is never trusted over the
  file.
- ``architecture``: one entry per model class, for ``grelu models build``.

Facts were checked against gReLU 1.1.0 (``grelu.model.models``, tutorials) and the model cards
on the Hub. ``None`` means "not published / not verified": the checkpoint is the source of truth.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from grelu_cli.errors import UsageError
from grelu_cli.model import architectures

PRETRAINED = "pretrained"
ARCHITECTURE = "architecture"
EXTERNAL = "external"  # listed for completeness, but not a gReLU checkpoint we can load

GRELU_CITATION = (
    "Lal A. et al. gReLU: a comprehensive framework for DNA sequence modeling and design. "
    "Nature Methods (2024)"
)


@dataclass(frozen=True)
class WeightsFile:
    """One downloadable checkpoint of a pretrained model."""

    filename: str
    species: str = "human"
    replicate: int = 0
    n_tasks: int | None = None


@dataclass(frozen=True)
class ModelRecord:
    """What a named model is and where its weights live.

    Attributes:
        name: zoo name (``borzoi``) or architecture class name (``ConvModel``).
        kind: ``pretrained``, ``architecture`` or ``external``.
        summary: one line for listings.
        architecture: gReLU ``model_type`` (class name in :mod:`grelu_cli.model.models`).
        arch_kwargs: constructor keywords of the published configuration (documentation; the
            checkpoint's ``model_params`` win when loading).
        repo_id: Hugging Face repo (``Genentech/borzoi-model``).
        revision: pinned commit (40 hex) or None for the repo's default branch.
        files: the checkpoints, one per species and replicate.
        input_bp: the input length the model was trained on.
        bin_size: input bp per output bin (``None`` when the head pools to one value).
        crop_bins: output bins cropped from each end (gReLU ``crop_len``).
        output_bins: output positions per input of ``input_bp``.
        task_type: gReLU ``train_params.task`` (regression, binary, multiclass).
        genome: reference genome of the training data.
        license, citation, url: provenance.
        notes: anything a user should know (e.g. which facts are unverified).
        required_params: constructor arguments ``grelu models build`` must be given.
    """

    name: str
    kind: str
    summary: str
    architecture: str | None = None
    arch_kwargs: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    repo_id: str | None = None
    revision: str | None = None
    files: tuple[WeightsFile, ...] = ()
    input_bp: int | None = None
    bin_size: int | None = None
    crop_bins: int | None = None
    output_bins: int | None = None
    task_type: str | None = None
    genome: str | None = None
    license: str | None = None
    citation: str | None = None
    url: str | None = None
    notes: str | None = None
    required_params: tuple[str, ...] = ()

    @property
    def species(self) -> tuple[str, ...]:
        """Species with weights, in registry order (first is the default)."""
        return tuple(dict.fromkeys(f.species for f in self.files))

    @property
    def replicates(self) -> tuple[int, ...]:
        return tuple(sorted({f.replicate for f in self.files}))

    @property
    def n_tasks(self) -> int | None:
        """Output tracks of the default file (first species, replicate 0)."""
        return self.files[0].n_tasks if self.files else self.arch_kwargs.get("n_tasks")

    def weights_file(self, species: str | None = None, replicate: int | None = None) -> WeightsFile:
        """The checkpoint for ``species`` and ``replicate`` (defaults: first species, rep 0)."""
        if not self.files:
            raise UsageError(
                f"model '{self.name}' has no downloadable weights",
                fix="use 'grelu models build' for architectures, or pass a checkpoint path",
            )
        species = species or self.files[0].species
        if species not in self.species:
            raise UsageError(
                f"model '{self.name}' has no weights for species '{species}'",
                fix=f"choose --species from {', '.join(self.species)}",
            )
        replicate = 0 if replicate is None else replicate
        for f in self.files:
            if f.species == species and f.replicate == replicate:
                return f
        reps = sorted(f.replicate for f in self.files if f.species == species)
        raise UsageError(
            f"model '{self.name}' ({species}) has no replicate {replicate}",
            fix=f"choose --replicate from {', '.join(map(str, reps))}",
        )


def _kw(**kwargs: Any) -> MappingProxyType[str, Any]:
    return MappingProxyType(kwargs)


_BORZOI_FILES = tuple(
    WeightsFile(f"{sp}_rep{k}.ckpt", sp, k, n)
    for sp, n in (("human", 7611), ("mouse", 2608))
    for k in range(4)
)

_PRETRAINED: tuple[ModelRecord, ...] = (
    ModelRecord(
        name="borzoi",
        kind=PRETRAINED,
        summary="Borzoi: RNA-seq, CAGE, DNase/ATAC, ChIP coverage at 32 bp (Linder 2025)",
        architecture="BorzoiModel",
        arch_kwargs=_kw(
            n_tasks=7611, crop_len=5120, final_pool_func=None, norm_kwargs={"eps": 0.001}
        ),
        repo_id="Genentech/borzoi-model",
        revision="9d9e6915f21aba8bfeccca4af2c72deef291af8d",
        files=_BORZOI_FILES,
        input_bp=524_288,
        bin_size=32,
        crop_bins=5120,
        output_bins=6144,
        task_type="regression",
        genome="hg38 / mm10",
        license="MIT (model card); original weights by Calico, see the paper",
        citation="Linder J. et al. Predicting RNA-seq coverage from DNA sequence as a unifying "
        "model of gene regulation. Nature Genetics (2025) doi:10.1038/s41588-024-02053-6",
        url="https://huggingface.co/Genentech/borzoi-model",
        notes="4 replicates per species; tasks carry strand_pair, scale and clip_soft columns",
    ),
    ModelRecord(
        name="enformer",
        kind=PRETRAINED,
        summary="Enformer: CAGE, DNase, ChIP tracks at 128 bp (Avsec 2021)",
        architecture="EnformerModel",
        arch_kwargs=_kw(n_tasks=5313, crop_len=320, final_pool_func=None),
        repo_id="Genentech/enformer-model",
        revision="35f8a88e8976d834ca8a617fe3cf60dfc6d7a0b8",
        files=(
            WeightsFile("human.ckpt", "human", 0, 5313),
            WeightsFile("mouse.ckpt", "mouse", 0, 1643),
        ),
        input_bp=196_608,
        bin_size=128,
        crop_bins=320,
        output_bins=896,
        task_type="regression",
        genome="hg38 / mm10",
        license="MIT (model card); original weights by DeepMind (Apache-2.0)",
        citation="Avsec Z. et al. Effective gene expression prediction from sequence by "
        "integrating long-range interactions. Nature Methods (2021) "
        "doi:10.1038/s41592-021-01252-x",
        url="https://huggingface.co/Genentech/enformer-model",
    ),
    ModelRecord(
        name="human-atac-catlas",
        kind=PRETRAINED,
        summary="Enformer fine-tuned on CATlas scATAC peaks: accessibility in 204 cell types",
        architecture="EnformerPretrainedModel",
        repo_id="Genentech/human-atac-catlas-model",
        revision=None,
        files=(WeightsFile("model.ckpt", "human", 0, 204),),
        input_bp=200,
        bin_size=None,
        output_bins=1,
        task_type="binary",
        genome="hg38",
        license="MIT",
        citation=GRELU_CITATION + "; data: Zhang K. et al. Cell (2021) (CATlas)",
        url="https://huggingface.co/Genentech/human-atac-catlas-model",
        notes="revision not pinned (no commit id published); one pooled output per sequence",
    ),
    ModelRecord(
        name="human-chromhmm-fullstack",
        kind=PRETRAINED,
        summary="Full-stack ChromHMM chromatin states from sequence (gReLU model zoo)",
        repo_id="Genentech/human-chromhmm-fullstack-model",
        revision="f4ba85e1cd826639b17fa5f5003e8d3c39f0ec50",
        files=(WeightsFile("model.ckpt", "human"),),
        genome="hg38",
        license="MIT",
        citation=GRELU_CITATION + "; data: Vu H. & Ernst J. Genome Biology (2022)",
        url="https://huggingface.co/Genentech/human-chromhmm-fullstack-model",
        notes="architecture, input length and tasks are read from the checkpoint",
    ),
    ModelRecord(
        name="GM12878_dnase",
        kind=PRETRAINED,
        summary="DNase-seq signal in GM12878 (gReLU paper's variant-effect example)",
        repo_id="Genentech/GM12878_dnase-model",
        revision=None,
        files=(WeightsFile("model.ckpt", "human"),),
        task_type="regression",
        genome="hg38",
        license="MIT",
        citation=GRELU_CITATION,
        url="https://huggingface.co/Genentech/GM12878_dnase-model",
        notes="revision not pinned; architecture, input length and tasks come from the checkpoint",
    ),
    ModelRecord(
        name="human-mpra-gosai-2024",
        kind=PRETRAINED,
        summary="MPRA activity in K562, HepG2, SK-N-SH (data of Gosai et al. 2024)",
        repo_id="Genentech/human-mpra-gosai-2024-model",
        revision=None,
        files=(WeightsFile("model.ckpt", "human"),),
        task_type="regression",
        genome="hg38",
        license="MIT",
        citation=GRELU_CITATION + "; data: Gosai S.J. et al. Nature (2024)",
        url="https://huggingface.co/Genentech/human-mpra-gosai-2024-model",
        notes="revision not pinned; architecture, input length and tasks come from the checkpoint",
    ),
    ModelRecord(
        name="decima",
        kind=EXTERNAL,
        summary="Decima: single-cell gene expression from sequence (needs the decima package)",
        architecture=None,
        repo_id="Genentech/decima-model",
        input_bp=524_288,
        task_type="regression",
        genome="hg38",
        url="https://huggingface.co/Genentech/decima-model",
        citation="Decima (Genentech); https://github.com/Genentech/decima",
        notes="Decima checkpoints use decima's own LightningModel (Borzoi trunk, 8,856 "
        "pseudobulk tasks); grelu-cli lists it but cannot load it",
    ),
)

_ARCHITECTURES: tuple[ModelRecord, ...] = tuple(
    ModelRecord(
        name=a.name,
        kind=ARCHITECTURE,
        summary=a.summary,
        architecture=a.name,
        input_bp=a.input_bp,
        required_params=("n_tasks", *a.required),
        citation=GRELU_CITATION,
        license="MIT (gReLU)",
        notes=a.note,
    )
    for a in architectures.ARCHITECTURES
)

REGISTRY: MappingProxyType[str, ModelRecord] = MappingProxyType(
    {r.name: r for r in (*_PRETRAINED, *_ARCHITECTURES)}
)


def list_models(pattern: str | None = None, kind: str | None = None) -> list[ModelRecord]:
    """Records whose name (or repo id) matches the glob ``pattern``, case-insensitively.

    ``list_models('*borzoi*')`` finds the pretrained Borzoi and both Borzoi architectures.
    A pattern without glob characters matches as a substring.
    """
    out = []
    pat = (pattern or "*").lower()
    if not any(c in pat for c in "*?["):
        pat = f"*{pat}*"
    for rec in REGISTRY.values():
        if kind is not None and rec.kind != kind:
            continue
        names = [rec.name.lower()] + ([rec.repo_id.lower()] if rec.repo_id else [])
        if any(fnmatch.fnmatchcase(n, pat) for n in names):
            out.append(rec)
    return out


def find_record(name: str) -> ModelRecord | None:
    """The record named ``name`` (case-insensitive), or whose repo id is ``name``; else None."""
    key = name.strip().lower()
    for rec in REGISTRY.values():
        if rec.name.lower() == key or (rec.repo_id and rec.repo_id.lower() == key):
            return rec
    return None


def get_record(name: str) -> ModelRecord:
    """Like :func:`find_record` but raises :class:`UsageError` listing close names."""
    rec = find_record(name)
    if rec is None:
        close = close_matches(name, REGISTRY)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise UsageError(f"unknown model '{name}'", fix=hint + "see 'grelu models list'")
    return rec


def close_matches(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` of ``choices`` spelled like ``name`` (case-insensitive), in their own case.

    The cutoff (0.75) keeps typos (``borzio``, ``convmodle``, ``Enformr``) and drops names that
    merely share a part (``notamodel`` is not close to ``ConvModel``; difflib's default 0.6
    suggested it).
    """
    import difflib

    by_lower = {c.lower(): c for c in choices}
    found = difflib.get_close_matches(name.lower(), list(by_lower), n=n, cutoff=0.75)
    return [by_lower[f] for f in found]
