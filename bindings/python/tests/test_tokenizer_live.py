"""libgoal's tokenizer against the reference tokenizers themselves, run here in every CI run.

Each model folder's tokenizer (through goal.Model.tokenize) is compared with a reference built
from the very file goal reads, on every line of fixtures/tokenizer/corpus.jsonl and on adversarial
lines made below:

- Hugging Face convention (fixtures/folders/hf_ts, tokenizer.json): the `tokenizers` package.
- OpenAI convention (fixtures/folders/openclip_immich, bpe_simple_vocab_16e6.txt.gz): OpenAI's
  SimpleTokenizer (ftfy.fix_text, html.unescape twice, whitespace clean, lower-case, CLIP split,
  BPE) as the torch-free `modern-onnx-clip` package ships it (module `onnx_clip.tokenizer`).
  open_clip's SimpleTokenizer is the same code but imports torch; that the two agree is held by
  test_openai_reference_gives_the_committed_ids, expected_openai.jsonl being open_clip's output.

Special tokens: goal reads a special token's spelling inside the text as ordinary text. The
references are run the way tools/make_tokenizer_fixtures.py runs them for the committed
expectations: HF with `encode_special_tokens = True`; the SimpleTokenizer with its split pattern
minus the "<|startoftext|>" / "<|endoftext|>" alternatives and no pre-seeded cache entries for
them (stock OpenAI code turns a literal "<|endoftext|>" into 49407, stock open_clip a literal
"<end_of_text>"). The pattern is compiled with re.IGNORECASE as OpenAI's clip/simple_tokenizer.py
and open_clip compile it (modern-onnx-clip passes it uncompiled, without the flag, which changes
the split of U+0345 and of "'ſ"); test_openai_split_pattern checks that the package's pattern is
this one plus the two special alternatives.

The lines keep to characters whose Unicode data the references' tables share with the Swift
stdlib's newer ones (tokenizers normalizes with old NFC tables; Python 3.11 has Unicode 14).

OpenAI-mode lines whose ftfy result depends on ftfy's mojibake repair (fix_encoding), which goal
does not reimplement, are left out, as the corpus leaves them out.

Truncation: goal's tokenize(text) cuts to the context (77) keeping the end token last; HF's own
truncation (max_length 77) and the SimpleTokenizer's own tokenize() (cut to the context, then EOT
written over the last place) must give the same ids.
"""

import functools
import json
import random

import ftfy
import regex
import tokenizers
from onnx_clip.tokenizer import SimpleTokenizer  # the modern-onnx-clip package

import goal
from conftest import FIXTURES

HF_FOLDER = FIXTURES / "folders" / "hf_ts"
OPENAI_FOLDER = FIXTURES / "folders" / "openclip_immich"
CONTEXT = 77
START, END = 49406, 49407

SPECIAL_ALTERNATIVES = r"<\|startoftext\|>|<\|endoftext\|>|"
SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


# --- inputs ------------------------------------------------------------------------------------

