"""Turn any exception into one line on stderr, ``error: <what is wrong, which value, where>
(<fix>)``, no traceback unless --debug, and a stable exit code (README: "Errors and exit codes").
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sys
import time
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING

from grelu_cli.errors import EXIT_INTERRUPTED as EXIT_INTERRUPTED
from grelu_cli.errors import describe_error

if TYPE_CHECKING:  # the typer this is checked against vendors click
    from typer._click import exceptions as click_exc
else:
    try:  # typer >= 0.2x vendors click; its commands raise the vendored exceptions
        from typer._click import exceptions as click_exc
    except ImportError:  # pragma: no cover - older typer on top of click
        from click import exceptions as click_exc

EXIT_USAGE = 2


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
    return f"see '{getattr(err.ctx, 'command_path', None) or 'grelu'} --help'"


def describe(err: BaseException) -> tuple[str, int]:
    """The ``error:`` line (without the prefix) and exit code for ``err``: the library's
    :func:`~grelu_cli.errors.describe_error`, plus Typer's own usage errors."""
    if isinstance(err, click_exc.UsageError):
        return f"{err.format_message()} ({_usage_fix(err)})", EXIT_USAGE
    return describe_error(err)


def report(err: BaseException, argv: Sequence[str]) -> int:
    """Print ``err`` as one line on stderr; return the exit code. ``argv`` is the command line:
    ``--debug`` (or ``GRELU_DEBUG=1``) adds the traceback, and with ``--log-format json`` the
    line is a JSON ``error`` event, so every stderr line of a run parses as JSON.
    """
    if type(err).__name__ == "NoArgsIsHelpError":  # help was already shown
        return EXIT_USAGE
    line, code = describe(err)
    if "--debug" in argv or os.environ.get("GRELU_DEBUG", "") not in ("", "0"):
        traceback.print_exception(type(err), err, err.__traceback__, file=sys.stderr)
    pairs = itertools.pairwise(argv)
    if "--log-format=json" in argv or ("--log-format", "json") in pairs:
        event = {"event": "error", "time": round(time.time(), 3), "message": f"error: {line}"}
        print(json.dumps({**event, "exit_code": code}), file=sys.stderr)
    else:
        print(f"error: {line}", file=sys.stderr)
    return code
