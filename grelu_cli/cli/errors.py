"""Turn any exception into one line on stderr and a stable exit code (see CLI.md).

``error: <what is wrong, which value, where> (<fix>)`` and no traceback unless --debug.
"""

from __future__ import annotations

import json
import re
import sys
import time
import traceback

from grelu_cli.errors import GreluCliError

try:  # typer >= 0.2x vendors click; its commands raise the vendored exceptions
    from typer._click import exceptions as click_exc
except ImportError:  # pragma: no cover - older typer on top of click
    from click import exceptions as click_exc

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_MISSING = 4
EXIT_OOM = 5
EXIT_INTERRUPTED = 130


def _is_oom(err: BaseException) -> bool:
    # torch.cuda.OutOfMemoryError / torch.OutOfMemoryError, matched by name so this module
    # never imports torch.
    return isinstance(err, MemoryError) or type(err).__name__ == "OutOfMemoryError"


def _command_path(ctx: object | None) -> str:
    return getattr(ctx, "command_path", None) or "grelu"


_BOOL_WORDS = {"true", "false", "yes", "no", "on", "off", "1", "0"}


def _usage_fix(err: click_exc.UsageError) -> str:
    """The fix for click's usage errors; ``--rc true`` gets its own (a flag takes no value,
    so ``true`` was read as an extra argument)."""
    extra = re.search(r"unexpected extra arguments?(?:\(s\))? \((.+)\)", err.format_message())
    if extra and _BOOL_WORDS & {w.lower() for w in extra.group(1).split()}:
        return (
            "flags such as --rc take no value: give the flag to turn it on, leave it out to "
            "keep it off"
        )
    return f"see '{_command_path(err.ctx)} --help'"


def report(err: BaseException, debug: bool, json_mode: bool = False) -> int:
    """Print ``err`` as one line on stderr (plus a traceback if ``debug``); return the exit code.

    With ``json_mode`` (``--log-format json``) the line is a JSON ``error`` event, so every
    stderr line of a run parses as JSON for workflow logs.
    """
    if type(err).__name__ == "NoArgsIsHelpError":  # help was already shown
        return EXIT_USAGE
    if isinstance(err, GreluCliError):
        line, code = str(err), err.exit_code
    elif isinstance(err, click_exc.UsageError):
        line = f"{err.format_message()} ({_usage_fix(err)})"
        code = EXIT_USAGE
    elif isinstance(err, KeyboardInterrupt):
        line = "interrupted (no output was written; a --resume run keeps its finished chunks)"
        code = EXIT_INTERRUPTED
    elif _is_oom(err):
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        line = f"out of memory: {first} (lower --batch-size or use --batch-size auto)"
        code = EXIT_OOM
    elif isinstance(err, FileNotFoundError):
        line = f"file not found: {err.filename or err} (check the path)"
        code = EXIT_MISSING
    else:
        line = (
            f"internal error: {type(err).__name__}: {err} "
            "(rerun with --debug for the traceback and report it)"
        )
        code = EXIT_INTERNAL
    if debug:
        traceback.print_exception(type(err), err, err.__traceback__, file=sys.stderr)
    if json_mode:
        event = {"event": "error", "time": round(time.time(), 3), "message": f"error: {line}"}
        print(json.dumps({**event, "exit_code": code}), file=sys.stderr)
    else:
        print(f"error: {line}", file=sys.stderr)
    return code
