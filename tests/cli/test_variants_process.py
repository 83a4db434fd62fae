"""``grelu variants`` as a real process: SIGTERM/SIGINT mid-run exits 130 and leaves neither
the output nor its ``.NAME.partial`` behind."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli.predict_helpers import GRELU, listing
from tests.variants.helpers import REF, copy_genome

CKPT = REF / "checkpoints" / "conv_poisson.ckpt"


def _big_vcf(path: Path, n: int = 4000) -> Path:
    text = (REF / "inputs" / "genome.fa").read_text().split(">")[1]
    chr1 = "".join(text.splitlines()[1:]).upper()
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    for i in range(n):
        pos = 100 + (i * 7) % 5800
        ref = chr1[pos - 1]
        if ref not in "ACGT":
            continue
        alt = "ACGT"[("ACGT".index(ref) + 1 + i % 3) % 4]
        lines.append(f"chr1\t{pos}\tv{i}\t{ref}\t{alt}\t.\t.\t.")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_interrupt_leaves_nothing(tmp_path: Path, sig: int) -> None:
    vcf = _big_vcf(tmp_path / "big.vcf")
    genome = copy_genome(tmp_path)
    d = tmp_path / "out"
    d.mkdir()
    proc = subprocess.Popen(
        [
            str(GRELU),
            "variants",
            "-m",
            str(CKPT),
            "--vcf",
            str(vcf),
            "-g",
            str(genome),
            "-o",
            str(d / "v.parquet"),
            "--batch-size",
            "2",
            "--device",
            "cpu",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while not any(n.startswith(".") for n in listing(d)):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no temporary output appeared"
            time.sleep(0.02)
        time.sleep(0.3)
        assert proc.poll() is None, "finished before the signal: use a larger input"
        os.kill(proc.pid, sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert listing(d) == {}
