"""A hostile co-user of a shared output folder plants symbolic links at grelu's own names
(lock, resume parts and manifest, bigWig scratch, zarr partial store, shard lock, the store of
a sharded run): real ``grelu predict`` / ``grelu variants`` processes refuse with exit 2 and
one line naming the link, and the link's target (a file or a folder outside the output's
folder) is left exactly as it was. A link at the final path is an existing output: refused
without ``--overwrite``, replaced itself (never written through) with it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from grelu_cli.core.shards import parse_shard, shard_range
from tests.variants.helpers import REF, copy_genome
from tests.workflow.wf_helpers import Workspace, grelu_cmd, subprocess_env

VICTIM = b"precious thesis text\n" * 10
CKPT = REF / "checkpoints" / "conv_poisson.ckpt"


def _grelu(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*grelu_cmd(), *map(str, args)],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=600,
    )


@pytest.fixture(scope="module")
def vcf(tmp_path_factory) -> tuple[Path, Path]:
    """A few SNVs on the reference genome (and the genome): (vcf, genome)."""
    root = tmp_path_factory.mktemp("vcf")
    genome = copy_genome(root)
    chr1 = "".join((REF / "inputs" / "genome.fa").read_text().split(">")[1].splitlines()[1:])
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    for i, pos in enumerate(range(300, 1500, 100)):
        ref = chr1[pos - 1].upper()
        alt = "C" if ref != "C" else "G"
        lines.append(f"chr1\t{pos}\tv{i}\t{ref}\t{alt}\t.\t.\t.")
    path = root / "v.vcf"
    path.write_text("\n".join(lines) + "\n")
    return path, genome


def _predict(ws: Workspace, out: Path, *extra: str) -> list[str | Path]:
    return ["predict", *ws.base(), "-o", out, *extra]


def _shard_lock(ws: Workspace) -> str:
    lo, hi = shard_range(ws.n_regions, parse_shard("0/2"), ws.batch)
    return f".s.zarr.shard-{lo}-{hi}.lock"


# (case, output name in the folder, extra options, planted name, target: "file", "dir" or
# "missing": a folder that does not exist yet)
PREDICT_CASES = [
    ("parquet lock", "out.parquet", [], ".out.parquet.lock", "file"),
    ("resume parts", "out.parquet", ["--resume"], ".out.parquet.partial.parts", "dir"),
    ("resume manifest", "out.parquet", ["--resume"], ".out.parquet.partial.manifest.json", "file"),
    ("parts, no resume", "out.parquet", [], ".out.parquet.partial.parts", "dir"),
    ("bigwig lock", "bw/", ["--format", "bigwig"], "bw/.t_a.bw.lock", "file"),
    ("bigwig scratch", "bw/", ["--format", "bigwig"], "bw/.t_a.bw.partial.d", "dir"),
    ("zarr lock", "x.zarr", [], ".x.zarr.lock", "file"),
    ("zarr partial store", "x.zarr", [], ".x.zarr.partial", "dir"),
    ("zarr partial store, resume", "x.zarr", ["--resume"], ".x.zarr.partial", "dir"),
    # (a link to a folder that is not a grelu store is refused as such, exit 2, already)
    ("sharded store", "s.zarr", ["--shard", "0/2"], "s.zarr", "missing"),
    ("shard lock", "s.zarr", ["--shard", "0/2"], "SHARD_LOCK", "file"),
    ("parquet shard lock", "s0.parquet", ["--shard", "0/2"], ".s0.parquet.lock", "file"),
]
VARIANT_CASES = [
    ("variants parquet lock", "v.parquet", [], ".v.parquet.lock", "file"),
    ("variants zarr lock", "v.zarr", [], ".v.zarr.lock", "file"),
    ("variants resume parts", "v.parquet", ["--resume"], ".v.parquet.partial.parts", "dir"),
]


def _plant(tmp_path: Path, name: str, kind: str) -> tuple[Path, Path, Path]:
    """``out/`` (the shared output folder) with a link ``out/NAME`` to a victim file or an
    empty folder outside it: (out, link, target)."""
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    if kind == "file":
        target = outside / "victim.txt"
        target.write_bytes(VICTIM)
    else:
        target = outside / "target"
        if kind == "dir":
            target.mkdir()
    link = out / name
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)
    return out, link, target


def _refused(result: subprocess.CompletedProcess, link: Path, target: Path, kind: str) -> None:
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [result.stderr.strip().splitlines()[-1]], result.stderr
    assert str(link) in errors[0] and "is a symbolic link" in errors[0], errors[0]
    assert "Traceback" not in result.stderr
    if kind == "file":
        assert target.read_bytes() == VICTIM  # not truncated, no pid written into it
    elif kind == "dir":
        assert list(target.iterdir()) == []  # no part file, chunk or store written there
    else:
        assert not os.path.lexists(target)  # no store created there
    assert link.is_symlink() and os.readlink(link) == str(target)  # left as it was


@pytest.mark.parametrize(("case", "output", "extra", "name", "kind"), PREDICT_CASES)
def test_predict_refuses_a_planted_link(ws, tmp_path, case, output, extra, name, kind) -> None:
    name = _shard_lock(ws) if name == "SHARD_LOCK" else name
    out, link, target = _plant(tmp_path, name, kind)
    result = _grelu(*_predict(ws, out / output, *extra))
    _refused(result, link, target, kind)
    # No output, lock, temporary file or folder appeared (or was left) next to the link.
    assert os.listdir(link.parent) == [link.name]


@pytest.mark.parametrize(("case", "output", "extra", "name", "kind"), VARIANT_CASES)
def test_variants_refuses_a_planted_link(vcf, tmp_path, case, output, extra, name, kind) -> None:
    path, genome = vcf
    out, link, target = _plant(tmp_path, name, kind)
    result = _grelu(
        "variants",
        "-m",
        CKPT,
        "--vcf",
        path,
        "-g",
        genome,
        "-o",
        out / output,
        "--device",
        "cpu",
        "--batch-size",
        "8",
        "-q",
        *extra,
    )
    _refused(result, link, target, kind)
    assert os.listdir(out) == [link.name]


def test_a_link_at_the_final_path_is_replaced_never_written_through(ws, tmp_path) -> None:
    out, link, victim = _plant(tmp_path, "out.parquet", "file")
    refused = _grelu(*_predict(ws, link))
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip().splitlines()[-1] == (
        f"error: output {link} already exists (a symbolic link) (use --overwrite to replace it)"
    )
    done = _grelu(*_predict(ws, link, "--overwrite"))
    assert done.returncode == 0, done.stderr
    assert not link.is_symlink() and link.is_file() and link.stat().st_size > 1000
    assert victim.read_bytes() == VICTIM
    assert sorted(os.listdir(out)) == ["out.parquet"]


def test_overwrite_replaces_a_link_to_someone_elses_store_not_the_store(ws, tmp_path) -> None:
    theirs = tmp_path / "theirs.zarr"
    first = _grelu(*_predict(ws, theirs))
    assert first.returncode == 0, first.stderr
    before = sorted((p.relative_to(theirs), p.stat().st_size) for p in theirs.rglob("*"))
    out = tmp_path / "out"
    out.mkdir()
    link = out / "x.zarr"
    link.symlink_to(theirs)
    result = _grelu(*_predict(ws, link, "--overwrite"))
    assert result.returncode == 0, result.stderr
    assert link.is_dir() and not link.is_symlink()  # our store, where the link was
    assert sorted((p.relative_to(theirs), p.stat().st_size) for p in theirs.rglob("*")) == before
    assert sorted(os.listdir(out)) == ["x.zarr"]
