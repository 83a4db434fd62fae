"""``grelu predict`` failures through the real CLI: one ``error: `` line on stderr, the exit
code the README lists (2 usage, 3 bad data, 4 missing file or model), and the output directory
exactly as it was before (no output, no temporary file, no created directory)."""

from __future__ import annotations

import shlex

import pytest

from tests.cli.predict_helpers import Env, invoke, listing, ok

# No window of these regions runs off a chromosome: no warning precedes an error line.
CLEAN = [("chrA", 100, 300, "a", 0, "+"), ("chrA", 400, 600, "b", 0, "-")]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    e = Env(tmp_path_factory.mktemp("predict_errors"))
    e.clean = e.bed("clean.bed", CLEAN)
    e.fasta = e.root / "seqs.fa"
    e.fasta.write_text(">s1\n" + "ACGT" * 50 + "\n")
    e.tasks_missing = e.root / "no_such_tasks.txt"
    ok("predict", "-m", e.model, "--bed", e.clean, "-g", e.genome, "-o", "x.parquet", "--dry-run")
    assert e.genome.with_name("genome.fa.fai").exists()  # indexed before the error cases run
    return e


def check_error(result, code: int, *words: str) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr  # exactly one line, nothing else
    line = lines[0]
    assert line.startswith("error: ") and line.endswith(")"), line  # "error: what (fix)"
    assert "Traceback" not in result.output and "╭" not in result.output
    assert result.exit_code == code, (result.exit_code, line)
    for w in words:
        assert w in line, (w, line)
    assert result.stdout == ""
    return line


# (id, exit code, words the line must contain, arguments after "predict -m MODEL" as one shell
# string; STD is the usual "--bed {bed} -g {genome} -o {out}"). Placeholders: {bed} {genome}
# {fasta} {out} {dir} {root} {badbed} {chrzbed} {tasks_missing}, filled per test.
STD = "--bed {bed} -g {genome} -o {out}"
CASES = [
    ("missing_genome", 4, ["nope.fa"], "--bed {bed} -g {root}/nope.fa -o {out}"),
    ("missing_model", 4, ["nope.ckpt"], STD),
    ("missing_bed", 4, ["nope.bed"], "--bed {root}/nope.bed -g {genome} -o {out}"),
    ("missing_tasks_file", 4, ["no_such_tasks.txt"], STD + " --tasks-file {tasks_missing}"),
    ("bad_bed_line", 3, ["line 2", "'x1'"], "--bed {badbed} -g {genome} -o {out}"),
    ("unknown_chrom", 3, ["chrZ", "line 1"], "--bed {chrzbed} -g {genome} -o {out}"),
    ("unknown_task", 2, ["'nope'"], STD + " --tasks t_dnase,nope"),
    ("query_selects_nothing", 2, ["NONE"], STD + " --tasks-query \"assay == 'NONE'\""),
    ("bad_query", 2, ["--tasks-query"], STD + " --tasks-query 'assay =='"),
    ("fasta_bigwig", 2, ["--fasta"], "--fasta {fasta} -o {dir}/bw/"),
    ("bigwig_without_genome", 2, ["--genome"], "--bed {bed} -o {dir}/bw/"),
    ("bad_format", 2, ["'csv'"], STD + " --format csv"),
    ("unknown_suffix", 2, ["x.txt"], "--bed {bed} -g {genome} -o {dir}/x.txt"),
    ("bad_edge", 2, ["'foo'"], STD + " --edge foo"),
    ("bad_layout", 2, ["'tall'"], STD + " --layout tall"),
    ("bad_aggregate", 2, ["'median'"], STD + " --aggregate median"),
    ("bad_overlap", 2, ["'last'"], "--bed {bed} -g {genome} -o {dir}/bw/ --overlap last"),
    ("bad_batch_size", 2, ["'zero'"], STD + " --batch-size zero"),
    ("negative_shifts", 2, ["-1"], STD + " --shifts -1"),
    ("bins_zero", 2, ["--bins 0"], STD + " --bins 0"),
    ("bins_too_many", 2, ["--bins 1000", "94"], STD + " --bins 1000"),
    ("two_inputs", 2, ["--fasta"], STD + " --fasta {fasta}"),
    ("no_input", 2, ["no input"], "-g {genome} -o {out}"),
    ("layout_with_bigwig", 2, ["--layout"], "--bed {bed} -g {genome} -o {dir}/bw/ --layout wide"),
    ("unknown_option", 2, ["--nope"], STD + " --nope"),
]


