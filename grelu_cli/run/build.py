"""Set a job up for predicting: load the model, prepare and check the input, build the
predictor. Heavy imports (torch through the zoo and the predictor) happen here, lazily.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from grelu_cli.errors import UsageError
from grelu_cli.run.batches import predicted_blocks
from grelu_cli.run.config import JobParts, PredictJob
from grelu_cli.run.limits import check_devices_here, check_window
from grelu_cli.run.observer import RunObserver

if TYPE_CHECKING:
    from grelu_cli.core.block import Block
    from grelu_cli.genome.inputs import PreparedInput
    from grelu_cli.predict.loop import Predictor
    from grelu_cli.zoo.loader import LoadedModel


@dataclass
class BuiltRun:
    """A job set up for predicting: model, validated input and predictor."""

    job: PredictJob
    loaded: LoadedModel
    seq_len: int
    inp: PreparedInput
    predictor: Predictor

    def blocks(self, lo: int, hi: int) -> Iterator[Block]:
        """Writer blocks of windows ``[lo, hi)``, in input order."""
        return predicted_blocks(self.inp, self.predictor, lo, hi, self.job.run.num_workers)


def load_and_prepare(
    job: PredictJob, observer: RunObserver | None = None
) -> tuple[LoadedModel, int, PreparedInput]:
    """Load the model and read the input into a window plan (not yet checked)."""
    loaded = load(job, show_downloads=observer is not None and observer.show_downloads)
    seq_len = input_length(job, loaded)
    return loaded, seq_len, prepare(job, seq_len, loaded.geometry)


def input_length(job: JobParts, loaded: LoadedModel) -> int:
    """``--seq-len``, else the model's recorded input length (UsageError without one)."""
    seq_len = job.model.seq_len if job.model.seq_len is not None else loaded.seq_len
    if seq_len is None:
        raise UsageError(
            f"model {loaded.name} does not record its input length", fix="pass --seq-len N"
        )
    check_window(int(seq_len), job.predict.shifts)  # --shifts below the model's window length
    return int(seq_len)


def finish_build(
    job: PredictJob,
    loaded: LoadedModel,
    seq_len: int,
    inp: PreparedInput,
    observer: RunObserver | None,
    device: str | None = None,
) -> BuiltRun:
    """Check the input (raising its first error), resolve tasks, build the predictor."""
    inp.check()
    if observer is not None:
        for message in inp.report.warnings:  # errors were raised above
            observer.warn(message)
        if inp.report.n_warnings > len(inp.report.warnings):
            more = inp.report.n_warnings - len(inp.report.warnings)
            observer.warn(f"... and {more} more warnings", count=more)

    from grelu_cli.predict.tasks import resolve_tasks

    pred = job.predict
    selected = resolve_tasks(
        loaded.tasks,
        names=list(pred.tasks) if pred.tasks is not None else None,
        file=pred.tasks_file,
        query=pred.tasks_query,
        model=job.model.model,
    )
    predictor = make_predictor(job, loaded, seq_len, selected, device or job.run.device)
    if observer is not None and predictor.device.type == "cpu" and pred.precision == "bf16":
        from grelu_cli.predict.device import cpu_has_fast_bf16

        if not cpu_has_fast_bf16():
            observer.warn(
                "--precision bf16: this CPU has no bf16 hardware (AVX-512 BF16 or AMX), so "
                "bf16 runs several times slower than fp32 here; use --precision fp32"
            )
    return BuiltRun(job, loaded, seq_len, inp, predictor)


def build_run(job: PredictJob, observer: RunObserver | None = None) -> BuiltRun:
    """Everything at once (what a device worker process does)."""
    loaded, seq_len, inp = load_and_prepare(job, observer)
    return finish_build(job, loaded, seq_len, inp, observer)


def load(job: JobParts, show_downloads: bool = False) -> LoadedModel:
    """The job's model, on the CPU, in eval mode (a replicate ensemble for several
    ``--replicate``)."""
    from grelu_cli.zoo import load_model
    from grelu_cli.zoo.build import parse_param

    check_devices_here(job.run.device, job.run.devices)  # exit 2 malformed, 4 not here
    m = job.model
    params = dict(parse_param(p) for p in m.param) if m.arch else None
    if isinstance(m.replicate, tuple):  # several replicates: one averaging ensemble
        from grelu_cli.zoo.ensemble import load_replicates

        return load_replicates(
            m.model,
            m.replicate,
            species=m.species,
            trust_checkpoint=m.trust_checkpoint,
            logits=job.predict.logits,
            progress=show_downloads,
        )
    return load_model(
        m.model,
        replicate=m.replicate,
        species=m.species,
        trust_checkpoint=m.trust_checkpoint,
        logits=job.predict.logits,
        arch=m.arch,
        model_params=params,
        progress=show_downloads,
    )


def prepare(job: PredictJob, seq_len: int, geometry: Any) -> PreparedInput:
    """Read the input and plan its windows (problems collected in ``.report``)."""
    from grelu_cli.genome.inputs import prepare_input

    i = job.input
    return prepare_input(
        bed=i.bed,
        fasta=i.fasta,
        regions=list(i.region),
        chroms=list(i.chrom),
        genome=i.genome,
        chrom_alias=i.chrom_alias,
        seq_len=seq_len,
        geometry=geometry,
        tile=i.tiles,
        edge=i.edge,
        center_bins=job.predict.bins,
    )


def make_predictor(
    job: JobParts, loaded: LoadedModel, seq_len: int, selected: Any, device: str
) -> Predictor:
    """The predictor on ``device`` with the job's prediction options."""
    from grelu_cli.predict.loop import PredictOptions, Predictor

    p = job.predict
    opts = PredictOptions(
        device=device,
        precision=p.precision,
        batch_size=p.batch_size,
        threads=job.run.threads,
        rc=p.rc,
        shifts=p.shifts,
        logits=p.logits,
        untransform=p.untransform,
        untransform_mode=p.untransform_mode,
        aggregate=p.aggregate,
        center_bins=p.bins,
        compile=p.compile,
        # Reusing freed memory (glibc's trim/mmap off) pays only when every writer runs on
        # the background thread, which the chunked (resume/devices) path does not do.
        keep_memory=not job.chunked,
    )
    return Predictor(
        loaded.model,
        seq_len=seq_len,
        options=opts,
        activation=loaded.activation,
        tasks=loaded.tasks,
        selected=selected,
        geometry=loaded.geometry,
    )


def provenance(job: PredictJob, run: BuiltRun) -> dict[str, Any]:
    """The output's provenance record: model, genome, options, counts, geometry, versions."""
    import torch

    from grelu_cli.io.formats.provenance import build_provenance

    loaded, inp = run.loaded, run.inp
    return build_provenance(
        model=loaded.name,
        model_path=loaded.path,
        weights_sha256=loaded.sha256,
        genome=inp.genome.path if inp.genome is not None else None,
        options=job.options(),
        counts=inp.counts().as_dict(),
        tasks=run.predictor.task_names,
        extra={
            "model_info": loaded.provenance(),
            "input": inp.provenance(),
            "seq_len": run.predictor.seq_len,
            "geometry": asdict(loaded.geometry),
            "torch": str(torch.__version__),
        },
    )
