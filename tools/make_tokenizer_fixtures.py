#!/usr/bin/env python3
"""Make the CLIP tokenizer fixtures, and the text-fixing tables the Swift tokenizer reads.

Run by hand from the package root:  python3 tools/make_tokenizer_fixtures.py

Needs: tokenizers, transformers, ftfy, regex, open_clip (and torch, which open_clip imports).

Writes
  fixtures/tokenizer/bpe_simple_vocab_16e6.txt.gz   copied from the installed open_clip
  fixtures/tokenizer/tokenizer.json                 HF CLIPTokenizerFast built from that file
  fixtures/tokenizer/corpus.jsonl                   one JSON string per line (the test inputs)
  fixtures/tokenizer/expected_hf.jsonl              ids from HF tokenizers, one JSON array a line
  fixtures/tokenizer/expected_openai.jsonl          ids from open_clip's SimpleTokenizer
  Sources/GoalCLIP/Tokenizer/TextFixTables.swift    data tables from Python's html module and ftfy

Both references get the same special-token rule the Swift tokenizer has: a special token's
spelling inside the text is ordinary text. HF is run with `encode_special_tokens = True`;
open_clip's SimpleTokenizer is run with its pattern minus the special-token alternatives (stock
open_clip turns a literal "<end_of_text>" into id 49407; its "<|endoftext|>" is plain text anyway).
The script prints how many corpus lines the stock references would tokenize differently.

Lines whose ftfy result depends on ftfy's mojibake repair (fix_encoding), which the Swift
tokenizer does not reimplement, are left out of the corpus; the script prints how many.
"""
import gzip
import html
import html.entities
import json
import os
import random
import shutil
import sys
import tempfile

import ftfy
import ftfy.chardata
import open_clip
import regex
import tokenizers
from open_clip import tokenizer as oc_tok

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "tokenizer")
TABLES = os.path.join(ROOT, "Sources", "GoalCLIP", "Tokenizer", "TextFixTables.swift")


# --- vocabulary files --------------------------------------------------------------------------

def simple_vocab_and_merges(gz_path):
    """The vocabulary and merges exactly as CLIP's simple tokenizer builds them."""
    lines = gzip.open(gz_path).read().decode("utf-8").split("\n")
    merges = [tuple(m.split()) for m in lines[1:49152 - 256 - 2 + 1]]
    byte_syms = list(oc_tok.bytes_to_unicode().values())
    vocab = byte_syms + [s + "</w>" for s in byte_syms] + ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(vocab)}, merges