@functools.cache
def corpus() -> tuple[str, ...]:
    lines = (FIXTURES / "tokenizer" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    return tuple(json.loads(line) for line in lines)


ZWJ = ["👩\u200d❤️\u200d💋\u200d👨", "🧑🏽\u200d🤝\u200d🧑🏻", "👁️\u200d🗨️", "🐻\u200d❄️", "❤️\u200d🔥",
       "🏃🏾\u200d♀️\u200d➡️", "👨\u200d👨\u200d👧\u200d👧", "\u200d", "a\u200db", "🏳️\u200d⚧️", "🫱🏼\u200d🫲🏿"]
COMBINING = ["a\u0300\u0301\u0302\u0303\u0304\u0305", "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f",
             "\u0301", "\u0345", "\u0391\u0345\u0301", "e\u0301\u0327", "s\u0323\u0307", "\u1e69",
             "\u1112\u1161\u11ab\u1100\u1173\u11af", "\u0915\u094d\u0937", "น้ำ", "ﾀﾞ", "ｶﾞ",
             "\u3099\u309a", "o\u0308\u0304", "\U0001d165\U0001d16d", "i\u0307", "I\u0307", "\u0130"]
RTL = ["שָׁלוֹם עולם", "\u202bمرحبا\u202c", "abc \u202e fed \u202c ghi", "\u200f", "العربية123",
       "עברית and English", "\u061c", "\u2067x\u2069", "ﷺ", "ﻻ", "\ufdfd", "ܫܠܡܐ", "ހ"]
CONTROL = ["\x00", "a\x00b", "\x01\x02\x03", "\x08", "\x7f", "\x1b", "\x0e\x0f", "\x80\x81\x9f",
           "\x85", "\u200b\u200c\u2060", "\ufeff", "\ufff9\ufffa\ufffb", "\U000e0001", "\r", "\x0b\x0c",
           "\u2028", "\u2029", "\x1c\x1d\x1e\x1f", "\u180e", "\u00ad", "\u034f", "\ufe0f", "\U000e0100"]
AMPERSANDS = ["&amp;", "&amp", "&", "&&", "&amp;amp;", "&;amp;", "&#", "&#x", "&#38", "&#38;", "&#x26;",
              "&#X26;", "&AMP", "&ampamp;", "&amp;#38;", "&lt", "&lt;&gt;", "&#0000000000000065;",
              "&#x0000041;", "&#99999999999;", "&#-1;", "&amp;&amp;&amp;", "&amp ;", "& amp;",
              "&#x1F600", "&#128512", "&#x80;", "&#128;", "&#13;", "&#x0d;", "&nbsp", "&NBSP;",
              "&amp;nbsp;", "&#160;", "&gt&lt", "&Tab;", "&NewLine;"]
SPECIALS = ["<|endoftext|>", "x<|endoftext|>y", "<|ENDOFTEXT|>", "<|endoftext|", "|endoftext|>",
            "<<|endoftext|>>", "<end_of_text>", "<START_OF_TEXT>", "<|startoftext|><|endoftext|>",
            "&lt;|endoftext|&gt;", "<|endoftext|>&amp;", "< |endoftext| >", "<|endoftext|>'s"]
RUNS = ["a" * 1500, "é" * 400, "😀" * 200, "&amp;" * 150, " " * 800 + "x", "!" * 1500, "1" * 300,
        "ab" * 700, "\u0301" * 200, "ﬁ" * 300, "Σ" * 200, "ß" * 300, "'s" * 300, "\u200d" * 200,
        "x\u0301" * 300, "ー" * 300]
MIXED = ["Hello世界Мир🌍مرحبا", "abcабвαβγ", "ＡＢＣabcАБВ", "𝔸𝔹ℂ ℌ ℑ", "नमस्ते123abc", "日本語English한국어",
         "Ⅳ ⅳ ⑴ ⒜ ①", "ǅǈǋ", "ΣΑΣ σας", "İSTANBUL ıi", "ÅΩK", "ꓚꓰ ᏣᎳᎩ", "𐐀𐐨 Deseret",
         "ǰ̌ ẞ ß", "ᾼ ᾳ ῼ", "K̊", "ｷｬﾉﾝEOS", "Ⓐⓑ🄰", "ⅰⅱⅲ", "٣٤٥ ۴۵۶ ߁߂"]
POOLS = [ZWJ, COMBINING, RTL, CONTROL, AMPERSANDS, SPECIALS, MIXED]


@functools.cache
def adversarial() -> tuple[str, ...]:
    """The pieces above alone, 400 seeded random joins of them, and each long run; none is in the
    corpus."""
    lines = [piece for pool in POOLS for piece in pool] + RUNS
    rng = random.Random(77)
    glue = ["", "", " ", "  ", "\t", "\n", "'", "&", ";", "x"]
    for _ in range(400):
        pieces = [rng.choice(rng.choice(POOLS)) for _ in range(rng.choice([2, 3, 5, 9, 40]))]
        lines.append("".join(piece + rng.choice(glue) for piece in pieces))
    known = set(corpus())
    return tuple(line for line in dict.fromkeys(lines) if line not in known)


@functools.cache
def openai_adversarial() -> tuple[str, ...]:
    """The adversarial lines less those whose ftfy result depends on its mojibake repair."""
    return tuple(line for line in adversarial()
                 if ftfy.fix_text(line) == ftfy.fix_text(line, fix_encoding=False))


# --- tokenizers --------------------------------------------------------------------------------

@functools.cache
def hf_model() -> goal.Model:
    return goal.Model(HF_FOLDER)


@functools.cache
def openai_model() -> goal.Model:
    return goal.Model(OPENAI_FOLDER)


@functools.cache
def hf_reference(truncate: bool) -> tokenizers.Tokenizer:
    tokenizer = tokenizers.Tokenizer.from_file(hf_model().files["tokenizer"])
    tokenizer.encode_special_tokens = True
    if truncate:
        tokenizer.enable_truncation(max_length=CONTEXT)
    return tokenizer


class OpenAIReference(SimpleTokenizer):
    """The package's SimpleTokenizer, its split pattern compiled as OpenAI compiles it and without
    the special-token alternatives; no special tokens pre-seeded in the BPE cache."""

    pat = regex.compile(SPLIT, regex.IGNORECASE)

    def __init__(self, bpe_path: str):
        super().__init__(bpe_path=bpe_path)
        self.cache = {}

    def ids(self, text: str) -> list[int]:
        return [START] + self.encode(text) + [END]

    def truncated_ids(self, text: str) -> list[int]:
        """The package's own tokenize(): padded to the context with zeros, which here are cut off
        again (0 is a real token, "!", so by the length of the whole encoding)."""
        row = [int(i) for i in self.tokenize(text, context_length=CONTEXT)[0]]
        used = min(len(openai_ids(text)), CONTEXT)
        assert row[used:] == [0] * (CONTEXT - used)
        return row[:used]


@functools.cache
def openai_reference() -> OpenAIReference:
    return OpenAIReference(openai_model().files["tokenizer"])


@functools.cache
def openai_ids(text: str) -> list[int]:
    """The reference's ids, kept: several tests ask for the same lines."""
    return openai_reference().ids(text)


# --- comparison --------------------------------------------------------------------------------

def mismatch(text: str, ours: list[int], theirs: list[int], name: str) -> str:
    at = next((k for k, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
    return (f"line {text!r}\n  first difference at position {at} "
            f"(goal {ours[at:at + 1]}, {name} {theirs[at:at + 1]}; lengths {len(ours)} and {len(theirs)})\n"
            f"  goal: {ours}\n  {name}: {theirs}")


def assert_same(lines, ours, theirs, name: str) -> None:
    __tracebackhide__ = True
    bad = [(line, mine, ref) for line in lines if (mine := ours(line)) != (ref := theirs(line))]
    if bad:
        shown = "\n".join(mismatch(line, mine, ref, name) for line, mine, ref in bad[:5])
        raise AssertionError(f"{len(bad)} of {len(lines)} lines differ from {name}; the first "
                             f"{min(len(bad), 5)}:\n{shown}")


# --- the references are what they claim to be ----------------------------------------------------

def test_openai_split_pattern():
    stock = SimpleTokenizer(bpe_path=openai_model().files["tokenizer"])
    assert stock.pat == SPECIAL_ALTERNATIVES + SPLIT
    assert stock.cache == {"<|startoftext|>": "<|startoftext|>", "<|endoftext|>": "<|endoftext|>"}


def test_openai_reference_gives_the_committed_ids():
    """expected_openai.jsonl is open_clip's output (tools/make_tokenizer_fixtures.py): the torch-free
    reference equals open_clip on the whole corpus."""
    expected = [json.loads(line) for line in
                (FIXTURES / "tokenizer" / "expected_openai.jsonl").read_text().splitlines()]
    assert len(expected) == len(corpus()) > 3000
    committed = dict(zip(corpus(), expected))
    assert_same(corpus(), committed.__getitem__, openai_ids, "open_clip (committed)")


def test_the_adversarial_lines_are_new_and_hard():
    lines = adversarial()
    assert len(lines) > 400
    assert not set(lines) & set(corpus())
    assert len(openai_adversarial()) > 0.9 * len(lines)
    assert sum(len(hf_model().tokenize(line, truncate=False)) > CONTEXT for line in lines) > 20


# --- goal against the references ---------------------------------------------------------------

def test_hf_corpus():
    assert_same(corpus(), lambda text: hf_model().tokenize(text, truncate=False),
                lambda text: hf_reference(False).encode(text).ids, "tokenizers")


def test_openai_corpus():
    assert_same(corpus(), lambda text: openai_model().tokenize(text, truncate=False),
                openai_ids, "OpenAI SimpleTokenizer")


def test_hf_adversarial():
    assert_same(adversarial(), lambda text: hf_model().tokenize(text, truncate=False),
                lambda text: hf_reference(False).encode(text).ids, "tokenizers")


def test_openai_adversarial():
    assert_same(openai_adversarial(), lambda text: openai_model().tokenize(text, truncate=False),
                openai_ids, "OpenAI SimpleTokenizer")


def long_lines(lines, model) -> list[str]:
    return [line for line in lines if len(model.tokenize(line, truncate=False)) > CONTEXT]


def test_hf_truncation():
    lines = long_lines(corpus() + adversarial(), hf_model())
    assert len(lines) > 300
    assert_same(lines, hf_model().tokenize, lambda text: hf_reference(True).encode(text).ids,
                "tokenizers (max_length 77)")
    assert all(len(hf_model().tokenize(line)) == CONTEXT for line in lines)


def test_openai_truncation():
    lines = long_lines(corpus() + openai_adversarial(), openai_model())
    assert len(lines) > 300
    assert_same(lines, openai_model().tokenize, openai_reference().truncated_ids,
                "OpenAI SimpleTokenizer.tokenize (context 77)")
    assert all(len(openai_model().tokenize(line)) == CONTEXT for line in lines)
