"""Shared pieces for the ``grelu predict`` end-to-end tests: tiny genomes and checkpoints, a
CLI runner, and an independent oracle that calls the model directly.

The oracle reads the FASTA text itself, one-hot encodes with its own table, reverse-complements
minus-strand windows, applies the activation and flips outputs back to genome orientation. It
shares nothing with ``grelu_cli.genome``/``grelu_cli.predict`` except the loaded ``nn.Module``,
so the CLI's coordinates, padding and strand handling are checked, not re-used.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from typer.testing import CliRunner

from grelu_cli.cli import app

REPO = Path(__file__).resolve().parents[2]
REF = REPO / "tests" / "data" / "reference"
GRELU = REPO / ".venv" / "bin" / "grelu"

# The tiny model every test builds: ConvModel, max pool 2 -> 2 bp bins, crop 3 bins per side.
SEQ_LEN = 200
BIN = 2
CROP = 3
N_BINS = SEQ_LEN // BIN - 2 * CROP  # 94
TASKS = ["t_dnase", "t_cage_k", "t_cage_h"]
TASKS_TSV = (
    "name\tassay\tsample\nt_dnase\tDNASE\tK562\nt_cage_k\tCAGE\tK562\nt_cage_h\tCAGE\tHepG2\n"
)
MODEL_PARAMS = [
    "final_pool_func=None",
    "stem_channels=8",
    "channel_init=8",
    "n_conv=2",
    "pool_func=max",
    "pool_size=2",
    f"crop_len={CROP}",
]
# Not in name order: outputs must follow the genome index order.
CHROM_SIZES = {"chrB": 1500, "chrA": 3000, "chrC": 800}

LONG_COLUMNS = [
    "name",
    "chrom",
    "start",
    "end",
    "strand",
    "window_start",
    "window_end",
    "padded",
    "task",
    "bin",
    "bin_start",
    "bin_end",
    "value",
]
WIDE_LEADING = [c for c in LONG_COLUMNS if c not in ("task", "value")]


# ----------------------------------------------------------------------------- CLI


def invoke(*args: str | Path):
    """Run ``grelu ARGS`` in-process (the root group's ``main`` maps errors to exit codes)."""
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(*args: str | Path):
    """Run and require exit 0."""
    result = invoke(*args)
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
    return result


def one_error_line(result) -> str:
    """The single ``error: ...`` line of a failed run (nothing else on stderr, no traceback)."""
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines and lines[-1].startswith("error: "), result.stderr
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.output and "╭" not in result.stderr, result.output
    return lines[-1]


def listing(directory: Path) -> dict[str, int]:
    """Every file and directory under ``directory`` (hidden ones included) -> size."""
    out = {}
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            p = Path(root) / name
            out[str(p.relative_to(directory))] = p.stat().st_size if p.is_file() else -1
    return out


# ----------------------------------------------------------------------------- data


def random_seq(n: int, rng: np.random.Generator) -> str:
    return "".join(rng.choice(list("ACGT"), size=n))


def write_genome(path: Path, seqs: dict[str, str]) -> Path:
    """FASTA with 60-base lines and a description after the name."""
    with open(path, "w") as f:
        for name, seq in seqs.items():
            f.write(f">{name} test chromosome\n")
            f.writelines(seq[i : i + 60] + "\n" for i in range(0, len(seq), 60))
    return path


def make_genome(directory: Path, seed: int = 0) -> Path:
    """``directory/genome.fa``: chrA/chrB/chrC of random bases with some soft-masking and an
    N run (so padding and case are exercised)."""
    rng = np.random.default_rng(seed)
    seqs = {c: random_seq(n, rng) for c, n in CHROM_SIZES.items()}
    a = seqs["chrA"]
    seqs["chrA"] = a[:500] + a[500:560].lower() + a[560:1000] + "N" * 40 + a[1040:]
    directory.mkdir(parents=True, exist_ok=True)
    return write_genome(directory / "genome.fa", seqs)


def build_model(
    directory: Path, extra: Sequence[str] = (), name: str = "m.ckpt", tasks_tsv: str = TASKS_TSV
) -> Path:
    """A tiny ConvModel checkpoint (exp activation, tasks table with assay/sample columns)."""
    directory.mkdir(parents=True, exist_ok=True)
    tasks = directory / f"{name}.tasks.tsv"
    tasks.write_text(tasks_tsv)
    out = directory / name
    args = ["models", "build", "ConvModel", "--tasks", tasks, "--seq-len", str(SEQ_LEN)]
    args += ["--loss", "poisson", "-o", out]
    for p in [*MODEL_PARAMS, *extra]:
        args += ["--param", p]
    ok(*args)
    return out


def write_bed(path: Path, rows: Sequence[tuple]) -> Path:
    path.write_text("".join("\t".join(str(v) for v in row) + "\n" for row in rows))
    return path


class Env:
    """A working directory: ``genome/genome.fa``, ``model/m.ckpt`` and ``out/<name>/`` output
    directories kept apart from them, so a test can compare an output directory's listing."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.genome = make_genome(root / "genome")
        self.model = build_model(root / "model")
        self.oracle = Oracle(self.model, self.genome)
        self.chroms = read_fasta(self.genome)

    def out(self, name: str) -> Path:
        """A fresh, empty output directory."""
        d = self.root / "out" / name
        d.mkdir(parents=True)
        return d

    def bed(self, name: str, rows: Sequence[tuple]) -> Path:
        (self.root / "beds").mkdir(exist_ok=True)
        return write_bed(self.root / "beds" / name, rows)


def centered(start: int, end: int, length: int = SEQ_LEN) -> tuple[int, int]:
    """gReLU's resize (end="both"): ``ceil((s + e) / 2 - L / 2)``, odd extra base right."""
    import math

    s = math.ceil((start + end) / 2 - length / 2)
    return s, s + length


def read_parquet(path: Path):
    """(pandas DataFrame, pyarrow schema) read with pyarrow."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return table.to_pandas(), table.schema


def metadata(path: Path) -> dict:
    import json

    import pyarrow.parquet as pq

    return json.loads(pq.read_schema(path).metadata[b"grelu"])


# ----------------------------------------------------------------------------- oracle

_COMP = str.maketrans("ACGTNacgtn", "TGCANtgcan")
_ROW = {"A": 0, "C": 1, "G": 2, "T": 3}


def read_fasta(path: Path) -> dict[str, str]:
    """Plain-text FASTA reader: name (first word) -> sequence."""
    seqs: dict[str, list[str]] = {}
    name = None
    for line in Path(path).read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            seqs[name] = []
        elif name is not None:
            seqs[name].append(line.strip())
    return {k: "".join(v) for k, v in seqs.items()}


def revcomp(seq: str) -> str:
    return seq.translate(_COMP)[::-1]


def encode(seq: str) -> np.ndarray:
    """(4, L) float32, rows A C G T; case-insensitive; anything else is a zero column."""
    out = np.zeros((4, len(seq)), dtype=np.float32)
    for j, base in enumerate(seq.upper()):
        if base in _ROW:
            out[_ROW[base], j] = 1.0
    return out


def window_seq(genome: dict[str, str], chrom: str, start: int, end: int) -> str:
    """Genome bases of ``[start, end)``, N outside the chromosome."""
    seq = genome[chrom]
    left = max(0, -start)
    right = max(0, end - len(seq))
    return "N" * left + seq[max(start, 0) : min(end, len(seq))] + "N" * right


class Oracle:
    """Direct model calls: ``predict(chrom, ws, we, strand) -> (T, B)`` in genome order."""

    def __init__(self, checkpoint: Path, genome: Path | None, activation: str = "exp") -> None:
        from grelu_cli.zoo import load_model

        self.model = load_model(checkpoint).model.eval()
        self.genome = read_fasta(genome) if genome is not None else {}
        self.activation = activation

    def raw_seq(self, seq: str, strand: str = "+", logits: bool = False) -> np.ndarray:
        """Model output for one sequence, (T, B), in the orientation of ``seq``."""
        fed = revcomp(seq) if strand == "-" else seq
        with torch.inference_mode():
            y = self.model(torch.from_numpy(encode(fed))[None]).double()[0]
        if not logits and self.activation == "exp":
            y = torch.exp(y)
        y = y.numpy()
        return y[:, ::-1] if strand == "-" else y

    def predict(
        self, chrom: str, start: int, end: int, strand: str = "+", logits: bool = False
    ) -> np.ndarray:
        return self.raw_seq(window_seq(self.genome, chrom, start, end), strand, logits)


def bin_bounds(window_start: int, n_bins: int = N_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Genome span of each output bin (README formula, with this file's BIN/CROP constants)."""
    j = np.arange(n_bins)
    return window_start + (CROP + j) * BIN, window_start + (CROP + j + 1) * BIN


def long_to_array(df, tasks: Sequence[str]) -> np.ndarray:
    """Rows of ONE region of a long table -> (T, B) ordered by task list and bin."""
    df = df.sort_values("bin")
    return np.stack([df[df["task"] == t]["value"].to_numpy(np.float64) for t in tasks])