def write_tokenizer_json(gz_path, out_path):
    """A tokenizer.json laid out like the one published with openai/clip-vit-base-patch32, built
    with the tokenizers library itself (transformers 5's converter adds the special tokens to
    the split pattern and turns on ByteLevel's own regex, which the published files do not)."""
    from tokenizers import Regex, decoders, models, normalizers, pre_tokenizers, processors
    vocab, merges = simple_vocab_and_merges(gz_path)
    tok = tokenizers.Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<|endoftext|>",
                                          continuing_subword_prefix="", end_of_word_suffix="</w>",
                                          fuse_unk=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""),
                             behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.post_processor = processors.RobertaProcessing(
        ("<|endoftext|>", vocab["<|endoftext|>"]), ("<|startoftext|>", vocab["<|startoftext|>"]),
        trim_offsets=False, add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([tokenizers.AddedToken("<|startoftext|>", normalized=False, special=True),
                            tokenizers.AddedToken("<|endoftext|>", normalized=False, special=True)])
    tok.save(out_path, pretty=False)


# --- corpus ------------------------------------------------------------------------------------

NOUNS = ("dog cat man woman child bicycle car tree house street window table chair cup plate "
         "mountain river lake boat bird horse umbrella kite sign building bus train bench grass "
         "sky cloud shadow lamp book laptop phone pizza sandwich banana apple orange giraffe "
         "zebra elephant skateboard surfboard wave beach sand rock fence door wall floor ceiling "
         "jacket shirt hat scarf glove shoe backpack bottle vase flower leaf branch bridge tower").split()
ADJS = ("red blue green yellow black white small large tall short old young wooden metal "
        "shiny dark bright wet dry striped spotted crowded empty colorful blurry sunny snowy "
        "rusty broken narrow wide round square cozy ancient modern tiny enormous").split()
VERBS = ("sitting standing running walking lying holding riding eating looking jumping parked "
         "hanging leaning floating flying reading playing carrying crossing waiting").split()
PREPS = "on in under near beside behind above across against along inside outside".split()
WORDS_INTL = [
    "café", "naïve", "façade", "jalapeño", "crème brûlée", "São Paulo", "Zürich", "Ærøskøbing",
    "Łódź", "Kraków", "Dvořák", "smörgåsbord", "piñata", "Ñandú", "œuvre", "Straße",
    "ΑΘΗΝΑ", "Οδός", "ΟΔΟΣ", "καλημέρα", "σοφία", "ὁδός", "Москва", "ПРИВЕТ мир", "Ёлка",
    "مرحبا بالعالم", "القاهرة", "नमस्ते दुनिया", "हिन्दी", "東京タワー", "北京天安门", "서울 타워",
    "ｆｕｌｌｗｉｄｔｈ ＴＥＸＴ １２３", "ｶﾀｶﾅ", "ﬁnancial ﬂow", "ĳsselmeer", "İstanbul", "ǅemal",
    "e\u0301cole", "A\u030angstro\u0308m", "\u1100\u1161\u11a8", "Ω ohm Å angstrom K kelvin",
    "ǆ ǈ ǋ", "ſtraße", "ꭰꮳꮧ", "ﬆop", "ｷｬﾉﾝ", "日本語のテキスト", "中文标点，句号。", "Ⅻ roman ⅻ",
    "½ ¼ ¾ ² ³ ¹", "٣ ٤ ٥ arabic digits", "१२३ devanagari digits", "𝓯𝓪𝓷𝓬𝔂 𝕥𝕖𝕩𝕥",
]
EMOJI = ["😀", "🐶", "🍕", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇫🇷", "🧑🏿‍🚀", "✌🏻", "🤷‍♀️", "#️⃣",
         "🏴\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f", "☕", "🎉🎉🎉"]
PUNCT = ["...", "!!!", "?!", "--", "—", "–", "…", "(", ")", "[", "]", "\"", "'", ",", ";", ":",
         "/", "\\", "@", "#", "$", "%", "^", "*", "+", "=", "~", "`", "|", "{", "}", "<", ">", "_",
         "«", "»", "¿", "¡", "·", "•", "©", "®", "™", "°", "±", "§", "¶", "€", "£", "¥"]
CONTRACTIONS = ["it's", "don't", "we're", "they've", "I'm", "you'll", "he'd", "IT'S", "Don'T",
                "it’s", "don’t", "we’re", "‘quoted’", "“double”", "rock'n'roll", "''s", "'s",
                "o'clock", "ma'am", "y'all", "'twas", "cats'", "James's", "WE'LL", "SHE'D",
                "it\u02bcs", "it\u201bs", "it\u2019S"]
ENTITIES = ["&amp;", "&#39;", "&quot;", "&lt;b&gt;", "&nbsp;", "&eacute;", "&EACUTE;", "&amp;amp;",
            "&amp;amp;amp;", "&copy", "&notit;", "&#x27;", "&#8217;", "&#128512;", "&#0;",
            "&#x110000;", "&#150;", "&hellip;", "&mdash;", "&AMP;", "&Amp;", "&#65", "&ampx",
            "&unknownentity;", "&#xD800;", "&#1;", "&lt;3", "AT&amp;T", "&amp;lt;",
            "&zwj;", "&NTILDE;", "&nTILDE;", "&SZLIG;", "&ntilde;"]
SPECIALS = ["<|endoftext|>", "<|startoftext|>", "<end_of_text>", "<start_of_text>",
            "<|ENDOFTEXT|>", "<END_OF_TEXT>", "a<|endoftext|>b", "<|endoftext|><|endoftext|>"]
SPACES = [" ", "  ", "   ", "\t", "\n", " \n ", "\r\n", "\u00a0", "\u3000", "\u2003", "\u200b",
          "\u2028", "\x0b", "\x0c", "\x85", "\u200d"]
ODD = ["\x1c", "\x1f", "\x07", "\x7f", "\ufeff", "\u206a", "\ufffc", "\x1b[31mred\x1b[0m",
       "\x80", "\x93quoted\x94", "\x9d", "\u0345", "\u03b1\u0345", "\ufffd", "\U0001d173",
       "\u200e", "\u202e", "\U000e0041"]
NUMBERS = ["3.14159", "1,000,000", "42", "2024-01-31", "12:30pm", "v1.2.3", "0.5mm", "100%",
           "$19.99", "1e-10", "007", "24/7", "3x4", "1st", "2nd", "3rd", "50kg", "٣.١٤"]


def caption(rng):
    n = rng.randint(1, 4)
    parts = []
    for _ in range(n):
        a, b = rng.sample(ADJS, 2)
        parts.append(f"a {a} {rng.choice(NOUNS)} {rng.choice(VERBS)} {rng.choice(PREPS)} "
                     f"the {b} {rng.choice(NOUNS)}")
    text = ", and ".join(parts) + rng.choice([".", "", "!", " ."])
    if rng.random() < 0.5:
        text = text[0].upper() + text[1:]
    return text


def long_caption(rng):
    sentences = []
    for _ in range(rng.randint(6, 20)):
        s = caption(rng)
        if rng.random() < 0.3:
            s += " " + rng.choice(NUMBERS)
        if rng.random() < 0.3:
            s = s.upper() if rng.random() < 0.3 else s.title()
        sentences.append(s.rstrip(".") + ".")
    return " ".join(sentences)


def mixed(rng):
    pools = [NOUNS, ADJS, WORDS_INTL, EMOJI, PUNCT, CONTRACTIONS, ENTITIES, NUMBERS, SPACES, ODD,
             SPECIALS]
    weights = [8, 6, 4, 3, 3, 3, 2, 3, 3, 1, 1]
    out = []
    for _ in range(rng.randint(1, 25)):
        pool = rng.choices(pools, weights)[0]
        out.append(rng.choice(pool))
        out.append(rng.choice([" ", " ", " ", "", "  ", "\t"]))
    return "".join(out)


def long_word(rng):
    letters = "abcdefghijklmnopqrstuvwxyzéüß"
    w = "".join(rng.choice(letters) for _ in range(rng.randint(30, 400)))
    return rng.choice(["", "the word ", "A "]) + w + rng.choice(["", " end", "!"])


def fixed_lines():
    lines = [
        "", " ", "a", "A", "\t\n", "hello world", "Hello, World!", "  leading and trailing  ",
        "a photo of a cat", "A PHOTO OF A CAT", "multiple     spaces\t\ttabs\nnewlines\r\nCRLF",
        "<|endoftext|>", "before <|endoftext|> after", "<|startoftext|>x", "<end_of_text>",
        "x <start_of_text> y", "&amp; &#39; &quot;", "Tom &amp; Jerry&#39;s &quot;show&quot;",
        "a < b &amp; c", "&lt;tag&gt; then &amp;", "line one &amp;\nline two < three\nline &amp; four",
        "it’s John’s “best” ‘idea’", "ﬁsh ﬂour oﬃce", "ＡＢＣ ｄｅｆ １２３！", "ΣΟΦΟΣ ΟΔΟΣ. ΣΑΣ",
        "ΑΣ ΣΑ Σ ΣΣ aΣ aΣb aΣ.", "İi Iı", "K Å Ω", "straße STRASSE", "1.5 2,5 3/4 10^6",
        "...!!!???", "--->>><<<===", "😀😀😀", "👨‍👩‍👧‍👦 family", "👍🏽👍🏿", "🇺🇸🇫🇷🇯🇵",
        "日本語", "中文", "한국어", "العربية", "हिन्दी", "ελληνικά", "русский", "ไทย ภาษา",
        "e\u0301 vs \u00e9", "\u1100\u1161 \uac00", "a\u0345", "\u0391\u0345", "'ſ 'S 'T",
        "x" * 1000, "ab" * 300, "1" * 200, "." * 500, "a " * 300,
        "\x1c\x1d\x1e\x1f", "a\x1cb", "\x1b[1mbold\x1b[0m", "\x93smart\x94", "\u2028\u2029\x85",
        "\ufeffbom", "zero\u200bwidth", "nbsp\u00a0here", "ideographic\u3000space",
        "&#x1F600; &#128512; &#0; &#x110000; &#xD83D;", "&notin; &not &notit; &amp &ampx",
        "&EACUTE; &Eacute; &eacute; &ETH; &eth;", "&AMP; &LT; &GT;", "&amp;amp;lt;",
        "&amp;#39;", "&#38;#39;", "&#38;amp;#39;", "&&amp;&", "&;", "&#;", "&#x;", "&#65&#66",
        "& amp;", "&am p;", "&abcdefghijklmnopqrstuvwxyzabcdef;", "&" * 40,
        "don't DON'T Don’t", "'s'S's", "he'll she'd we've they're I'm",
    ]
    return lines


def build_corpus():
    rng = random.Random(20240531)
    lines = fixed_lines()
    makers = [(caption, 900), (long_caption, 300), (mixed, 1700), (long_word, 100)]
    for maker, count in makers:
        for _ in range(count):
            lines.append(maker(rng))
    for w in WORDS_INTL + EMOJI + PUNCT + CONTRACTIONS + ENTITIES + SPECIALS + NUMBERS + ODD:
        lines.append(w)
        lines.append(f"A {w} B")
    return lines


# --- references --------------------------------------------------------------------------------

def hf_reference(tokenizer_json):
    tok = tokenizers.Tokenizer.from_file(tokenizer_json)
    stock = tokenizers.Tokenizer.from_file(tokenizer_json)
    tok.encode_special_tokens = True
    return tok, stock


def openai_reference(gz_path):
    stock = oc_tok.SimpleTokenizer(bpe_path=gz_path)
    plain = oc_tok.SimpleTokenizer(bpe_path=gz_path)
    # The same pattern minus the two special-token alternatives, and no pre-seeded cache entries
    # for them: their spelling in text is then tokenized like any other text.
    plain.pat = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
                              regex.IGNORECASE)
    plain.cache = {}
    return plain, stock


