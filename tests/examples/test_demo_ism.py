"""The demo's ``grelu ism`` step (examples/demo/run.sh, step 7): mutating the bases of the
planted motif_a copy moves motif_a's prediction a lot; bases away from it hardly at all."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import zarr

from tests.cli.predict_helpers import invoke

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"
REGION = "chr1:12,788-12,898"
MOTIF = ("chr1", 12837, 12849, "motif_a")  # a line of motifs.bed (0-based half-open)
MARGIN_BP = 10  # "outside": at least this far from the motif's first and last base
INSIDE_MIN = 0.3  # every motif base: some mutation moves the target at least this much
OUTSIDE_MAX = 0.05  # every base MARGIN_BP or more away: no mutation moves it this much


def test_run_sh_mutates_this_region() -> None:
    text = (DEMO / "run.sh").read_text()
    assert len(re.findall(rf"grelu ism .*--region {REGION}", text)) == 2
    assert "\t".join(map(str, MOTIF[:3])) + "\tmotif_a" in (DEMO / "motifs.bed").read_text()


def test_deltas_are_large_inside_the_motif_and_near_zero_outside(tmp_path: Path) -> None:
    out = tmp_path / "ism.zarr"
    result = invoke(
        "ism",
        "--model",
        DEMO / "model.ckpt",
        "--region",
        REGION,
        "--genome",
        DEMO / "genome.fa",
        "-o",
        out,
        "--device",
        "cpu",
    )
    assert result.exit_code == 0, result.output
    store = zarr.open_group(str(out), mode="r")
    tasks = [str(t) for t in np.asarray(store["task"])]
    pos = np.asarray(store["pos"])[0]
    keep = pos >= 0  # the 111 bp region; the store's position axis is --ism-width (200)
    pos = pos[keep]
    assert (pos[0], pos[-1]) == (12787, 12897)
    delta = np.asarray(store["delta"])[0][keep][..., tasks.index("motif_a")]  # (P, 4)
    moved = np.nanmax(np.abs(delta), axis=1)  # (P,) the largest change at each base
    _, start, end, _ = MOTIF
    inside = (pos >= start) & (pos < end)
    outside = (pos < start - MARGIN_BP) | (pos >= end + MARGIN_BP)
    assert inside.sum() == 12 and outside.sum() >= 70
    assert moved[inside].min() > INSIDE_MIN, moved[inside]
    assert moved[outside].max() < OUTSIDE_MAX, moved[outside].max()
