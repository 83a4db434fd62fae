"""The batch loader: exact bases, input order, worker-count independence, flat memory."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from grelu_cli.core.geometry import Geometry
from grelu_cli.genome.encode import one_hot, reverse_complement
from grelu_cli.genome.inputs import prepare_input
from grelu_cli.predict.loader import WindowBatches, make_loader

INPUT = Path(__file__).parents[1] / "data" / "input"


@pytest.fixture
def genome_path(tmp_path: Path) -> Path:
    dst = tmp_path / "tiny.fa"
    shutil.copy(INPUT / "tiny.fa", dst)
    return dst


def chrom_seqs(path: Path) -> dict[str, str]:
    seqs: dict[str, str] = {}
    name = ""
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            seqs[name] = ""
        else:
            seqs[name] += line
    return seqs


def expected_x(w, seqs: dict[str, str]) -> np.ndarray:
    chrom = seqs[w.chrom]
    s = "".join(
        chrom[i] if 0 <= i < len(chrom) else "N" for i in range(w.window_start, w.window_end)
    ).encode()
    return one_hot(reverse_complement(s) if w.strand == "-" else s)


def collect(loader) -> tuple[list[torch.Tensor], list]:
    xs, ws = [], []
    for x, wins in loader:
        assert x.shape[0] == len(wins)
        xs.append(x)
        ws.append(wins)
    return xs, ws


@pytest.fixture
def tiled(genome_path: Path, tmp_path: Path):
    bed = tmp_path / "r.bed"
    rows = [
        ("chr1", 0, 700, "-"),
        ("chr2", 400, 1003, "+"),
        ("chrM", 100, 130, "-"),
        ("chr1", 2500, 3000, "+"),
    ]
    bed.write_text("".join(f"{c}\t{s}\t{e}\tr\t0\t{st}\n" for c, s, e, st in rows))
    g = Geometry(bin_size=16, crop_len=2)
    return prepare_input(bed=bed, genome=genome_path, seq_len=256, geometry=g, tile=True)


def test_bases_exact_and_ordered(tiled, genome_path: Path) -> None:
    seqs = chrom_seqs(genome_path)
    xs, ws = collect(make_loader(tiled.plan, tiled.sequences, batch_size=3))
    flat = [w for b in ws for w in b]
    assert [w.index for w in flat] == list(range(tiled.plan.count()))
    assert any(w.pad_left for w in flat) and any(w.pad_right for w in flat)
    for x, wins in zip(xs, ws, strict=True):
        assert x.dtype == torch.float32 and x.shape[1:] == (4, 256)
        for row, w in zip(x, wins, strict=True):
            np.testing.assert_array_equal(row.numpy(), expected_x(w, seqs))


@pytest.mark.parametrize("context", [None, "spawn"])
def test_workers_give_identical_batches(tiled, context) -> None:
    xs0, ws0 = collect(make_loader(tiled.plan, tiled.sequences, batch_size=2))
    loader = make_loader(
        tiled.plan, tiled.sequences, batch_size=2, num_workers=2, multiprocessing_context=context
    )
    xs2, ws2 = collect(loader)
    assert ws0 == ws2
    assert all(torch.equal(a, b) for a, b in zip(xs0, xs2, strict=True))


@pytest.mark.parametrize("workers", [0, 2])
def test_channels_last_batches_equal_channel_major(tiled, workers: int) -> None:
    xs0, ws0 = collect(make_loader(tiled.plan, tiled.sequences, batch_size=3))
    loader = make_loader(
        tiled.plan, tiled.sequences, batch_size=3, num_workers=workers, channels_last=True
    )
    xs1, ws1 = collect(loader)
    assert ws0 == ws1
    for a, b in zip(xs0, xs1, strict=True):
        assert b.shape == a.shape and b.stride(1) == 1  # (N, 4, L), position-major memory
        assert torch.equal(a, b)


def test_shards_and_uint8(tiled) -> None:
    n = tiled.plan.count()
    full = torch.cat([x for x, _ in make_loader(tiled.plan, tiled.sequences, batch_size=4)])
    parts = []
    for lo, hi in [(0, n // 3), (n // 3, n - 1), (n - 1, n)]:
        for x, wins in make_loader(tiled.plan, tiled.sequences, lo=lo, hi=hi, dtype="uint8"):
            assert x.dtype == torch.uint8 and all(lo <= w.index < hi for w in wins)
            parts.append(x)
    assert torch.equal(torch.cat(parts).float(), full)
    with pytest.raises(ValueError, match="dtype"):
        WindowBatches(tiled.plan, tiled.sequences, dtype="float16")


def test_fasta_as_is_batches_by_length(tmp_path: Path) -> None:
    records = [("a", "ACGT"), ("b", "acgn"), ("c", "GGGGGGGG"), ("d", "TTTT"), ("e", "CA")]
    fa = tmp_path / "q.fa.gz"
    fa.write_bytes(gzip.compress("".join(f">{n} d\n{s}\n" for n, s in records).encode()))
    inp = prepare_input(fasta=fa, seq_len=None)
    assert inp.report.ok
    for workers in (0, 2):
        loader = make_loader(inp.plan, inp.sequences, batch_size=8, num_workers=workers)
        batches = list(loader)
        assert [[w.name for w in ws] for _, ws in batches] == [["a", "b"], ["c"], ["d"], ["e"]]
        assert [x.shape[-1] for x, _ in batches] == [4, 8, 4, 2]
        np.testing.assert_array_equal(batches[0][0][1].numpy(), one_hot("ACGN"))
        w = batches[0][1][0]
        assert (w.chrom, w.start, w.end, w.window_start, w.window_end) == (None, 0, 4, 0, 4)


def test_fasta_fixed_length_crop_and_pad(tmp_path: Path) -> None:
    fa = tmp_path / "q.fa"
    fa.write_text(">long\nAACCGGTTA\n>short\nGT\n")
    inp = prepare_input(fasta=fa, seq_len=6)
    ((x, wins),) = list(make_loader(inp.plan, inp.sequences, batch_size=4))
    np.testing.assert_array_equal(x[0].numpy(), one_hot("ACCGGT"))  # odd base trimmed on the right
    np.testing.assert_array_equal(x[1].numpy(), one_hot("NNGTNN"))
    assert (wins[1].window_start, wins[1].pad_left, wins[1].pad_right) == (-2, 2, 2)


MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    import numpy as np
    from grelu_cli.genome.inputs import prepare_input
    from grelu_cli.predict.loader import make_loader

    def rss_mb():
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) / 1024

    genome, bed, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = np.random.default_rng(0)
    lines = rng.choice(np.frombuffer(b"ACGT", dtype=np.uint8), (25_000, 80))
    lines = np.hstack([lines, np.full((25_000, 1), ord("\\n"), dtype=np.uint8)])
    with open(genome, "wb") as fh:
        fh.write(b">chr1\\n" + lines.tobytes())
    starts = rng.integers(0, 2_000_000, n)
    with open(bed, "w") as fh:
        for i, s in enumerate(starts):
            fh.write(f"chr1\\t{s}\\t{s + 100}\\tpeak{i}\\t0\\t{'+-'[i % 2]}\\n")
    import torch  # noqa: F401  (imported before the baseline so it does not count)
    base = rss_mb()
    inp = prepare_input(bed=bed, genome=genome, seq_len=256)
    after_table = rss_mb()
    windows = 0
    for x, wins in make_loader(inp.plan, inp.sequences, batch_size=512):
        windows += len(wins)
    after_stream = rss_mb()
    print(json.dumps(dict(base=base, table=after_table - base, stream=after_stream - base,
                          windows=windows, table_bytes=inp.table.nbytes_used(),
                          counts=inp.counts().as_dict())))
    """
)


