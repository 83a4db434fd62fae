"""Helpers and fixtures for workflow tests: a tiny genome, overlapping regions and a profile model.

The model (built with ``grelu models build``) predicts 3 tasks in 2 bp bins with 3 bins
cropped per side; regions are 150-250 bp every ~97 bp on both strands, so neighbouring
windows overlap (also across every shard boundary) at offsets that are not multiples of the
bin size, and a few windows run off a chromosome end (N padding, a warning).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from grelu_cli.cli import app

REPO = Path(__file__).resolve().parents[2]
SEQ_LEN = 200
TASKS = ["t_a", "t_b", "t_c"]
MODEL_PARAMS = [
    "final_pool_func=None",
    "stem_channels=8",
    "channel_init=8",
    "n_conv=2",
    "pool_func=max",
    "pool_size=2",
    "crop_len=3",
]
CHROM_SIZES = {"chrB": 2500, "chrA": 4000}  # not in name order


def invoke(*args: str | Path):
    """``grelu ARGS`` in-process; the root group maps errors to exit codes as for users."""
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(*args: str | Path):
    result = invoke(*args)
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
    return result


def grelu_cmd() -> list[str]:
    """The command line of the project's ``grelu`` (this interpreter's package)."""
    return [sys.executable, "-m", "grelu_cli"]


def metadata(path: Path) -> dict:
    import pyarrow.parquet as pq

    return json.loads(pq.read_schema(path).metadata[b"grelu"])


def read_table(path: Path):
    import pyarrow.parquet as pq

    return pq.read_table(path)


def bigwig_values(path: Path) -> dict[str, np.ndarray]:
    import pyBigWig

    bw = pyBigWig.open(str(path))
    try:
        return {c: np.array(bw.values(c, 0, n)) for c, n in bw.chroms().items()}
    finally:
        bw.close()


@dataclass
class Workspace:
    root: Path
    genome: Path
    bed: Path
    model: Path
    n_regions: int
    #: An odd batch size, so shards, chunks and the run's tail cut odd batches: their
    #: boundaries fall on batch boundaries, and the bits must still equal one plain run.
    batch: int = 5

    def out(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def base(self, device: bool = True) -> list[str]:
        args = [
            "-m",
            str(self.model),
            "--bed",
            str(self.bed),
            "-g",
            str(self.genome),
            "-q",
            "--batch-size",
            str(self.batch),
        ]
        return [*args, "--device", "cpu"] if device else args


def write_genome(path: Path, sizes: dict[str, int], seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    with open(path, "w") as handle:
        for chrom, n in sizes.items():
            seq = "".join(rng.choice(list("ACGT"), n))
            handle.write(f">{chrom}\n")
            for i in range(0, n, 70):
                handle.write(seq[i : i + 70] + "\n")


def write_regions(path: Path, sizes: dict[str, int], seed: int = 3) -> int:
    rng = np.random.default_rng(seed)
    lines = []
    for chrom, n in sizes.items():
        start = 5
        while start < n - 60:
            width = int(rng.integers(150, 250))
            strand = "+-"[len(lines) % 2]
            end = min(start + width, n)
            lines.append(f"{chrom}\t{start}\t{end}\tr{len(lines)}\t0\t{strand}\n")
            start += int(rng.integers(90, 105))
    path.write_text("".join(lines))
    return len(lines)


@pytest.fixture(scope="session")
def ws(tmp_path_factory) -> Workspace:
    root = tmp_path_factory.mktemp("workflow")
    genome, bed, model = root / "genome.fa", root / "regions.bed", root / "model.ckpt"
    write_genome(genome, CHROM_SIZES)
    n = write_regions(bed, CHROM_SIZES)
    tasks = root / "tasks.txt"
    tasks.write_text("".join(t + "\n" for t in TASKS))
    params = [a for p in MODEL_PARAMS for a in ("--param", p)]
    ok(
        "models",
        "build",
        "ConvModel",
        "--tasks",
        tasks,
        "--seq-len",
        SEQ_LEN,
        "--loss",
        "poisson",
        *params,
        "-o",
        model,
    )
    return Workspace(root, genome, bed, model, n)


@pytest.fixture(scope="session")
def unsharded(ws: Workspace) -> dict[str, Path]:
    """One plain run of each output kind: parquet long, parquet wide, bigWig."""
    out = ws.out("unsharded")
    paths = {"long": out / "long.parquet", "wide": out / "wide.parquet", "bigwig": out / "bw"}
    ok("predict", *ws.base(), "-o", paths["long"])
    ok("predict", *ws.base(), "--layout", "wide", "-o", paths["wide"])
    ok("predict", *ws.base(), "-o", f"{paths['bigwig']}/")
    return paths


def subprocess_env() -> dict[str, str]:
    """Environment for ``grelu`` subprocesses: this repo importable. (Not OMP_NUM_THREADS=1:
    it changes the last bit of torch's CPU convolutions, --threads does not.)"""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_cli(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [*grelu_cmd(), *map(str, args)], capture_output=True, text=True, env=subprocess_env()
    )
    if check:
        assert proc.returncode == 0, (proc.returncode, proc.stderr)
    return proc
