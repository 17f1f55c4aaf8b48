"""`goal lism` and `goal pairs`: local image-sentence matching (LISM) from the command line.

    goal lism MODEL IMAGE CAPTION [--boxes X0,Y0,X1,Y1 ...] [LISM OPTIONS] [--json] [--heatmaps DIR]
    goal pairs MODEL INPUT.jsonl -o OUTPUT.jsonl [--images-root DIR] [LISM OPTIONS]
               [--retry-errors] [--fsync-every N] [--progress | -q]

LISM OPTIONS are goal.Model.lism's: --grid N [N ...], --mode pooled|crop, --one-to-one,
--min-score S, --sentence-mode standalone|span_pooled, --naive-sentences, --no-spatial-division,
--exclude-whole-image (best_excludes_whole_image).

`goal lism` prints each sentence of the caption with the region it matched (index, source, box
rounded to 0.1 px) and the score (100 x cosine), then the best pair; --json prints the whole
result instead: regions, sentences, scores (sentences x regions), matches and best. --boxes go
after IMAGE and CAPTION (they take every value up to the next option); write a box with a
negative coordinate as --boxes=-4,0,20,30. --heatmaps DIR, offered when goal.Model has heatmap(),
writes DIR/sentence_<i>.png for each sentence i.

`goal pairs` turns a JSONL file of images with captions into a JSONL file of local pairs
(GLIT-style): one output line per input line, in input order. Blank input lines are skipped.

    input line   {"image": PATH, "caption": TEXT, "id": ID, "boxes": [[x0, y0, x1, y1], ...]}
        image    "image", else "image_path", "image_file" or "file_name" (the first present);
                 a relative path is taken from --images-root, or else from INPUT.jsonl's folder
        caption  "caption", else "text" or "description"
        id       "id", else "example_id"; optional (the default is the line number, from 1);
                 a string or a whole number, each at most once in the file
        boxes    optional: detector boxes in the image's pixels, added to the candidate regions
    So DOCCI's descriptions file ({"example_id", "image_file", "description"}) is read as it is,
    with --images-root naming its images folder.

    output line  {"id", "image", "caption", "pairs": [PAIR, ...], "best": PAIR or null}, a PAIR
                 being {"sentence", "sentence_index", "start", "end", "region_index", "box",
                 "source", "score"} (start and end in characters of the caption; one PAIR per
                 sentence that got a region), "image" as the input gave it;
                 or, for a line that could not be used, {"id", "image", "error": MESSAGE}.

Resuming: each output line is appended and flushed as soon as it is computed, and fsynced every
--fsync-every lines and at the end. A rerun with the same INPUT and OUTPUT reads OUTPUT, cuts
off a torn last line (an interrupted write) and does only the lines whose id is not in it yet:
nothing is redone, nothing lost. Failed lines are recorded, so they are not retried on every
run; --retry-errors retries them (and only them), then puts OUTPUT back in input order.

Progress (done/total, rate, time left) is drawn on stderr when it is a terminal, or with
--progress; --quiet draws no bar and no closing summary. A failed line is always reported on
stderr with its line number. Exit status: 0 when every line is done, failed lines included;
1 when the run cannot go on (the model does not open, the library runs out of memory, OUTPUT
is not a file this command wrote); 2 for bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from typing import Iterator, Optional

from ._errors import GoalError, InternalError, OutOfMemoryError
from ._progress import Progress
from .cli import InputError, _count, open_model, write_atomically
from .matching import LISMResult, Match, Region
from .model import Model

IMAGE_KEYS = ("image", "image_path", "image_file", "file_name")
CAPTION_KEYS = ("caption", "text", "description")
ID_KEYS = ("id", "example_id")

# Library errors that say nothing about the line at hand: recording them against every
# remaining line would turn one problem into a dataset of failures, so the run stops instead.
FATAL_ERRORS = (OutOfMemoryError, InternalError)


# ---- arguments ----------------------------------------------------------------------------------

def _box(text: str) -> tuple[float, float, float, float]:
    parts = text.split(",")
    try:
        if len(parts) != 4:
            raise ValueError
        return tuple(float(p) for p in parts)  # type: ignore[return-value]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a box x0,y0,x1,y1") from None


def _lism_options() -> argparse.ArgumentParser:
    """The options of goal.Model.lism that both commands share."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--grid", type=_count(1), nargs="+", action="extend", default=[], metavar="N",
                        help="add the cells of an N x N grid to the candidate regions (several N allowed)")
    parent.add_argument("--mode", choices=("pooled", "crop"), default="pooled",
                        help="embed regions by pooling patches of one pass (default) or by encoding crops")
    parent.add_argument("--one-to-one", action="store_true", help="give each sentence a different region")
    parent.add_argument("--min-score", type=float, metavar="S",
                        help="leave a sentence unmatched when its best score is below S (100 x cosine)")
    parent.add_argument("--sentence-mode", choices=("standalone", "span_pooled"), default="standalone",
                        help="embed each sentence on its own (default) or pool its tokens in the whole caption")
    parent.add_argument("--naive-sentences", action="store_true", help="split the caption at every '.'")
    parent.add_argument("--no-spatial-division", action="store_true",
                        help="leave out the quadrants and centre from the candidate regions")
    parent.add_argument("--exclude-whole-image", action="store_true",
                        help="never pick the whole image as the best pair")
    return parent