def test_memory_flat_in_regions(tmp_path: Path) -> None:
    n = 200_000
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            MEMORY_SCRIPT,
            str(tmp_path / "g.fa"),
            str(tmp_path / "r.bed"),
            str(n),
        ],
        capture_output=True,
        check=True,
        text=True,
    )
    stats = json.loads(out.stdout)
    assert stats["windows"] == n and stats["counts"]["padded_windows"] >= 0
    # Materialised one-hot windows would take n * 4 * 256 * 4 bytes = 820 MB, and Window
    # objects alone ~60 MB; the compact table is ~9 MB and streaming adds only a few batches.
    assert stats["table_bytes"] < 60 * n
    assert stats["stream"] < 150, stats


@pytest.mark.gpu
def test_pin_memory_with_workers(tiled) -> None:
    for x, _ in make_loader(tiled.plan, tiled.sequences, num_workers=2, pin_memory=True):
        assert x.is_pinned()


def test_flank_centre_equals_window(tiled) -> None:
    plain = list(make_loader(tiled.plan, tiled.sequences, batch_size=4))
    flanked = list(make_loader(tiled.plan, tiled.sequences, batch_size=4, flank=3, num_workers=2))
    for (x, w), (xf, wf) in zip(plain, flanked, strict=True):
        assert w == wf and xf.shape[-1] == x.shape[-1] + 6
        assert torch.equal(xf[..., 3:-3], x)
