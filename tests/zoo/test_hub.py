"""Downloads end to end against a local Hub (tests/zoo/fake_hub.py): cache layout, progress,
cache hits without network, verification, offline and unreachable-Hub errors."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grelu_cli.cli import app
from grelu_cli.errors import DownloadError, MissingResourceError
from grelu_cli.zoo import load_model
from grelu_cli.zoo.build import build_checkpoint_file
from grelu_cli.zoo.hub import HubSettings, cached_file
from grelu_cli.zoo.registry import get_record
from tests.zoo.fake_hub import DEFAULT_COMMIT, FakeHub

BORZOI = get_record("borzoi")
REPO, FILE, REV = BORZOI.repo_id, "human_rep0.ckpt", BORZOI.revision


@pytest.fixture(scope="module")
def ckpt_bytes(tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("ck") / "tiny.ckpt"
    build_checkpoint_file(
        "ConvModel",
        out,
        n_tasks=2,
        params={"stem_channels": 4, "channel_init": 4, "n_conv": 1},
        seq_len=32,
    )
    return out.read_bytes()


@pytest.fixture()
def hf_home(tmp_path, monkeypatch) -> Path:
    """A private HF cache, online, no endpoint yet; hub telemetry off (no stray requests)."""
    import huggingface_hub.constants

    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_TELEMETRY", True)
    return tmp_path / "hf"


@pytest.fixture()
def hub(hf_home, monkeypatch, ckpt_bytes):
    server = FakeHub().start()
    server.files[(REPO, FILE)] = ckpt_bytes
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    yield server
    server.stop()


def _one_error_line(result) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_download_caches_verifies_and_then_works_offline(hub, hf_home, ckpt_bytes, monkeypatch):
    # The bar shows on terminals only; TQDM_POSITION=-1 is huggingface_hub's switch to force it.
    monkeypatch.setenv("TQDM_POSITION", "-1")
    result = CliRunner().invoke(app, ["models", "download", "borzoi"])
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip())
    snapshot = hf_home / "hub" / "models--Genentech--borzoi-model" / "snapshots" / REV / FILE
    assert path == snapshot and path.read_bytes() == ckpt_bytes
    sha = hashlib.sha256(ckpt_bytes).hexdigest()
    assert Path(os.path.realpath(path)).name == sha  # LFS blob named by its sha256
    assert "100%" in result.stderr  # the progress bar
    assert ("GET", f"/cdn/{sha}") in hub.requests

    # Second call: served from the cache, not a single request.
    hub.requests.clear()
    again = CliRunner().invoke(app, ["models", "download", "borzoi"])
    assert again.exit_code == 0 and Path(again.stdout.strip()) == path
    assert hub.requests == []

    # Server gone: loading by zoo name needs no network.
    hub.stop()
    lm = load_model("borzoi")
    assert lm.path == path and lm.sha256 == sha and lm.record is BORZOI
    assert lm.source == f"{REPO}@{REV[:7]}/{FILE}" and lm.species == "human"

    listed = CliRunner().invoke(app, ["models", "list", "borzoi", "--format", "json"])
    row = next(r for r in json.loads(listed.stdout) if r["name"] == "borzoi")
    assert (row["cached_files"], row["files"], row["cached"]) == (1, 8, True)


def test_cache_lookup_agrees_with_huggingface_hub(hub, hf_home):
    from huggingface_hub import try_to_load_from_cache

    load_model("borzoi", progress=False)
    ours = cached_file(REPO, FILE, REV)
    theirs = try_to_load_from_cache(REPO, FILE, revision=REV, cache_dir=hf_home / "hub")
    assert ours is not None and str(ours) == theirs
    assert cached_file(REPO, "human_rep1.ckpt", REV) is None


def test_models_list_does_not_import_torch_and_reports_cache(hub, hf_home):
    load_model("borzoi", progress=False)
    code = (
        "import sys\n"
        "from grelu_cli.cli import main\n"
        "sys.argv = ['grelu', 'models', 'list', '--format', 'json']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        "assert 'torch' not in sys.modules, 'torch imported by models list'\n"
        "assert 'zarr' not in sys.modules, 'zarr imported by models list'\n"
        "assert 'huggingface_hub' not in sys.modules, 'huggingface_hub imported'\n"
    )
    env = {**os.environ, "HF_HOME": str(hf_home)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["borzoi"]["cached_files"] == 1 and rows["enformer"]["cached_files"] == 0


def test_truncated_download_is_detected_and_not_cached(hub):
    hub.truncate = True
    result = CliRunner().invoke(app, ["models", "download", "borzoi", "-q"])
    assert result.exit_code == 4
    assert "failed" in _one_error_line(result) and FILE in result.stderr
    assert cached_file(REPO, FILE, REV) is None


def test_corrupted_download_is_detected_and_removed(hub):
    hub.corrupt = True
    with pytest.raises(DownloadError, match=r"corrupt.*sha256"):
        load_model("borzoi", progress=False)
    assert cached_file(REPO, FILE, REV) is None
    hub.corrupt = False
    assert load_model("borzoi", progress=False).path.exists()  # a retry succeeds


def test_offline_uncached_fails_at_once_with_the_fix(hf_home, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    result = CliRunner().invoke(app, ["models", "download", "enformer", "--species", "mouse"])
    assert result.exit_code == 4
    line = _one_error_line(result)
    for part in ("'enformer'", "mouse.ckpt", str(hf_home / "hub"), "HF_HUB_OFFLINE"):
        assert part in line
    assert "grelu models download enformer --species mouse" in line
    with pytest.raises(MissingResourceError):
        load_model("enformer")


def test_unreachable_hub_without_offline_flag_fails_fast_the_same_way(hf_home, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    result = CliRunner().invoke(app, ["models", "download", "borzoi", "--replicate", "2"])
    assert result.exit_code == 4
    line = _one_error_line(result)
    assert "cannot be reached" in line and "human_rep2.ckpt" in line
    assert "grelu models download borzoi --replicate 2" in line


def test_offline_with_cached_weights_loads(hub, monkeypatch):
    load_model("borzoi", progress=False)
    hub.stop()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert load_model("borzoi").n_tasks == 2


def test_missing_file_on_the_hub(hub):
    result = CliRunner().invoke(app, ["models", "download", f"{REPO}/nope.ckpt"])
    assert result.exit_code == 4
    assert "does not exist" in _one_error_line(result)


def test_any_hub_repo_small_file_without_lfs(hf_home, monkeypatch, ckpt_bytes):
    server = FakeHub(lfs=False).start()
    try:
        server.files[("someone/tiny-model", "model.ckpt")] = ckpt_bytes
        monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
        lm = load_model("someone/tiny-model", progress=False)
        assert lm.n_tasks == 2 and lm.source == "someone/tiny-model/model.ckpt"
        refs = hf_home / "hub" / "models--someone--tiny-model" / "refs" / "main"
        assert refs.read_text() == DEFAULT_COMMIT
        assert HubSettings.from_env().cache_dir == hf_home / "hub"
    finally:
        server.stop()


def test_force_downloads_again(hub):
    first = CliRunner().invoke(app, ["models", "download", "borzoi", "-q"])
    assert first.exit_code == 0
    hub.requests.clear()
    again = CliRunner().invoke(app, ["models", "download", "borzoi", "-q", "--force"])
    assert again.exit_code == 0 and again.stdout == first.stdout
    assert any(method == "GET" and path.startswith("/cdn/") for method, path in hub.requests)


def test_download_all_fetches_every_species(hub, ckpt_bytes):
    enformer = get_record("enformer")
    for f in enformer.files:
        hub.files[(enformer.repo_id, f.filename)] = ckpt_bytes + f.filename.encode()
    result = CliRunner().invoke(app, ["models", "download", "enformer", "--all", "-q"])
    assert result.exit_code == 0, result.output
    paths = [Path(p) for p in result.stdout.split()]
    assert [p.name for p in paths] == ["human.ckpt", "mouse.ckpt"]
    assert all(p.is_file() for p in paths)


def test_unpinned_copy_in_the_cache_is_used_when_the_pinned_one_is_missing(hub, monkeypatch):
    """Weights fetched earlier without a revision (as gReLU does: refs/main) are found offline,
    and provenance records the commit actually used."""
    from huggingface_hub import hf_hub_download

    hf_hub_download(REPO, FILE, endpoint=hub.endpoint, cache_dir=HubSettings.from_env().cache_dir)
    assert cached_file(REPO, FILE, REV, fallback=False) is None
    hub.stop()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    lm = load_model("borzoi")
    assert lm.source == f"{REPO}@{DEFAULT_COMMIT[:7]}/{FILE}"
    assert lm.provenance()["revision"] == DEFAULT_COMMIT


def test_info_tasks_needs_the_weights_and_says_how_to_get_them(hub):
    """--tasks for an uncached zoo model used to print the registry facts and silently no
    table; the table is in the weights, so this is a missing resource naming the download."""
    args = ["models", "info", "borzoi", "--tasks", "--format", "json"]
    missing = CliRunner().invoke(app, args)
    assert missing.exit_code == 4 and missing.stdout == ""
    line = _one_error_line(missing)
    assert line == (
        f"error: the tasks table of 'borzoi' is read from its weights ({REPO}/{FILE}), which "
        "are not in the local cache (run 'grelu models download borzoi' first, or drop --tasks "
        "for the registry facts)"
    )
    assert cached_file(REPO, FILE, REV) is None  # info never downloads
    assert CliRunner().invoke(app, ["models", "download", "borzoi", "-q"]).exit_code == 0
    found = CliRunner().invoke(app, args)
    assert found.exit_code == 0, found.output
    shown = [t["name"] for t in json.loads(found.stdout)["tasks"]]
    assert shown == load_model("borzoi").task_names