def lism_keywords(args) -> dict:
    return dict(mode=args.mode, one_to_one=args.one_to_one, min_score=args.min_score, grid=args.grid,
                sentence_mode=args.sentence_mode, naive_sentences=args.naive_sentences,
                spatial_division=not args.no_spatial_division,
                best_excludes_whole_image=args.exclude_whole_image)


def command_parsers(model_options: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parsers of `goal lism` and `goal pairs`, for cli.py to add to its commands."""
    shared = _lism_options()

    lism = argparse.ArgumentParser(prog="goal lism", parents=[model_options, shared],
                                   description="Match each sentence of a caption with a region of an image (LISM).")
    lism.add_argument("image", metavar="IMAGE", help="a JPEG or PNG file")
    lism.add_argument("caption", metavar="CAPTION", help="the caption, in one argument")
    lism.add_argument("--boxes", type=_box, nargs="+", action="extend", default=[], metavar="X0,Y0,X1,Y1",
                      help="detector boxes in the image's pixels, added to the candidate regions")
    lism.add_argument("--json", action="store_true", help="print the whole result as one JSON object")
    # Checked when the parser is made, so the option appears once goal.Model has heatmap() and
    # not before.
    if hasattr(Model, "heatmap"):
        lism.add_argument("--heatmaps", metavar="DIR",
                          help="write each sentence's heatmap over the image to DIR/sentence_<i>.png")
    lism.set_defaults(run=run_lism)

    pairs = argparse.ArgumentParser(prog="goal pairs", parents=[model_options, shared],
                                    description="Run LISM over a JSONL file of images and captions and write "
                                    "their local pairs as JSONL; a rerun resumes.",
                                    epilog="See goal/pairs.py for the input and output formats.")
    pairs.add_argument("input", metavar="INPUT.jsonl", help="one {\"image\", \"caption\"} object per line")
    pairs.add_argument("-o", "--output", required=True, metavar="OUTPUT.jsonl",
                       help="the pairs, one line per input line; appended to when it exists (resume)")
    pairs.add_argument("--images-root", metavar="DIR",
                       help="the folder relative image paths start from (default: INPUT.jsonl's folder)")
    pairs.add_argument("--retry-errors", action="store_true",
                       help="process again the lines OUTPUT records as failed")
    pairs.add_argument("--fsync-every", type=_count(1), default=100, metavar="N",
                       help="force OUTPUT to disk every N lines (default 100) and at the end")
    pairs.add_argument("--progress", action="store_true",
                       help="draw the progress bar even when stderr is not a terminal")
    pairs.add_argument("-q", "--quiet", action="store_true", help="draw no progress bar and print no summary")
    pairs.set_defaults(run=run_pairs, parser=pairs)
    return {"lism": lism, "pairs": pairs}


# ---- results as JSON and text -------------------------------------------------------------------

def pair_record(match: Match, result: LISMResult) -> dict:
    sentence, region = result.sentences[match.sentence_index], result.regions[match.region_index]
    return {"sentence": match.sentence, "sentence_index": match.sentence_index,
            "start": sentence.start, "end": sentence.end, "region_index": match.region_index,
            "box": list(match.box), "source": region.source, "score": match.score}


def result_record(result: LISMResult) -> dict:
    """Everything in a LISMResult, as JSON values (scores as float32 values in doubles: exact)."""
    return {
        "regions": [{"box": list(r.box), "source": r.source,
                     "index": list(r.index) if isinstance(r.index, tuple) else r.index} for r in result.regions],
        "sentences": [{"text": s.text, "start": s.start, "end": s.end, "tokens": list(s.tokens)}
                      for s in result.sentences],
        "scores": result.scores.astype(float).tolist(),
        "matches": [pair_record(m, result) for m in result.matches],
        "best": pair_record(result.best, result) if result.best is not None else None,
    }


def region_label(region: Region) -> str:
    if region.source == "whole_image":
        return "whole image"
    if region.source == "centre":
        return "centre"
    if region.source == "grid":
        n, row, column = region.index
        return f"grid {n}x{n} row {row} column {column}"
    return f"{region.source} {region.index}"


def describe_match(match: Optional[Match], result: LISMResult) -> str:
    if match is None:
        return "no region"
    box = ", ".join(f"{v:.1f}" for v in match.box)
    return (f"region {match.region_index} ({region_label(result.regions[match.region_index])}) "
            f"box ({box}) score {match.score:.2f}")


def describe_result(result: LISMResult) -> str:
    by_sentence = {m.sentence_index: m for m in result.matches}
    lines = [f"sentence {i} {json.dumps(s.text, ensure_ascii=False)} -> {describe_match(by_sentence.get(i), result)}"
             for i, s in enumerate(result.sentences)]
    best = result.best
    lines.append(f"best: sentence {best.sentence_index} -> {describe_match(best, result)}" if best is not None
                 else "best: none")
    return "\n".join(lines)


# ---- lism ---------------------------------------------------------------------------------------

_IMAGE_0 = "image 0: "


def named(error: GoalError, path: str) -> GoalError:
    """The error with the library's "image 0: " (the one image of the call) replaced by its path."""
    if not error.message.startswith(_IMAGE_0):
        return error
    return type(error)(f"{path}: {error.message[len(_IMAGE_0):]}", error.status)


def run_lism(args) -> int:
    with open_model(args) as model:
        try:
            result = model.lism(args.image, args.caption, boxes=args.boxes or None, **lism_keywords(args))
        except GoalError as error:
            raise named(error, args.image) from None
        heatmaps = write_heatmaps(model, args, result) if getattr(args, "heatmaps", None) else None
    if args.json:
        record = result_record(result)
        if heatmaps is not None:
            record["heatmaps"] = heatmaps
        print(json.dumps(record, ensure_ascii=False))
    else:
        print(describe_result(result))
        for path in heatmaps or []:
            print(f"heatmap: {path}")
    return 0


def write_heatmaps(model: Model, args, result: LISMResult) -> list[str]:
    os.makedirs(args.heatmaps, exist_ok=True)
    paths = []
    for i, sentence in enumerate(result.sentences):
        path = os.path.join(args.heatmaps, f"sentence_{i}.png")
        model.heatmap(args.image, sentence.text, path=path)
        paths.append(path)
    return paths


# ---- pairs: the input ---------------------------------------------------------------------------

@dataclass
class Entry:
    """One input line, read: what to run LISM on, or why it cannot be."""

    line: int
    id: object                  # as written to the output: the input's id, else the line number
    image: object = None        # as the input gave it
    path: str = ""              # the image file, resolved
    caption: str = ""
    boxes: Optional[list] = None
    error: Optional[str] = None

    @property
    def key(self) -> str:
        return id_key(self.id)


def id_key(value) -> str:
    # Ids are compared as JSON text, so "7" and 7 stay two ids, as they are in the files.
    return json.dumps(value, sort_keys=True)


def input_lines(path: str) -> Iterator[tuple[int, bytes]]:
    """(line number from 1, line without its line end) for each non-blank line of the file."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]  # a byte-order mark some editors write is not part of the JSON
            raw = raw.rstrip(b"\r\n")
            if raw.strip():
                yield number, raw


def _first(record: dict, keys: tuple[str, ...]):
    for key in keys:
        if key in record:
            return record[key]
    return None


def read_entry(number: int, raw: bytes, root: str) -> Entry:
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        return Entry(number, number, error=f"not UTF-8 (byte {error.start})")
    except json.JSONDecodeError as error:
        return Entry(number, number, error=f"not JSON ({error.msg}, column {error.colno})")
    if not isinstance(record, dict):
        return Entry(number, number, error="not a JSON object")
    given_id = _first(record, ID_KEYS)
    if given_id is not None and (isinstance(given_id, bool) or not isinstance(given_id, (str, int))):
        return Entry(number, number, image=_first(record, IMAGE_KEYS), error="the id is not a string or a whole number")
    entry = Entry(number, number if given_id is None else given_id, image=_first(record, IMAGE_KEYS))
    entry.error = _fill(entry, record, root)
    return entry


def _fill(entry: Entry, record: dict, root: str) -> Optional[str]:
    """Sets the entry's image path, caption and boxes from the record; the reason it cannot, if any."""
    if not isinstance(entry.image, str) or not entry.image:
        return "no image path (" + ", ".join(f'"{k}"' for k in IMAGE_KEYS) + ")"
    entry.path = os.path.join(root, entry.image)  # an absolute image path stays as it is
    try:
        os.fsencode(entry.path)
    except UnicodeEncodeError:  # a lone surrogate from a \ud800 escape: no file has that name
        return "the image path is not a possible file name"
    caption = _first(record, CAPTION_KEYS)
    if not isinstance(caption, str):
        return "no caption (" + ", ".join(f'"{k}"' for k in CAPTION_KEYS) + ")"
    if not caption.strip():
        return "the caption is empty"
    entry.caption = caption
    boxes = record.get("boxes")
    if boxes is not None:
        if not _is_box_list(boxes):
            return "boxes must be a list of [x0, y0, x1, y1]"
        entry.boxes = boxes
    return None


def _is_box_list(boxes) -> bool:
    return isinstance(boxes, list) and all(
        isinstance(b, list) and len(b) == 4
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in b) for b in boxes)