@pytest.mark.parametrize(
    ("code", "words", "args"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_error_line_exit_code_and_nothing_left(env, tmp_path, code, words, args):
    d = tmp_path / "out"
    d.mkdir()
    (d / "keep.txt").write_text("unrelated file")
    bad = env.root / "badline.bed"
    bad.write_text("chrA\t100\t300\tok\nchrA\tx1\t300\tbad\n")
    chrz = env.root / "chrz.bed"
    chrz.write_text("chrZ\t100\t300\tz\n")
    fill = {
        "bed": env.clean,
        "badbed": bad,
        "chrzbed": chrz,
        "genome": env.genome,
        "fasta": env.fasta,
        "out": d / "p.parquet",
        "dir": d,
        "root": env.root,
        "tasks_missing": env.tasks_missing,
    }
    model = env.root / "nope.ckpt" if "nope.ckpt" in words else env.model
    before = listing(d)
    genome_dir = listing(env.genome.parent)
    argv = shlex.split(args.format(**{k: str(v) for k, v in fill.items()}))
    r = invoke("predict", "-m", model, *argv)
    check_error(r, code, *words)
    assert listing(d) == before  # no output, no .NAME.partial, no bw/ directory
    assert listing(env.genome.parent) == genome_dir


def test_existing_output_needs_overwrite(env, tmp_path):
    out = tmp_path / "p.parquet"
    out.write_bytes(b"not a parquet file")
    r = invoke("predict", "-m", env.model, "--bed", env.clean, "-g", env.genome, "-o", out)
    check_error(r, 2, str(out), "--overwrite")
    assert out.read_bytes() == b"not a parquet file"
    assert listing(tmp_path) == {"p.parquet": 18}
    ok("predict", "-m", env.model, "--bed", env.clean, "-g", env.genome, "-o", out, "--overwrite")
    assert out.read_bytes()[:4] == b"PAR1"
    assert sorted(listing(tmp_path)) == ["p.parquet"]


def test_existing_bigwig_needs_overwrite(env, tmp_path):
    d = tmp_path / "bw"
    ok("predict", "-m", env.model, "--bed", env.clean, "-g", env.genome, "-o", f"{d}/", "-q")
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    r = invoke("predict", "-m", env.model, "--bed", env.clean, "-g", env.genome, "-o", f"{d}/")
    check_error(r, 2, "--overwrite")
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before
    ok(
        "predict",
        "-m",
        env.model,
        "--bed",
        env.clean,
        "-g",
        env.genome,
        "-o",
        f"{d}/",
        "--overwrite",
        "--tasks",
        "t_dnase",
        "-q",
    )
    assert sorted(p.name for p in d.iterdir()) == sorted(before)  # other tasks' files kept


def test_debug_shows_traceback(env, tmp_path):
    r = invoke(
        "--debug",
        "predict",
        "-m",
        env.model,
        "--bed",
        env.clean,
        "-g",
        env.genome,
        "-o",
        tmp_path / "p.parquet",
        "--tasks",
        "nope",
    )
    assert r.exit_code == 2
    assert "Traceback" in r.stderr and r.stderr.strip().splitlines()[-1].startswith("error: ")


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("fmt", ["parquet", "bigwig"])
def test_interrupt_in_loop_cleans_up_and_exits_130(env, tmp_path, monkeypatch, fmt):
    from grelu_cli.io.formats.bigwig import BigWigWriter
    from grelu_cli.io.formats.parquet import ParquetWriter

    monkeypatch.setattr(ParquetWriter if fmt == "parquet" else BigWigWriter, "write", _interrupt)
    out = tmp_path / "p.parquet" if fmt == "parquet" else f"{tmp_path}/bw/"
    r = invoke("predict", "-m", env.model, "--bed", env.clean, "-g", env.genome, "-o", out)
    assert r.exit_code == 130
    assert listing(tmp_path) == {}


def test_interrupt_prints_one_error_line(env, tmp_path, monkeypatch):
    from grelu_cli.io.formats.parquet import ParquetWriter

    monkeypatch.setattr(ParquetWriter, "write", _interrupt)
    r = invoke(
        "predict",
        "-m",
        env.model,
        "--bed",
        env.clean,
        "-g",
        env.genome,
        "-o",
        tmp_path / "p.parquet",
    )
    check_error(r, 130, "interrupted")