def openai_ids(t, text):
    return [t.sot_token_id] + t.encode(text) + [t.eot_token_id]


# --- Swift tables ------------------------------------------------------------------------------

def hexs(s):
    return " ".join(f"{ord(c):X}" for c in s)


def write_tables(path):
    # html's private tables, read from the installed module rather than retyped.
    invalid_charrefs = html._invalid_charrefs
    invalid_codepoints = sorted(html._invalid_codepoints)
    html5 = html.entities.html5
    ftfy_entities = ftfy.chardata.HTML_ENTITIES
    ligatures = ftfy.chardata.LIGATURES
    width = ftfy.chardata.WIDTH_MAP
    controls = sorted(ftfy.chardata.CONTROL_CHARS)
    c1 = {c: bytes([c]).decode("sloppy-windows-1252") for c in range(0x80, 0xA0)}

    def block(name, rows, doc):
        body = "\n".join(rows)
        return f"/// {doc}\nlet {name} = \"\"\"\n{body}\n\"\"\"\n"

    parts = [
        "// GENERATED by tools/make_tokenizer_fixtures.py from Python "
        f"{sys.version.split()[0]}'s html module and ftfy {ftfy.__version__}. Do not edit.\n"
        "// Each table is text, one entry a line, parsed once on first use: a string literal\n"
        "// compiles in a moment where an equally large array literal would not.\n",
        block("html5EntityTable", [f"{k}\t{hexs(v)}" for k, v in sorted(html5.items())],
              "html.entities.html5: name (with or without ';') TAB code points of its value."),
        block("invalidCharrefTable", [f"{k:X}\t{hexs(v)}" for k, v in sorted(invalid_charrefs.items())],
              "html._invalid_charrefs: number TAB code points it decodes to instead."),
        block("invalidCodepointTable", [f"{c:X}" for c in invalid_codepoints],
              "html._invalid_codepoints: numeric references to these decode to nothing."),
        block("ftfyEntityTable", [f"{k}\t{hexs(v)}" for k, v in sorted(ftfy_entities.items())],
              "ftfy.chardata.HTML_ENTITIES: '&name;' TAB code points."),
        block("ftfyLigatureTable", [f"{k:X}\t{hexs(v)}" for k, v in sorted(ligatures.items())],
              "ftfy.chardata.LIGATURES: code point TAB replacement."),
        block("ftfyWidthTable", [f"{k:X}\t{hexs(v)}" for k, v in sorted(width.items())],
              "ftfy.chardata.WIDTH_MAP: code point TAB replacement."),
        block("ftfyControlTable", [f"{c:X}" for c in controls],
              "ftfy.chardata.CONTROL_CHARS: code points remove_control_chars deletes."),
        block("ftfyC1Table", [f"{k:X}\t{hexs(v)}" for k, v in sorted(c1.items())],
              "C1 controls as ftfy's fix_c1_controls reads them (sloppy windows-1252)."),
    ]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(parts))


