"""A checkpoint whose zip entries would inflate far beyond the file is refused (exit 3) before
torch reads any entry: in the library, in ``grelu models info``, ``predict`` and ``variants``,
and in a real process whose peak memory stays that of a plain start-up."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from grelu_cli.cli import app
from grelu_cli.errors import InputDataError
from grelu_cli.zoo.checkpoint import INFLATION_FLOOR, check_zip_sizes, safe_load
from tests.zoo.zip_bomb import make_zip_bomb

DATA = Path(__file__).resolve().parents[1] / "data"
GIB = 1 << 30


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("bomb") / "model.ckpt"
    return path, make_zip_bomb(path)  # 1 GiB of zeros in ~1 MB


@pytest.fixture
def no_torch_load(monkeypatch):
    """Fail the test if anything reaches torch.load (or torch's pickle scan)."""

    def refuse(*a, **k):
        raise AssertionError("torch.load was reached")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(torch.serialization, "get_unsafe_globals_in_checkpoint", refuse)


def test_the_bomb_is_a_valid_zip_that_inflates_to_a_gigabyte(bomb):
    path, entry = bomb
    assert path.stat().st_size < 2 << 20
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(entry)
        assert info.file_size == GIB and info.compress_type == zipfile.ZIP_DEFLATED
        with zf.open(entry) as fh:  # inflate a little of it: zeros, as declared
            assert fh.read(1 << 20) == bytes(1 << 20)


@pytest.mark.parametrize("trust", [False, True])
def test_library_refuses_before_torch_reads_anything(bomb, no_torch_load, trust):
    path, entry = bomb
    with pytest.raises(InputDataError) as err:
        safe_load(path, trust=trust)
    msg = str(err.value)
    assert err.value.exit_code == 3
    assert f"checkpoint {path} (" in msg and repr(entry) in msg
    assert f"{GIB:,} bytes" in msg and "zip bomb" in msg and "\n" not in msg


def test_every_real_checkpoint_passes_the_bound():
    files = sorted(DATA.rglob("*.ckpt")) + sorted(DATA.rglob("*.pt"))
    assert len(files) > 20
    for f in files:
        if zipfile.is_zipfile(f):
            check_zip_sizes(f, max_ratio=1.0, ceiling=GIB)  # torch.save stores: <= 1 x


def test_ratio_and_ceiling(tmp_path):
    # 80 MiB of zeros in ~80 kB: past the floor and the ratio
    path = tmp_path / "small_bomb.pt"
    make_zip_bomb(path, n_mib=80)
    assert INFLATION_FLOOR < 80 << 20
    with pytest.raises(InputDataError, match=r"x its size; torch.save stores tensors"):
        check_zip_sizes(path)
    check_zip_sizes(path, max_ratio=2000)  # a looser ratio lets it through
    with pytest.raises(InputDataError, match=r"more than the 64.0 MiB any model checkpoint"):
        check_zip_sizes(path, max_ratio=2000, ceiling=64 << 20)


def _cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_models_info_predict_and_variants_refuse_it(bomb, no_torch_load, tmp_path):
    path, entry = bomb
    fa = tmp_path / "g.fa"
    fa.write_text(">chr1\n" + "ACGT" * 100 + "\n")
    vcf = tmp_path / "v.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "chr1\t10\t.\tG\tA\t.\t.\t.\n"
    )
    runs = [
        ("models", "info", path),
        ("models", "info", path, "--tasks", "--trust-checkpoint"),
        ("predict", "-m", path, "--fasta", fa, "-o", tmp_path / "p.parquet"),
        ("variants", "-m", path, "--vcf", vcf, "-g", fa, "-o", tmp_path / "v.parquet"),
    ]
    for args in runs:
        result = _cli(*args)
        lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
        assert result.exit_code == 3, (args, result.output)
        assert lines[-1].startswith(f"error: checkpoint {path} ("), lines
        assert repr(entry) in lines[-1]
    assert not (tmp_path / "p.parquet").exists() and not (tmp_path / "v.parquet").exists()


# The child's own peak: VmHWM belongs to the address space made by exec. (ru_maxrss would not
# do: Linux carries it across fork + exec, so it reports the forking pytest's size.)
_PEAK = """
import runpy, sys
sys.argv = ["grelu", "models", "info", sys.argv[1]]
try:
    runpy.run_module("grelu_cli", run_name="__main__")
finally:
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
    print("peak_kb", hwm, file=sys.stderr)
"""


def test_real_process_stays_small(bomb):
    path, entry = bomb
    proc = subprocess.run(
        [sys.executable, "-c", _PEAK, str(path)], capture_output=True, text=True, timeout=120
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 3, proc.stderr
    assert lines[0].startswith(f"error: checkpoint {path} (") and repr(entry) in lines[0]
    peak_kb = int(lines[-1].split()[1])
    assert peak_kb < 700 * 1024, peak_kb  # unfixed: 2.4 GB (torch inflates data.pkl)


def test_safetensors_cannot_declare_more_than_the_file_holds(tmp_path):
    # safetensors maps tensors straight from the file: a header claiming 1 GiB of data in a
    # 100-byte file is refused by the format's own bounds check (exit 3), nothing allocated
    import json
    import struct

    header = json.dumps({"w": {"dtype": "F32", "shape": [GIB // 4], "data_offsets": [0, GIB]}})
    path = tmp_path / "w.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header.encode() + bytes(16))
    result = _cli("models", "info", path, "--arch", "ConvModel", "--param", "n_tasks=2")
    assert result.exit_code == 3, result.output
    assert result.stderr.strip().startswith(f"error: cannot read {path}: ")
