"""goal, the command-line tool: what a model is, embeddings of texts and images as .npy files, and
local image-sentence matches (the lism and pairs commands live in pairs.py).

    goal info MODEL [--json]
    goal encode-text MODEL TEXT... -o OUT.npy          (or --file F, one text per line; - is stdin)
    goal encode-image MODEL IMAGE_OR_FOLDER... -o OUT.npy [--list]
    goal lism MODEL IMAGE CAPTION [--json] ...          (local matching; see goal/pairs.py)
    goal pairs MODEL INPUT.jsonl -o OUTPUT.jsonl ...    (local pairs of a dataset, resumable)
    goal eval MODEL DATASET [--rerank late|lism] ...    (retrieval recall; see goal/evaluate.py)
    goal encode-dir MODEL DIR -o OUT ...                (a folder into shards, resumable; goal/collection.py)
    goal index build OUT -o INDEX                       (a goal.Index from encode-dir's shards)
    goal search MODEL INDEX CAPTION [-k 10] ...         (ranked images for a caption)

Failures of the library or of a file print `goal: <message>` and exit with status 1; bad usage
exits with 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import re
import sys
import tempfile
from typing import Callable, Sequence

import numpy as np

from . import __version__, library_version
from ._errors import GoalError
from ._progress import Progress
from .model import Model

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


class InputError(Exception):
    """A failure that is neither the library's nor bad usage: no input, a file that is not UTF-8.
    Reported like a library error (status 1), not as usage (2): the command line was well formed."""


# ---- arguments ----------------------------------------------------------------------------------

def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is less than {minimum}")
        return value
    return parse


def _model_options() -> argparse.ArgumentParser:
    """Options every subcommand shares: which model, and how it runs."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("model", metavar="MODEL", help="a model folder (Hugging Face optimum or immich layout) "
                        "or one .onnx file")
    parent.add_argument("--threads", type=_count(0), default=0, metavar="N",
                        help="threads to compute with (default 0: one per core)")
    parent.add_argument("--convention", choices=("auto", "huggingface", "openai"), default="auto",
                        help="how text and images are prepared (default: as the folder says)")
    return parent


def _encode_options() -> argparse.ArgumentParser:
    """Options of the encode subcommands: where the embeddings go, batching, progress."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("-o", "--output", required=True, metavar="OUT.npy",
                        help="the (n, dim) float32 array to write; replaced only once it is complete")
    parent.add_argument("--batch-size", type=_count(1), default=16, metavar="N",
                        help="inputs per run of the model (default 16); progress is counted in batches")
    parent.add_argument("--progress", action="store_true",
                        help="draw the progress bar even when stderr is not a terminal")
    parent.add_argument("-q", "--quiet", action="store_true", help="never draw the progress bar")
    return parent


def _command_parsers() -> dict[str, argparse.ArgumentParser]:
    model, encode = _model_options(), _encode_options()

    info = argparse.ArgumentParser(prog="goal info", parents=[model],
                                   description="Print a model's dimensions, convention and towers, and the files it uses.")
    info.add_argument("--json", action="store_true", help="print one JSON object instead")
    info.set_defaults(run=run_info)

    text = argparse.ArgumentParser(prog="goal encode-text", parents=[model, encode],
                                   description="Embed texts, one row each, into an (n, dim) float32 .npy file.")
    text.add_argument("texts", nargs="*", metavar="TEXT", help="the texts (or give --file)")
    text.add_argument("-f", "--file", metavar="F",
                      help="read the texts from F, one per line, UTF-8; - reads standard input")
    text.add_argument("--long-text", choices=("truncate", "fail", "sentences"), default="truncate",
                      help="a text longer than the context: cut it (default), refuse it, or average "
                      "the embeddings of its sentences")
    text.set_defaults(run=run_encode_text, parser=text)

    image = argparse.ArgumentParser(prog="goal encode-image", parents=[model, encode],
                                    description="Embed JPEG and PNG images, one row each, into an (n, dim) float32 "
                                    ".npy file, and list the files encoded in OUT.txt next to it.")
    image.add_argument("images", nargs="+", metavar="IMAGE",
                       help="image files, or folders: their .jpg, .jpeg and .png files (not hidden ones, "
                       "not in subfolders), sorted by name")
    image.add_argument("--list", action="store_true",
                       help="print the files encoded, one per line, instead of writing OUT.txt")
    image.set_defaults(run=run_encode_image)

    # Imported here, not at the top: pairs.py builds on this module's helpers.
    from . import collection, evaluate, pairs
    return {"info": info, "encode-text": text, "encode-image": image, **pairs.command_parsers(model),
            **evaluate.command_parsers(model), **collection.command_parsers(model)}


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command's arguments. Each command has a parser of its own, run with parse_intermixed_args,
    because argparse's subcommands take positionals in one run only: `goal encode-text MODEL -o x.npy
    "a text"` would leave "a text" unrecognised."""
    commands = _command_parsers()
    top = argparse.ArgumentParser(
        prog="goal", description="Embed texts and images with a CLIP-family ONNX model (libgoal).",
        epilog="commands:\n" + "\n".join(f"  {name:<14}{parser.description}" for name, parser in commands.items())
        + "\n\n`goal COMMAND --help` lists a command's options.\n"
        "Exit status: 0 done; 1 failed, with `goal: <why>` on stderr; 2 bad usage.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--version", action="version", version=f"goal {__version__} (libgoal {library_version()})")
    top.add_argument("command", choices=commands, metavar="COMMAND", help=", ".join(commands))
    top.add_argument("arguments", nargs=argparse.REMAINDER, help="the command's arguments and options")
    first = top.parse_args(argv)
    return commands[first.command].parse_intermixed_args(first.arguments)


