"""A tiny Hugging Face Hub on 127.0.0.1 for download tests (no internet needed).

It answers the two requests ``huggingface_hub.hf_hub_download`` (2.x) makes for a file:

1. ``HEAD {endpoint}/{repo}/resolve/{revision}/{filename}``. Like the real Hub for LFS files it
   replies ``302`` with ``X-Repo-Commit`` (40-hex commit), ``X-Linked-Etag`` (the sha256 of the
   content), ``X-Linked-Size`` and a ``Location`` on another origin (``localhost`` instead of
   ``127.0.0.1``, the way the Hub points at its CDN), so the client takes the metadata from the
   redirect itself. Small non-LFS files (``lfs=False``) get ``200`` with a git-sha1 ``ETag``.
2. ``GET`` of that location (or of the resolve URL for non-LFS files): the bytes, optionally
   truncated (``Content-Length`` honest, body shorter than ``X-Linked-Size``) or corrupted
   (same length, different bytes).

Unknown revisions answer ``404`` + ``X-Error-Code: RevisionNotFound``; unknown files ``404`` +
``X-Error-Code: EntryNotFound``, as the Hub does. Every request is logged in ``requests``.
"""

from __future__ import annotations

import hashlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
DEFAULT_COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    """Serve ``files[(repo_id, filename)] = bytes`` over HTTP until ``stop()``."""

    def __init__(self, lfs: bool = True) -> None:
        self.files: dict[tuple[str, str], bytes] = {}
        self.lfs = lfs
        self.truncate = False
        self.corrupt = False
        self.requests: list[tuple[str, str]] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeHub:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_HEAD(self) -> None:
                hub._handle(self, head=True)

            def do_GET(self) -> None:
                hub._handle(self, head=False)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- request handling -------------------------------------------------------------------
    def _handle(self, req: BaseHTTPRequestHandler, head: bool) -> None:
        self.requests.append(("HEAD" if head else "GET", req.path))
        path = req.path.split("?")[0]
        if path.startswith("/cdn/"):
            self._serve_blob(req, path[len("/cdn/") :], head)
            return
        m = _RESOLVE.match(path)
        if m is None:
            self._reply(req, 404, {"X-Error-Code": "RepoNotFound"})
            return
        repo, rev, filename = m["repo"], unquote(m["rev"]), unquote(m["file"])
        commit = rev if _COMMIT.match(rev) else DEFAULT_COMMIT
        if rev != "main" and not _COMMIT.match(rev):
            self._reply(req, 404, {"X-Error-Code": "RevisionNotFound"})
            return
        data = self.files.get((repo, filename))
        if data is None:
            self._reply(req, 404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit})
            return
        sha256 = hashlib.sha256(data).hexdigest()
        if self.lfs:
            host = f"http://localhost:{self.port}"
            self._reply(
                req,
                302,
                {
                    "Location": f"{host}/cdn/{sha256}",
                    "X-Repo-Commit": commit,
                    "X-Linked-Etag": f'"{sha256}"',
                    "X-Linked-Size": str(len(data)),
                    "ETag": f'"{hashlib.sha1(data).hexdigest()}"',
                },
            )
            return
        etag = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        self._send(req, data, head, {"X-Repo-Commit": commit, "ETag": f'"{etag}"'})

    def _serve_blob(self, req: BaseHTTPRequestHandler, sha256: str, head: bool) -> None:
        for data in self.files.values():
            if hashlib.sha256(data).hexdigest() == sha256:
                self._send(req, data, head, {})
                return
        self._reply(req, 404, {})

    def _send(
        self, req: BaseHTTPRequestHandler, data: bytes, head: bool, headers: dict[str, str]
    ) -> None:
        body = data
        if self.truncate:
            body = data[: len(data) // 2]
        elif self.corrupt:
            body = bytes(b ^ 0xFF for b in data[:64]) + data[64:]
        req.send_response(200)
        for k, v in headers.items():
            req.send_header(k, v)
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        if not head:
            req.wfile.write(body)

    @staticmethod
    def _reply(req: BaseHTTPRequestHandler, status: int, headers: dict[str, str]) -> None:
        req.send_response(status)
        for k, v in headers.items():
            req.send_header(k, v)
        req.send_header("Content-Length", "0")
        req.end_headers()
