"""The allowed range of every numeric option of ``grelu predict`` and ``grelu variants``.

Without bounds a typo exhausts the machine: ``--shifts 1000000000`` allocates until the kernel
kills the run, ``--threads 100000`` runs out of memory, ``--seq-len 10000000000`` pads 10^10
bases before failing. :data:`RANGES` holds each option's range as data (the README's options
paragraphs list the same numbers). :func:`check_options` checks a job's options against them
(and the form of ``--device``) before anything is read or loaded; :func:`check_window` checks
what depends on the window length once the model has said it; :func:`check_devices_here`
checks, before the model loads, that ``--device``/``--devices`` exist on this machine. They
raise :class:`~grelu_cli.errors.UsageError` (exit 2) naming the option, the value and the
allowed range (a device this machine lacks is exit 4). Pure Python: torch only for devices.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from grelu_cli.errors import UsageError
from grelu_cli.run.identity import option_name

#: CPUs of this machine (threads and reader processes are bounded by a multiple of it).
CPU_COUNT = os.cpu_count() or 1
#: The longest window any option may ask for: 16 Mb, 16x the longest published model input
#: (AlphaGenome's 1 Mb); one such window's one-hot input is already 256 MiB of float32.
SEQ_LEN_MAX = 2**24
#: Torch threads and reader processes: oversubscribing a CPU more than 4x only adds
#: scheduling and memory (each thread and process has its own buffers).
THREADS_MAX = 4 * CPU_COUNT
#: Windows per forward pass: 64x the largest automatic GPU batch (1,024).
BATCH_MAX = 65_536
#: Windows per committed chunk (--chunk-windows) or records per chunk (--chunk-records).
CHUNK_MAX = 2**20
#: Zoo replicates are numbered from 0; no published model has more than a few dozen.
REPLICATE_MAX = 999


@dataclass(frozen=True)
class Range:
    """``lo <= value <= hi`` (finite); ``why`` is the reason for the bound (the error's fix)."""

    lo: float
    hi: float
    why: str

    def text(self) -> str:
        """``0..16,777,215`` or ``a finite number >= 0``."""
        if math.isinf(self.hi):
            return f"a finite number >= {self.lo:g}"
        return f"{int(self.lo):,}..{int(self.hi):,}"


#: Every bounded option, by its keyword name (``--max-indel-len`` -> ``max_indel_len``).
RANGES: dict[str, Range] = {
    "seq_len": Range(1, SEQ_LEN_MAX, "16 Mb: 16x the longest published model input"),
    "shifts": Range(0, SEQ_LEN_MAX - 1, "a shift must be shorter than the window"),
    "bins": Range(1, SEQ_LEN_MAX, "a window has at most one output bin per base"),
    "batch_size": Range(1, BATCH_MAX, "or auto: the largest batch that fits"),
    "threads": Range(1, THREADS_MAX, f"at most 4x the {CPU_COUNT} CPUs of this machine"),
    "num_workers": Range(0, THREADS_MAX, f"at most 4x the {CPU_COUNT} CPUs of this machine"),
    "chunk_windows": Range(1, CHUNK_MAX, "a chunk is committed as one part file"),
    "chunk_records": Range(1, CHUNK_MAX, "a chunk is committed as one part file"),
    "chunk_regions": Range(1, CHUNK_MAX, "a chunk is committed as one part file"),
    "ism_width": Range(1, SEQ_LEN_MAX, "at most one mutated position per base of the window"),
    "max_indel_len": Range(0, SEQ_LEN_MAX - 1, "an allele must fit in the window"),
    "replicate": Range(0, REPLICATE_MAX, "zoo replicates are numbered 0, 1, ..."),
    "pseudocount": Range(0, math.inf, "NaN or inf would make every log2fc NaN"),
}


def check_value(key: str, value: float) -> None:
    """``value`` of option ``key`` is a finite number inside ``RANGES[key]``."""
    rng = RANGES[key]
    if not (math.isfinite(value) and rng.lo <= value <= rng.hi):
        raise UsageError(
            f"{option_name(key)} {value} is out of range: allowed {rng.text()}",
            fix=rng.why,
        )


def check_options(options: Mapping[str, object]) -> None:
    """Every bounded option in ``options`` (a job's options by keyword name, None for unset).

    Also what follows from an explicit ``seq_len``: ``shifts`` below it, and ``seq_len`` no
    longer than the longest chromosome of ``--genome`` when its ``.fai`` index exists (a
    window longer than every chromosome is mostly padding). Not the longest ``--fasta``
    record: short sequences padded to a longer model input are a normal use.
    """
    for key in RANGES:
        value = options.get(key)
        if value is None:
            continue
        if key == "batch_size":
            from grelu_cli.predict.batch_size import parse_batch_size

            value = parse_batch_size(value)  # type: ignore[arg-type]  # str | int
            if value is None:  # auto
                continue
        if isinstance(value, (int, float)):
            check_value(key, value)
    device = options.get("device")
    if isinstance(device, str):
        from grelu_cli.predict.device import parse_device

        parse_device(device)  # its form only; whether it exists here needs torch
    seq_len = options.get("seq_len")
    if isinstance(seq_len, int):
        shifts = options.get("shifts")
        check_window(seq_len, shifts if isinstance(shifts, int) else 0)
        genome = options.get("genome")
        if isinstance(genome, str):
            _check_longest(seq_len, genome)


def check_window(seq_len: int, shifts: int) -> None:
    """What the window length bounds, once it is known (``--seq-len`` or the model's)."""
    check_value("seq_len", seq_len)
    if shifts >= seq_len:
        raise UsageError(
            f"--shifts {shifts} is out of range for windows of {seq_len:,} bp: "
            f"allowed 0..{seq_len - 1:,}",
            fix="a shift must be shorter than the window",
        )


def longest_indexed(fasta: str) -> tuple[str, int] | None:
    """The longest record ``(name, length)`` of ``fasta`` by its ``.fai`` index; None when
    there is no readable index (the genome reader builds, checks and reports it later)."""
    from grelu_cli.errors import InputDataError
    from grelu_cli.genome.faidx_check import read_fai_records

    fai = fasta + ".fai"
    try:
        records = read_fai_records(fai) if os.path.isfile(fai) else []
    except (OSError, ValueError, InputDataError):  # ValueError: a NUL in the path
        return None
    if not records:
        return None
    longest = max(records, key=lambda r: r.length)  # the first of equals, in index order
    return longest.name, longest.length


def _check_longest(seq_len: int, genome: str) -> None:
    longest = longest_indexed(genome)
    if longest is not None and seq_len > longest[1]:
        name, length = longest
        raise UsageError(
            f"--seq-len {seq_len:,} is longer than the longest chromosome of --genome {genome} "
            f"({name}, {length:,} bp)",
            fix=f"use --seq-len {length:,} or less, or leave it to the model",
        )


def check_devices_here(device: str | None, devices: str | None) -> None:
    """``--device`` and ``--devices`` name devices this machine has (imports torch for CUDA).

    Called before the model loads. A malformed spec (``tpu``, ``cuda:-1``) is exit 2; a
    well-formed one this machine lacks (``cuda:7``, ``all`` without a GPU) is exit 4.
    """
    from grelu_cli.predict.device import check_device

    check_device(device)
    if devices is not None:
        from grelu_cli.run.devices import check_devices, parse_devices

        check_devices(parse_devices(devices), devices)
