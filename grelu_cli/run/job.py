"""Run any job: the entry points the CLI and the Python API call, whatever the job kind.

:func:`run_job` runs a :class:`~grelu_cli.run.config.PredictJob` (``grelu predict``,
:mod:`grelu_cli.run.predict_run`) or a :class:`~grelu_cli.run.variant_job.VariantJob`
(``grelu variants``, :mod:`grelu_cli.run.variants`) or an
:class:`~grelu_cli.run.ism_job.ISMJob` (``grelu ism``, :mod:`grelu_cli.run.ism_run`) or
:class:`~grelu_cli.run.attribute_job.AttributeJob` (``grelu attribute``,
:mod:`grelu_cli.run.attribute_run`) to its output and returns its summary;
:func:`dry_run` checks one without predicting. Both report through a
:class:`~grelu_cli.run.observer.RunObserver` and raise :mod:`grelu_cli.errors` exceptions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast, overload

from grelu_cli.run.config import PredictJob
from grelu_cli.run.observer import RunObserver
from grelu_cli.run.predict_checks import check_cheap
from grelu_cli.run.signals import sigterm_as_interrupt
from grelu_cli.run.summary import DryRunReport, PredictSummary, VariantCheck, VariantSummary

if TYPE_CHECKING:
    from grelu_cli.run.attribute_job import AttributeJob
    from grelu_cli.run.attribute_run import AttributeSummary
    from grelu_cli.run.ism_job import ISMJob
    from grelu_cli.run.ism_summary import ISMSummary
    from grelu_cli.run.variant_job import VariantJob

__all__ = [
    "DryRunReport",
    "PredictSummary",
    "check_cheap",
    "dry_run",
    "run_job",
    "sigterm_as_interrupt",
]


@overload
def run_job(job: PredictJob, observer: RunObserver | None = None) -> PredictSummary: ...
@overload
def run_job(job: VariantJob, observer: RunObserver | None = None) -> VariantSummary: ...
@overload
def run_job(job: ISMJob, observer: RunObserver | None = None) -> ISMSummary: ...
@overload
def run_job(job: AttributeJob, observer: RunObserver | None = None) -> AttributeSummary: ...
def run_job(
    job: PredictJob | VariantJob | ISMJob | AttributeJob, observer: RunObserver | None = None
) -> PredictSummary | VariantSummary | ISMSummary | AttributeSummary:
    """Run ``job`` to its output; raises :mod:`grelu_cli.errors` exceptions, prints nothing."""
    if isinstance(job, PredictJob):
        from grelu_cli.run.predict_run import run_predict

        return run_predict(job, observer)
    from grelu_cli.run.ism_job import ISMJob

    if isinstance(job, ISMJob):
        from grelu_cli.run.ism_run import run_ism

        return run_ism(job, observer)
    if job.kind == "attribute":
        from grelu_cli.run.attribute_run import run_attribute

        return run_attribute(cast("AttributeJob", job), observer)
    from grelu_cli.run.variants import run_variants

    return run_variants(cast("VariantJob", job), observer)


@overload
def dry_run(job: PredictJob) -> DryRunReport: ...
@overload
def dry_run(job: VariantJob) -> VariantCheck: ...
@overload
def dry_run(job: ISMJob) -> DryRunReport: ...
@overload
def dry_run(job: AttributeJob) -> DryRunReport: ...
def dry_run(job: PredictJob | VariantJob | ISMJob | AttributeJob) -> DryRunReport | VariantCheck:
    """Check the input against the genome and model; predict nothing, write nothing. Both
    reports have ``lines`` and ``ok``."""
    if isinstance(job, PredictJob) and job.gene_level:
        from grelu_cli.run.gene_checks import dry_run_genes

        return dry_run_genes(job)
    if isinstance(job, PredictJob):
        from grelu_cli.run.predict_checks import dry_run_predict

        return dry_run_predict(job)
    from grelu_cli.run.ism_job import ISMJob

    if isinstance(job, ISMJob):
        from grelu_cli.run.ism_run import dry_run_ism

        return dry_run_ism(job)
    if job.kind == "attribute":
        from grelu_cli.run.attribute_run import dry_run_attribute

        return dry_run_attribute(cast("AttributeJob", job))
    from grelu_cli.run.variant_check import dry_run_variants

    return dry_run_variants(cast("VariantJob", job))