def input_order(path: str) -> dict[str, int]:
    """Key -> position of every input line, read once before any work: the total for the
    progress bar, the order of the output, and a check that ids are unique -- a repeated id
    would make a done line and a pending one look the same."""
    order: dict[str, int] = {}
    first_line: dict[str, int] = {}
    for number, raw in input_lines(path):
        key = read_entry(number, raw, "").key
        if key in order:
            raise InputError(f"{path} line {number}: id {key} is line {first_line[key]}'s too; "
                             "ids must be unique to tell which lines are done")
        order[key] = len(order)
        first_line[key] = number
    return order


# ---- pairs: the output --------------------------------------------------------------------------

def output_lines(path: str) -> Iterator[tuple[str, bool, bytes]]:
    """(id key, failed?, line with its newline) for each complete line of an output file.

    Stops before a torn last line -- no newline, or not one of our JSON objects -- which is what a
    run killed while writing leaves. Anything wrong before the last line is not that, and not
    ours to cut: InputError.
    """
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            record = _output_record(raw) if raw.endswith(b"\n") else None
            if record is None:
                if f.read(1):
                    raise InputError(f"{path} line {number}: not a line `goal pairs` wrote; "
                                     "give another output file")
                return
            yield id_key(record["id"]), "error" in record, raw


