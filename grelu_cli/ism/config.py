"""``grelu ism``'s own options as data, and their cheap checks (no torch, no model).

:class:`ISMConfig` is the job kind's part of an :class:`~grelu_cli.run.ism_job.ISMJob`
(the shared parts are :mod:`grelu_cli.run.config`'s). Field names follow the CLI options.
"""

from __future__ import annotations

from dataclasses import dataclass

from grelu_cli.core.choices import check_choice
from grelu_cli.errors import UsageError
from grelu_cli.ism.scores import ISM_SCORES

#: ``--ism-method``: auto (fast where the model allows it, else plain), fast, plain.
ISM_METHODS = ("auto", "fast", "plain")
#: ``--allele`` for ``--vcf`` input: the window's reference or alternate sequence.
ALLELES = ("ref", "alt")
#: ``--ism-width``' default: the central bases of each region that are mutated.
DEFAULT_ISM_WIDTH = 200


@dataclass(frozen=True)
class ISMConfig:
    """What to mutate and how to score it.

    Attributes:
        ism_width: the central W bases of each region (whole region when shorter).
        ism_start, ism_end: or a fixed span of window offsets (0-based, half-open).
        ism_score: ``diff`` or ``log2fc``; ``pseudocount``: c of ``log2fc``.
        ism_method: ``auto``, ``fast`` or ``plain``.
        vcf: variants whose windows are mutated (as ``grelu variants`` places them);
            ``allele``: ``ref`` or ``alt`` sequence of each window.
    """

    ism_width: int = DEFAULT_ISM_WIDTH
    ism_start: int | None = None
    ism_end: int | None = None
    ism_score: str = "diff"
    pseudocount: float = 0.0
    ism_method: str = "auto"
    vcf: str | None = None
    allele: str = "ref"


def check_ism_config(cfg: ISMConfig) -> None:
    """Option values and their combinations (UsageError, exit 2)."""
    check_choice(cfg.ism_score, ISM_SCORES, "--ism-score")
    check_choice(cfg.ism_method, ISM_METHODS, "--ism-method")
    check_choice(cfg.allele, ALLELES, "--allele")
    if (cfg.ism_start is None) != (cfg.ism_end is None):
        raise UsageError(
            "--ism-start and --ism-end go together", fix="give both, or neither and --ism-width"
        )
    start, end = cfg.ism_start, cfg.ism_end
    if start is not None and end is not None and not 0 <= start < end:
        raise UsageError(
            f"--ism-start {start} --ism-end {end} is not a span of window offsets",
            fix="use 0 <= start < end <= the model's input length",
        )
    if cfg.ism_width < 1:
        raise UsageError(f"--ism-width {cfg.ism_width} must be at least 1", fix="use e.g. 200")
    if cfg.allele != "ref" and cfg.vcf is None:
        raise UsageError("--allele applies to --vcf input only", fix="drop --allele")
    if cfg.ism_score == "diff" and cfg.pseudocount != 0.0:
        raise UsageError(
            "--pseudocount applies to --ism-score log2fc only", fix="drop it or use log2fc"
        )