def check_output(path: str) -> None:
    """Fails before any encoding, not after it, when the output cannot be written where asked."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise InputError(f"{path}: is a folder; give the .npy file to write")
    if not os.path.isdir(folder):
        raise InputError(f"{path}: the folder {folder} does not exist")


def open_model(args, **options) -> Model:
    return Model(args.model, threads=args.threads, convention=args.convention, **options)


# ---- info ---------------------------------------------------------------------------------------

def run_info(args) -> int:
    with open_model(args) as model:
        info, files = model.info, model.files
    if args.json:
        print(json.dumps({"path": args.model, **dataclasses.asdict(info), "files": files}, indent=2))
    else:
        print(describe(args.model, info, files))
    return 0


def describe(path: str, info, files: dict) -> str:
    towers = [name for name, present in (("text", info.has_text), ("image", info.has_image)) if present]
    rows = [
        ("dim", str(info.dim)),
        ("context length", f"{info.context_length} tokens"),
        ("image size", f"{info.image_size} px"),
        ("patch size", f"{info.patch_size} px" if info.patch_size else "none"),
        ("convention", info.convention),
        ("towers", ", ".join(towers) or "none"),
    ]
    lines = [path] + [f"  {label:<16}{value}" for label, value in rows] + ["  files"]
    lines += [f"    {role:<22}{file if file is not None else '-'}" for role, file in files.items()]
    return "\n".join(lines)


# ---- encode-text --------------------------------------------------------------------------------

def run_encode_text(args) -> int:
    if bool(args.texts) == (args.file is not None):
        args.parser.error("give the texts as arguments or with --file, not both" if args.texts
                          else "give the texts as arguments or with --file")
    check_output(args.output)
    texts = args.texts if args.file is None else read_lines(args.file)
    if not texts:
        raise InputError(f"{_source_name(args.file)}: no texts to encode")
    with open_model(args, long_text=args.long_text, batch_size=args.batch_size) as model:
        embeddings = encode_in_chunks(model.encode_text, texts, args, "texts")
    write_atomically(args.output, lambda f: np.save(f, embeddings))
    return 0


def read_lines(source: str) -> list[str]:
    """The lines of a UTF-8 file (or of stdin for '-'), without their line ends. Every line is a
    text, empty ones included, so row i of the output is line i + 1 of the input."""
    if source == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(source, "rb") as f:
            data = f.read()
    try:
        text = data.decode("utf-8-sig")  # -sig: a byte-order mark some editors write is not text
    except UnicodeDecodeError as error:
        raise InputError(f"{_source_name(source)}: not UTF-8 (byte {error.start})") from None
    # Split on \n alone: str.splitlines would also split inside a text at \x0c, \x1c, \u2028 ...
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the last line's newline ends it; it does not start one more, empty text
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _source_name(source: str) -> str:
    return "standard input" if source == "-" else source


# ---- encode-image -------------------------------------------------------------------------------

def run_encode_image(args) -> int:
    check_output(args.output)
    files = collect_images(args.images)
    if not files:
        raise InputError("no .jpg, .jpeg or .png files in " + ", ".join(args.images))
    with open_model(args, batch_size=args.batch_size) as model:
        embeddings = encode_in_chunks(model.encode_image, files, args, "images")
    listing = "".join(f"{name}\n" for name in files)
    if not args.list:
        # Written before the .npy, so the .npy appearing means the whole run is done.
        write_atomically(list_path(args.output), lambda f: f.write(listing.encode("utf-8", "surrogateescape")))
    write_atomically(args.output, lambda f: np.save(f, embeddings))
    if args.list:
        sys.stdout.write(listing)  # after the .npy, so a reader that stops early cannot lose it
    return 0


def collect_images(arguments: Sequence[str]) -> list[str]:
    """Files as given (the library reports any it cannot read), folders expanded to the images in them."""
    files: list[str] = []
    for argument in arguments:
        if not os.path.isdir(argument):
            files.append(argument)
            continue
        with os.scandir(argument) as entries:
            names = sorted(e.name for e in entries if e.is_file() and not e.name.startswith(".")
                           and e.name.lower().endswith(IMAGE_SUFFIXES))
        files += [os.path.join(argument, name) for name in names]
    return files


def list_path(output: str) -> str:
    """OUT.txt for OUT.npy; any other name gets .txt appended, so the list never replaces the array."""
    stem, suffix = os.path.splitext(output)
    return stem + ".txt" if suffix.lower() == ".npy" else output + ".txt"


# ---- shared -------------------------------------------------------------------------------------

_INDEXED = re.compile(r"^(text|image) (\d+)\b")


def encode_in_chunks(encode: Callable[[list], np.ndarray], items: list, args, label: str) -> np.ndarray:
    """encode(items) a batch at a time, so progress can be shown between batches.

    Chunks are exactly the library's own batches (it starts a new one every batch_size inputs
    from the first of each call), so the result is the same as one call with all the items --
    except for texts under long_text="sentences", where the library batches sentences, not
    texts, and a call's batches depend on which texts share it.
    """
    size = args.batch_size
    shown = not args.quiet and (args.progress or sys.stderr.isatty()) and len(items) > size
    parts = []
    with Progress(len(items), label, enabled=shown) as bar:
        for start in range(0, len(items), size):
            chunk = items[start:start + size]
            try:
                parts.append(encode(chunk))
            except GoalError as error:
                raise renumbered(error, start) from None
            bar.update(len(chunk))
    return np.concatenate(parts)


def renumbered(error: GoalError, offset: int) -> GoalError:
    """The error with 'text 3' / 'image 3' counted over all the inputs, not within one chunk."""
    message = _INDEXED.sub(lambda m: f"{m.group(1)} {int(m.group(2)) + offset}", error.message, count=1)
    if message == error.message:
        return error
    return type(error)(message, error.status)


def file_sha256(path: str) -> str:
    """The SHA-256 of a file's bytes, in hex, read a MiB at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomically(path: str, write: Callable) -> None:
    """write(file) into a temporary file beside `path`, then rename it over `path`: readers, and
    an interrupted run, see the old file or the whole new one, never part of one."""
    folder = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(descriptor, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); give it the mode a plain open() would have.
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it; put it straight back
    os.umask(mask)
    return mask


def _fail(message: str, status: int = 1) -> int:
    print(f"goal: {message}", file=sys.stderr)
    return status


def _os_message(error: OSError) -> str:
    if error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return str(error)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    try:
        return args.run(args)
    except GoalError as error:
        return _fail(error.message)
    except InputError as error:
        return _fail(str(error))
    except BrokenPipeError:
        # The reader of stdout left (`goal encode-image ... --list | head`): not an error of ours.
        # Point stdout at /dev/null so the interpreter's final flush does not complain again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as error:
        return _fail(_os_message(error))
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


if __name__ == "__main__":
    sys.exit(main())