def _output_record(raw: bytes) -> Optional[dict]:
    try:
        record = json.loads(raw.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError both are
        return None
    if isinstance(record, dict) and "id" in record and ("pairs" in record or "error" in record):
        return record
    return None


def recover_output(path: str, retry_errors: bool) -> tuple[list[str], set[str], int]:
    """Makes OUTPUT fit to append to and says what it holds: (keys in file order, the keys of
    failed lines, bytes of a torn line cut off).

    With retry_errors the failed lines are taken out first (the file replaced at once), so the
    lines that replace them are never there twice, whenever the run stops."""
    if not os.path.exists(path):
        return [], set(), 0
    keys, failed, length = [], set(), 0
    for key, is_error, raw in output_lines(path):
        keys.append(key)
        length += len(raw)
        if is_error:
            failed.add(key)
    torn = os.path.getsize(path) - length
    if torn:
        os.truncate(path, length)
    if retry_errors and failed:
        kept = [raw for key, is_error, raw in output_lines(path) if not is_error]
        write_atomically(path, lambda f: f.writelines(kept))
        keys = [key for key in keys if key not in failed]
        failed = set()
    return keys, failed, torn


def put_in_input_order(path: str, order: dict[str, int]) -> None:
    """Rewrites OUTPUT (all at once) with its lines in input order; lines of ids INPUT no longer
    has go last, as they were."""
    lines = list(output_lines(path))
    ordered = sorted(lines, key=lambda line: order.get(line[0], len(order)))
    write_atomically(path, lambda f: f.writelines(raw for _, _, raw in ordered))


def json_line(record: dict) -> bytes:
    text = json.dumps(record, ensure_ascii=False)
    try:
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (from a \ud800 escape in the input) has no UTF-8; escaped, it is
        # still the same JSON value.
        return (json.dumps(record) + "\n").encode("ascii")


# ---- pairs: the run -----------------------------------------------------------------------------

class _Bar(Progress):
    """A progress bar that messages can be printed under without running into its line."""

    _shown = 0  # the length of the bar's line on screen now; 0 when none is

    def _draw(self, now: float) -> None:
        super()._draw(now)
        self._shown = len(self.line(now)) if self.enabled else 0

    def say(self, text: str) -> None:
        # Written over the bar's line (padded to cover it); the bar comes back under it at its
        # next update.
        self._stream.write(("\r" + text.ljust(self._shown) if self._shown else text) + "\n")
        self._stream.flush()
        self._shown = 0


def process(model: Model, entry: Entry, options: dict) -> dict:
    """The output line for one input line."""
    if entry.error is None:
        try:
            result = model.lism(entry.path, entry.caption, boxes=entry.boxes, **options)
        except FATAL_ERRORS:
            raise
        except GoalError as error:
            entry.error = named(error, entry.path).message
    if entry.error is not None:
        return {"id": entry.id, "image": entry.image, "error": entry.error}
    return {"id": entry.id, "image": entry.image, "caption": entry.caption,
            "pairs": [pair_record(m, result) for m in result.matches],
            "best": pair_record(result.best, result) if result.best is not None else None}


def check_model(model: Model, args) -> None:
    """What would fail on every line alike fails once, here."""
    info = model.info
    if not (info.has_text and info.has_image):
        raise InputError(f"{args.model}: LISM needs a text and an image tower; this model has "
                         + ("a text tower only" if info.has_text else "an image tower only"))
    if args.mode == "pooled" and not info.patch_size:
        raise InputError(f"{args.model}: the image tower has no patch grid to pool; use --mode crop")


def check_paths(args) -> str:
    """The folder images are found from; fails before any work on paths that cannot be right."""
    if os.path.exists(args.output) and os.path.exists(args.input) and os.path.samefile(args.output, args.input):
        args.parser.error("OUTPUT.jsonl is INPUT.jsonl; give another output file")
    if os.path.isdir(args.output):
        raise InputError(f"{args.output}: is a folder; give the .jsonl file to write")
    folder = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(folder):
        raise InputError(f"{args.output}: the folder {folder} does not exist")
    root = args.images_root if args.images_root is not None else os.path.dirname(os.path.abspath(args.input))
    if not os.path.isdir(root):
        raise InputError(f"{root}: the images root is not a folder")
    return root


def run_pairs(args) -> int:
    root = check_paths(args)
    order = input_order(args.input)
    keys, failed, torn = recover_output(args.output, args.retry_errors)
    if torn:
        print(f"goal: {args.output}: cut off an incomplete last line ({torn} bytes); it is done again",
              file=sys.stderr)
    done = set(keys)
    pending = len(order) - len(done & order.keys())
    counts = {"done": 0, "failed": 0}
    if pending:
        with open_model(args) as model:
            check_model(model, args)
            keys += write_pairs(model, args, root, done, pending, counts)
    # Retried lines were appended after the rest; a dataset reads best in the order it was given.
    positions = [order.get(key, len(order)) for key in keys]
    if positions != sorted(positions):
        put_in_input_order(args.output, order)
    if not args.quiet:
        print(summary(args, order, keys, failed, counts), file=sys.stderr)
    return 0


def write_pairs(model: Model, args, root: str, done: set[str], pending: int, counts: dict) -> list[str]:
    """Appends an output line for every input line not done; the keys written, in order."""
    options = lism_keywords(args)
    shown = not args.quiet and (args.progress or sys.stderr.isatty())
    written: list[str] = []
    with open(args.output, "ab") as out, _Bar(pending, "lines", enabled=shown) as bar:
        try:
            for number, raw in input_lines(args.input):
                entry = read_entry(number, raw, root)
                if entry.key in done:
                    continue
                record = process(model, entry, options)
                out.write(json_line(record))
                out.flush()  # in the kernel's hands at once: a killed run loses no finished line
                written.append(entry.key)
                done.add(entry.key)
                counts["done"] += 1
                if "error" in record:
                    counts["failed"] += 1
                    bar.say(f"goal: {args.input} line {number}: {record['error']}")
                if len(written) % args.fsync_every == 0:
                    os.fsync(out.fileno())
                bar.update()
        finally:
            out.flush()
            os.fsync(out.fileno())
    return written


def summary(args, order: dict[str, int], keys: list[str], failed_before: set[str], counts: dict) -> str:
    total = len(order)
    failed = counts["failed"] + len(failed_before & order.keys())
    text = (f"goal: {args.input}: {total} lines, {total - failed} with pairs, {failed} failed; "
            f"{counts['done']} processed now ({counts['failed']} failed), {total - counts['done']} done before")
    stray = len(set(keys) - order.keys())
    if stray:
        text += f"; {stray} lines of {args.output} have ids {args.input} does not have"
    return text
