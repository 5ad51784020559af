"""Entry point of the ``spikinghash`` command: subcommands register themselves here.

This is the one place where exceptions become messages. Every failure prints exactly one
line to stderr, and the exit status says whose it is:

- ``0``: success (``note: ...`` lines may tell what was repaired on the way);
- ``2``: the user can fix it: a :class:`~spikinghash.errors.UserError`, a bad command line,
  a file that cannot be read, written or decoded (``error: PATH ...; FIX``);
- ``1``: a bug (``error: internal error ...; report this with --debug for the traceback``);
- ``130``: interrupted (Ctrl-C).

``--debug`` (anywhere on the command line) prints the full traceback before that line.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import json
import pickle
import re
import sys
import traceback
import warnings
import zipfile
from typing import Any, Callable, NoReturn, Sequence

from spikinghash import __version__
from spikinghash.errors import Note, UserError

# Each module has `register(subparsers)`; a subcommand is listed only once it works.
_COMMAND_MODULES = (
    "spikinghash.cli.data_cmd",
    "spikinghash.cli.train_cmd",
    "spikinghash.cli.qat_cmd",
    "spikinghash.cli.eval_cmd",
    "spikinghash.cli.export_cmd",
    "spikinghash.cli.simulate_cmd",
    "spikinghash.cli.energy_cmd",
    "spikinghash.cli.report_cmd",
    "spikinghash.cli.demo_cmd",
)
DEBUG_FLAG = "--debug"
USER_ERROR, BUG, INTERRUPTED = 2, 1, 130
# Commands whose KEY=VALUE settings may also come after the options (``train ... --bits 32 T=4``).
_OVERRIDE_COMMANDS = {"train": "overrides"}
_OVERRIDE = re.compile(r"^[A-Za-z_][\w.]*=")


class CommandLineError(UserError):
    """A command line argparse refused (exit 2, like argparse itself)."""


class _Parser(argparse.ArgumentParser):
    """argparse with its errors as one ``error:`` line naming the command and the fix (not usage + message)."""

    def error(self, message: str) -> NoReturn:
        raise CommandLineError(f"{self.prog}: {' '.join(message.split())}; see `{self.prog} --help`")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (each subcommand sets ``func``)."""
    parser = _Parser(
        prog="spikinghash",
        description="Spiking neural networks for deep hashing: data, training, retrieval, "
        "deployment to a Loihi-like integer target, and energy.",
        epilog="Exit status: 0 done, 2 a problem with the input (one `error:` line says what and how to fix "
               "it), 1 an internal error (report it with the --debug traceback), 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"spikinghash {__version__}")
    parser.add_argument(DEBUG_FLAG, action="store_true",
                        help="on an error, print the full traceback too (accepted anywhere on the line)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for mod in _COMMAND_MODULES:
        importlib.import_module(mod).register(sub)
    return parser


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``argv``; KEY=VALUE settings of ``train`` are accepted after its options too."""
    parser = build_parser()
    args, extra = parser.parse_known_args(list(argv))
    dest = _OVERRIDE_COMMANDS.get(args.command)
    late = [a for a in extra if dest and _OVERRIDE.match(a)]
    if dest:
        setattr(args, dest, [*getattr(args, dest), *late])
    unknown = [a for a in extra if a not in late]
    if unknown:
        hint = ("; KEY=VALUE settings are `train`'s only" if any(_OVERRIDE.match(a) for a in unknown)
                else "")
        raise CommandLineError(f"spikinghash {args.command}: unrecognized arguments: {' '.join(unknown)}{hint}; "
                               f"see `spikinghash {args.command} --help`")
    return args


# --- exceptions to messages ----------------------------------------------------------------------

_OS_FIXES = {
    errno.ENOENT: "check the path",
    errno.ENOTDIR: "a part of the path is a regular file, not a folder; choose another path",
    errno.EISDIR: "it is a folder; give a file",
    errno.EEXIST: "it is in the way; move it or choose another path",
    errno.EACCES: "check its permissions, or choose a path you can read/write",
    errno.EPERM: "check its permissions, or choose a path you can read/write",
    errno.EROFS: "the file system is read-only; choose another path",
    errno.ENOSPC: "the disk is full; free some space and run the command again",
    errno.EDQUOT: "the disk quota is exhausted; free some space and run the command again",
    errno.EMFILE: "too many open files; raise `ulimit -n` and run the command again",
}


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _os_message(exc: OSError) -> str:
    paths = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p is not None)
    reason = exc.strerror or _one_line(exc) or type(exc).__name__
    fix = _OS_FIXES.get(exc.errno or -1, "check the file (it may be damaged or not what the command expects) "
                                          "and run the command again")
    return f"{paths or 'a file'}: {reason}; {fix}"


def _decode_types() -> tuple[type[BaseException], ...]:
    """Errors of the readers the package uses (a file that is not what it should be), when importable."""
    found: list[type[BaseException]] = [UnicodeError, json.JSONDecodeError, zipfile.BadZipFile,
                                        pickle.UnpicklingError, EOFError]
    for module, name in (("yaml", "YAMLError"), ("google.protobuf.message", "DecodeError"),
                         ("onnx.checker", "ValidationError"), ("onnxruntime.capi.onnxruntime_pybind11_state",
                                                              "Fail"), ("tomllib", "TOMLDecodeError")):
        mod = sys.modules.get(module)  # only readers that ran can have raised
        if mod is not None and isinstance(getattr(mod, name, None), type):
            found.append(getattr(mod, name))
    return tuple(found)


def explain(exc: BaseException) -> tuple[str, int]:
    """The one ``error:`` line (without the prefix) and the exit status for an exception."""
    if isinstance(exc, UserError):
        return _one_line(exc), USER_ERROR
    if isinstance(exc, OSError):
        return _os_message(exc), USER_ERROR
    if isinstance(exc, _decode_types()):
        return (f"an input file could not be decoded ({type(exc).__name__}: {_one_line(exc)[:200]}); check the "
                f"files this command reads, rerun with {DEBUG_FLAG} to see which"), USER_ERROR
    if isinstance(exc, MemoryError):
        return "out of memory; use fewer samples or a smaller batch size", USER_ERROR
    return (f"internal error ({type(exc).__name__}: {_one_line(exc)[:200]}); "
            f"report this with {DEBUG_FLAG} for the traceback"), BUG


def _show_note(show: Callable[..., None]) -> Callable[..., None]:
    """``warnings.showwarning`` that prints a :class:`~spikinghash.errors.Note` as one ``note:`` line."""
    def showwarning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        if issubclass(category, Note):
            print(f"note: {message}", file=sys.stderr)
        else:
            show(message, category, *args, **kwargs)
    return showwarning


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; every failure prints one ``error:`` line to stderr (see the module docstring)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = DEBUG_FLAG in argv
    argv = [a for a in argv if a != DEBUG_FLAG]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", Note)
            warnings.showwarning = _show_note(warnings.showwarning)
            args = parse(argv)
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    except Exception as exc:  # noqa: BLE001 - the one place that turns exceptions into messages
        if debug:
            traceback.print_exc()
        message, status = explain(exc)
        print(f"error: {message}", file=sys.stderr)
        return status


if __name__ == "__main__":
    sys.exit(main())