# --- main --------------------------------------------------------------------------------------

def main():
    os.makedirs(OUT, exist_ok=True)
    src_gz = os.path.join(os.path.dirname(open_clip.__file__), "bpe_simple_vocab_16e6.txt.gz")
    gz = os.path.join(OUT, "bpe_simple_vocab_16e6.txt.gz")
    shutil.copyfile(src_gz, gz)
    tj = os.path.join(OUT, "tokenizer.json")
    write_tokenizer_json(gz, tj)
    write_tables(TABLES)

    hf, hf_stock = hf_reference(tj)
    oa, oa_stock = openai_reference(gz)

    corpus, dropped = [], 0
    for line in build_corpus():
        if ftfy.fix_text(line) != ftfy.fix_text(line, fix_encoding=False):
            dropped += 1
            continue
        corpus.append(line)

    hf_rows, oa_rows = [], []
    hf_special_diff = oa_special_diff = 0
    for line in corpus:
        h = hf.encode(line).ids
        o = openai_ids(oa, line)
        hf_rows.append(h)
        oa_rows.append(o)
        hf_special_diff += hf_stock.encode(line).ids != h
        oa_special_diff += openai_ids(oa_stock, line) != o

    with open(os.path.join(OUT, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for line in corpus:
            f.write(json.dumps(line, ensure_ascii=True) + "\n")
    for name, rows in (("expected_hf.jsonl", hf_rows), ("expected_openai.jsonl", oa_rows)):
        with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, separators=(",", ":")) + "\n")

    same = sum(a == b for a, b in zip(hf_rows, oa_rows))
    print(f"corpus lines: {len(corpus)} (left out for mojibake repair: {dropped})")
    print(f"HF and OpenAI agree on {same} lines")
    print(f"lines where stock HF (special tokens matched) differs: {hf_special_diff}")
    print(f"lines where stock open_clip (special tokens matched) differs: {oa_special_diff}")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"fixtures/tokenizer total: {total} bytes")


if __name__ == "__main__":
    main()
