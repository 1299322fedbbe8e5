"""Site search: a compact index of the public stories, pages and campaigns, in `.js` files.

The index is written at build time from the index of public objects (taxonomy.SiteIndex, never a
record), and read by the theme's `static/search.js`, which loads its files with `<script>` on
demand: it works over http and from a site opened on disk (file://), with no request elsewhere.

Tokens are the same on both sides and need no dictionary: every two neighbouring Han characters
(overlapping bigrams: 南湖派出所 → 南湖 湖派 派出 出所), every single Han character (for one-character
queries), and every run of other letters and digits, NFKC-folded and lowercased. A query of two
or more Han characters thus finds every text that holds it; a multi-character phrase is then
checked against the text of the results that are shown.

Files, under `search/data/`:
- `meta.js`: the shard count, which shards exist, the facets (fields, units with their parents,
  levels, years) and six characters per document for filtering;
- `i/<hex>.js`: the shards. A token lives in shard `fnv1a(token) % shards`; for each token, the
  documents that hold it (gaps between their numbers, as variable-length base-64 digits) and one
  weight character per document: where it occurs (bit 1: title, 2: unit, field, level, kind,
  tags; 4: summary or body; 8: the exemplar's name) and how often in the body (bits 4-5, at most 3);
- `c/<block>.js`: the result cards of CARD_BLOCK documents numbered together (block = number //
  CARD_BLOCK): address, title, name, unit and date, all a result list shows but the snippet. A
  query loads the blocks of the results it shows (most often one or two: ties rank the newest
  first) and lists them as soon as those arrive;
- `d/<n>.js`: one document's title, address, unit, date and plain text, for its snippet and the
  phrase check (fetched, all at once with the cards, only for the results shown).

Documents are numbered oldest story first (then campaigns, then pages), so a new story takes the
next number and a one-story edit changes only the shards of the tokens it gains, loses or weighs
differently, its own document file, and its card block if its card changed. Every file is a
Job keyed by what it is made from.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import re
import sys
import unicodedata
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import jinja2

from .config import SiteConfig
from .feedspec import FeedSpec
from .jobs import CODE_VERSION, Job, key_of, ready
from .model import Output, PublicStory
from .pages import PageRenderer
from .parallel import Spawned, as_state, run_map
from .taxonomy import SiteIndex
from .text import strip_tags
from .theme import SiteView

PAGE = "search/"  # the search page's site path
DATA = "search/data/"  # the index files
FORMAT = 1  # of the files below; search.js checks it
CALLBACK = "__exemplarSearch"  # the global function every index file calls with its name and data

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
TITLE, META, BODY, NAME = 1, 2, 4, 8  # where a token occurs (weight bits 0-3)
MAX_TF = 3  # body occurrences counted, in weight bits 4-5
KINDS = ("story", "campaign", "page")

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HAN_RUN = re.compile(f"[{_HAN}]+")
_WORD = re.compile(f"[^\\W_{_HAN}]+")
_TERM = re.compile(f"[{_HAN}]+|[^\\W_{_HAN}]+")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_COMPAT = re.compile("[\uf900-\ufaff\U0002f800-\U0002fa1f]")  # ideographs that NFKC changes
_SEP = "\x01"  # joins Han runs: a bigram holding it is no token


# ---- tokens: the same rules as search.js ------------------------------------------------------

def normalise(text: str) -> str:
    """What both sides compare: NFKC (full-width letters and digits → ASCII), lowercased."""
    return unicodedata.normalize("NFKC", text).lower()


def query_terms(query: str) -> list[str]:
    """A query's terms: its runs of Han characters and its words (all must match)."""
    out: list[str] = []
    for term in _TERM.findall(normalise(query)):
        if term not in out:
            out.append(term)
    return out


def term_tokens(term: str) -> list[str]:
    """The tokens a term is looked up by: a Han run's bigrams (or the one character); a word."""
    if not _HAN_RUN.fullmatch(term):
        return [term]
    chars = list(term)
    if len(chars) == 1:
        return chars
    return list(dict.fromkeys(a + b for a, b in pairwise(chars)))


def text_tokens(text: str) -> Counter[str]:
    """Every token of a text with its count (the slow, plain form of `_Tokens`: tests use it)."""
    found: Counter[str] = Counter()
    for term in _TERM.findall(normalise(text)):
        if _HAN_RUN.fullmatch(term):
            found.update(term)
            found.update(a + b for a, b in pairwise(term))
        else:
            found[term] += 1
    return found


def shard_of(token: str, shards: int) -> int:
    """FNV-1a over the token's code points (search.js computes the same)."""
    h = 0x811C9DC5
    for ch in token:
        h = ((h ^ ord(ch)) * 0x01000193) & 0xFFFFFFFF
    return h % shards


def _bmp_key(a: str, b: str) -> int | str:
    """A bigram's key while indexing: two BMP characters as their UTF-16 code units in one int
    (what `_grams` makes in bulk), anything else as the string."""
    if a <= "\uffff" and b <= "\uffff":
        return ord(a) | ord(b) << 16
    return a + b


def _key_texts(keys: Iterable[int | str]) -> list[str]:
    """Each key as its text (a whole list at a time: ~600 keys a story, and a function call each
    was a third of `doc_tokens`)."""
    return [k if isinstance(k, str) else chr(k & 0xFFFF) + chr(k >> 16) for k in keys]


def _grams(runs: list[str]) -> Counter[int | str]:
    """Bigrams of Han runs, counted: in bulk through their UTF-16 code units (a bigram of BMP
    characters is two neighbouring 16-bit units, read as one 32-bit int at even and at odd
    offsets), which is some five times faster than making each bigram a string."""
    joined = _SEP.join(runs)
    if _ASTRAL.search(joined) or sys.byteorder != "little":
        slow: Counter[int | str] = Counter()
        for run in runs:
            slow.update(_bmp_key(a, b) for a, b in pairwise(run))
        return slow
    data = joined.encode("utf-16-le")
    view = memoryview(data)
    even = len(data) // 4 * 4
    odd = 2 + max(0, len(data) - 2) // 4 * 4
    counted: Counter[int | str] = Counter(view[:even].cast("I"))
    counted.update(view[2:odd].cast("I"))
    return counted


def _kept(keys: Iterable[int | str]) -> list[int | str]:
    """The keys that are tokens: all but the bigrams across two runs (holding the separator)."""
    return [k for k in keys if isinstance(k, str) or (k & 0xFFFF != 1 and k >> 16 != 1)]


class _Tokens:
    """The tokens of one field of a document: bigram keys with counts, characters, words."""

    def __init__(self, text: str) -> None:
        if _COMPAT.search(text):
            text = unicodedata.normalize("NFKC", text)
        runs = _HAN_RUN.findall(text)
        self.grams = _grams(runs)
        self.chars = set(_SEP.join(runs))
        self.chars.discard(_SEP)
        self.words: Counter[str] = Counter()
        for w in _WORD.findall(text):
            self.words.update(_WORD.findall(normalise(w)))

    def keys(self) -> Iterable[int | str]:
        yield from self.grams
        yield from self.chars
        yield from self.words


# ---- documents ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SearchDoc:
    """What the index knows of one story, campaign or page (all of it public)."""

    kind: str  # story | campaign | page
    url: str  # site path
    title: str
    name: str  # the exemplar's name (stories)
    unit: str  # display name (stories)
    date: str  # ISO date, or ""
    field: str  # keys, or "" (facets)
    unit_key: str
    level: str
    year: int  # or 0
    labels: str  # field, level, kind, tags, unit chain: indexed with weight META
    summary: str
    body_html: str  # as published (its plain text, `body`, made only when it is needed); "" for a story,
    digest: str  # a story's digest (covers all of the above), or ""
    # whose own body is read only when it is needed (the cache may hold it back: model.PublicStory);
    # its digest stands for it
    story: PublicStory | None = dataclasses.field(default=None, repr=False, compare=False)  # (`field` is a field)

    @property
    def body(self) -> str:
        """The body as plain text (made when asked for: a document whose tokens are memoised and
        whose file is as it was never needs it)."""
        return strip_tags(self.story.body_html if self.story is not None else self.body_html)


def search_docs(index: SiteIndex) -> list[SearchDoc]:
    """Every public document in index order: stories oldest first, then campaigns, then pages."""
    stories = sorted((s for s in index.stories if s.draft is None), key=lambda s: (s.date, s.id))
    docs = [_story_doc(s) for s in stories]
    for c in sorted(index.campaigns, key=lambda c: (c.date, c.slug)):
        docs.append(SearchDoc("campaign", c.url, c.title, "", "", c.date.isoformat(), "", "", "", c.date.year,
                              c.decision, c.summary, c.body_html, ""))
    for p in sorted(index.pages, key=lambda p: p.slug):
        docs.append(SearchDoc("page", p.url, p.title, "", "", "", "", "", "", 0, "", p.summary, p.body_html, ""))
    return docs


def doc_identity(doc: SearchDoc) -> str:
    """What a document's tokens are made from: a story's digest (it covers everything the story
    holds, with the code version), else a hash of the whole document."""
    return doc.digest or key_of("search-doc", doc, CODE_VERSION)


def _story_doc(s: PublicStory) -> SearchDoc:
    labels = " ".join([s.field.name, s.level.name, s.kind_name, *(u.name for u in s.unit_chain),
                       *(t.name for t in s.tags), *(h.title for h in s.honors)])
    return SearchDoc("story", s.url, s.title, s.name, s.unit.name, s.date.date().isoformat(), s.field.key,
                     s.unit.key, s.level.key, s.year, labels, s.summary, "", s.digest, s)


# ---- the inverted index ------------------------------------------------------------------------

_TF_WEIGHT = [BODY | min(n, MAX_TF) << 4 for n in range(MAX_TF + 1)]


@dataclass
class Postings:
    """token → [document number × 64 + weight], by document number (machine integers: an
    array("q"), 8 bytes a posting, where a list of ints costs ~40; a cold 10,000-story build has ~8
    million postings, and the lists of them were its peak memory)."""

    lists: Mapping[str, Sequence[int]]
    docs: int

    def weights(self, token: str) -> dict[int, int]:
        return {p >> 6: p & 63 for p in self.lists.get(token, ())}


# One document's tokens with their weights, all that the index holds of it: the tokens joined by
# "\n" (never part of a token) and one weight byte each. Compact, so that the incremental layer
# can keep it per story (by the story's digest) between builds.
DocTokens = tuple[str, bytes]


def doc_tokens(doc: SearchDoc) -> DocTokens:
    """A document's tokens and their weights (as `postings` files them)."""
    body = _Tokens(doc.summary + "\n" + doc.body)
    weight = _TF_WEIGHT
    found: dict[int | str, int] = {k: weight[n if n < MAX_TF else MAX_TF] for k, n in body.grams.items()}
    found.update(dict.fromkeys(body.chars, BODY))
    found.update({w: weight[n if n < MAX_TF else MAX_TF] for w, n in body.words.items()})
    for text, bit in ((doc.title, TITLE), (doc.name, NAME), (doc.labels, META)):
        for k in _Tokens(text).keys():
            found[k] = found.get(k, 0) | bit
    kept = _kept(found)
    return "\n".join(_key_texts(kept)), bytes(map(found.__getitem__, kept))


def token_weights(tokens: DocTokens) -> dict[str, int]:
    text, weights = tokens
    return dict(zip(text.split("\n"), weights, strict=True)) if weights else {}


def postings_of(parts: Sequence[DocTokens]) -> Postings:
    """The inverted lists of documents numbered in order, from their tokens."""
    found: defaultdict[str, array[int]] = defaultdict(functools.partial(array, "q"))
    for d, (text, weights) in enumerate(parts):
        if not weights:
            continue
        base = d << 6
        for token, w in zip(text.split("\n"), weights, strict=True):
            found[token].append(base | w)
    return Postings(dict(found), len(parts))


def postings(docs: Sequence[SearchDoc]) -> Postings:
    return postings_of([doc_tokens(doc) for doc in docs])


POSTINGS_PER_SHARD = 4096  # about 12 KB
MAX_SHARDS = 4096


def shard_count(total_postings: int) -> int:
    """About POSTINGS_PER_SHARD postings a shard, in powers of two: stable while the site grows."""
    n = 1
    while n < MAX_SHARDS and n * POSTINGS_PER_SHARD < total_postings:
        n *= 2
    return n


@functools.lru_cache(maxsize=4)
def _digit_tables(n: int) -> tuple[list[str], list[str]]:
    """Variable-length base-64 numbers: 5 bits a digit, the last from ALPHABET[:32], the others
    from ALPHABET[32:]. `enc[i]` encodes i; `gap[i]` encodes i - 1 (a gap between document numbers
    is at least 1)."""
    enc = []
    for i in range(n + 1):
        digits, rest = [ALPHABET[i & 31]], i >> 5
        while rest:
            digits.append(ALPHABET[32 + (rest & 31)])
            rest >>= 5
        enc.append("".join(reversed(digits)))
    return enc, ["", *enc[:-1]]


_WEIGHT_CHARS = bytes(range(256)).translate(bytes.maketrans(bytes(range(64)), ALPHABET.encode()))


def encode_list(lst: Sequence[int], docs: int) -> tuple[str, str]:
    """One token's postings (document number × 64 + weight, by number) as written into a shard:
    the first number and the gaps after it, and one weight character a document."""
    enc, gap = _digit_tables(docs)
    weights = bytes([p & 63 for p in lst]).translate(_WEIGHT_CHARS).decode("ascii")
    first, last = lst[0] >> 6, lst[-1] >> 6
    if last - first == len(lst) - 1:  # consecutive documents (a token in nearly every one): gaps of 1
        return enc[first] + gap[1] * (len(lst) - 1), weights
    ds = [p >> 6 for p in lst]
    return enc[first] + "".join([gap[b - a] for a, b in pairwise(ds)]), weights


def encode_lists(post: Postings) -> dict[str, tuple[str, str]]:
    """token → (document numbers as gaps, weights), as written into the shards."""
    return {token: encode_list(lst, post.docs) for token, lst in post.lists.items()}


_DIGIT = {ch: i for i, ch in enumerate(ALPHABET)}


def decode_numbers(text: str) -> list[int]:
    """The inverse of the document-number encoding (patching shards, tests and the benchmark)."""
    out, value, last = [], 0, -1
    for ch in text:
        digit = _DIGIT[ch]
        if digit >= 32:
            value = value * 32 + digit - 32
            continue
        value = value * 32 + digit
        last = value if last < 0 else last + value + 1
        out.append(last)
        value = 0
    return out


def _js(name: str, data: Any) -> bytes:
    return f"{CALLBACK}({json.dumps(name)},{_json(data)});\n".encode()


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _facets(docs: Sequence[SearchDoc], index: SiteIndex) -> dict[str, Any]:
    """The filter lists, and six characters a document: kind, field, unit (two), level, year."""
    def order(family: str) -> list[tuple[str, str, int]]:
        return [(t.key, t.name, t.depth) for t in index.terms.get(family, ())]

    fields = [(k, n) for k, n, _ in order("fields")]
    levels = [(k, n) for k, n, _ in order("levels")]
    units = order("units")
    parents: dict[str, str] = {}
    for s in index.stories:
        for up, down in zip(s.unit_chain, s.unit_chain[1:], strict=False):
            parents[down.key] = up.key
    unit_at = {k: i for i, (k, _, _) in enumerate(units)}
    field_at = {k: i for i, (k, _) in enumerate(fields)}
    level_at = {k: i for i, (k, _) in enumerate(levels)}
    years = sorted({d.year for d in docs if d.year}, reverse=True)
    first = min(years) if years else 0
    codes = []
    for d in docs:
        unit = unit_at.get(d.unit_key, -1) + 1
        year = d.year - first + 1 if d.year and d.year - first < 62 else 0
        codes.append(ALPHABET[KINDS.index(d.kind)] + ALPHABET[min(63, field_at.get(d.field, -1) + 1)]
                     + ALPHABET[unit >> 6 & 63] + ALPHABET[unit & 63]
                     + ALPHABET[min(63, level_at.get(d.level, -1) + 1)] + ALPHABET[year])
    return {
        "fields": fields, "levels": levels, "years": years, "firstYear": first,
        "units": [(k, n, depth, unit_at.get(parents.get(k, ""), -1)) for k, n, depth in units[:4095]],
        "codes": "".join(codes),
    }


def doc_data(doc: SearchDoc) -> dict[str, str]:
    return {"u": doc.url, "k": doc.kind, "t": doc.title, "n": doc.name, "un": doc.unit, "d": doc.date,
            "l": doc.labels, "s": doc.summary, "b": doc.body}


CARD_BLOCK = 64  # documents a card file: ~9 KB; the ten results of a query are in 1 to 7 of them


def card_data(doc: SearchDoc) -> list[str]:
    """What a result shows before its snippet (its kind is in the meta file's codes)."""
    return [doc.url, doc.title, doc.name, doc.unit, doc.date]


def card_files(docs: Sequence[SearchDoc]) -> list[Output]:
    return [Output(f"{DATA}c/{b:x}.js", _js(f"c/{b:x}", [card_data(d) for d in docs[start:start + CARD_BLOCK]]))
            for b, start in enumerate(range(0, len(docs), CARD_BLOCK))]


def _kept_file(path: str, n: int, kept: Callable[[int], bytes]) -> Output:
    return Output(path, kept(n))


def _doc_file(path: str, name: str, doc: SearchDoc) -> Output:
    return Output(path, _js(name, doc_data(doc)))


@dataclass(frozen=True)
class Shards:
    """The index's shards: how many there are, and the bytes of each that holds tokens (`files`),
    or for a shard kept as the last build made it, its key (`kept`: jobs.bytes_key of its bytes,
    which `index_files` is given a way to read when the file has to be written)."""

    count: int
    files: dict[int, bytes]
    kept: dict[int, str] = field(default_factory=dict)


MIN_PARALLEL_SHARDS = 64  # fewer shards than this (a site of a few hundred stories): made in this process


def shards_of(parts: Sequence[DocTokens], workers: int = 1) -> Shards:
    """The shard files of documents numbered in order, from their tokens. The inverted lists are
    made here; each shard's lists are encoded and written out over up to `workers` processes
    (parallel.run_map) when there are MIN_PARALLEL_SHARDS shards or more: the same bytes as in
    one process."""
    post = postings_of(parts)
    shards = shard_count(sum(map(len, post.lists.values())))
    grouped: defaultdict[int, list[str]] = defaultdict(list)
    for token in sorted(post.lists):
        grouped[shard_of(token, shards)].append(token)
    numbers = sorted(grouped)
    # (machine integers: a forked worker reading them touches no object of this process, where
    # reading a list's ints would write their reference counts, copying every page they are on)
    lists = post.lists

    def spawned() -> Spawned:  # (workers started afresh are given each shard's lists)
        return Spawned(as_state, len(parts), _shard_file, [(n, [(t, lists[t]) for t in grouped[n]]) for n in numbers])

    files = run_map(lambda n: _shard_file(len(parts), (n, [(t, lists[t]) for t in grouped[n]])),
                    numbers, workers, spawned, min_items=MIN_PARALLEL_SHARDS)
    return Shards(shards, dict(zip(numbers, files, strict=True)))


def _shard_file(docs: int, shard: tuple[int, list[tuple[str, Sequence[int]]]]) -> bytes:
    """One shard's file from its tokens' lists, in token order (also a task for spawned workers)."""
    n, lists = shard
    return _js(f"i/{n:x}", {token: encode_list(lst, docs) for token, lst in lists})


def _delta(changes: Sequence[tuple[int, DocTokens, DocTokens]]) -> dict[str, dict[int, int | None]]:
    """token → {document number: its new weight, None where it lost the token}, for the tokens
    that the changes gain, lose or weigh differently."""
    delta: defaultdict[str, dict[int, int | None]] = defaultdict(dict)
    for d, old, new in changes:
        before, after = token_weights(old), token_weights(new)
        for token in before.keys() | after.keys():
            if before.get(token) != after.get(token):
                delta[token][d] = after.get(token)
    return delta


def shards_touched(count: int, changes: Sequence[tuple[int, DocTokens, DocTokens]]) -> set[int]:
    """The shards `shards_patched` makes again for those changes (the only ones whose previous
    files it reads)."""
    return {shard_of(token, count) for token in _delta(changes)}


def shards_patched(shards: Shards, docs: int, changes: Sequence[tuple[int, DocTokens, DocTokens]]) -> dict[int, bytes]:
    """The shard files that change when the documents numbered as given change their tokens from
    the old to the new (the number of documents, and so of shards, being the same): only the
    shards of tokens gained, lost or weighing differently, each made again from its previous
    file with exactly those tokens' lists changed; b"" for a shard left empty. Equal to the files
    `shards_of` gives for the changed documents (a token's list is the same function of its
    documents' weights; the shard's tokens are sorted again)."""
    delta = _delta(changes)
    by_shard: defaultdict[int, list[str]] = defaultdict(list)
    for token in delta:
        by_shard[shard_of(token, shards.count)].append(token)
    out: dict[int, bytes] = {}
    for n, tokens in sorted(by_shard.items()):
        previous = shards.files.get(n)
        data: dict[str, Any] = read_js(previous)[1] if previous else {}
        lists: dict[str, list[int]] = {}
        for token in tokens:
            found = data.pop(token, None)
            weights = {} if found is None else \
                dict(zip(decode_numbers(found[0]), map(_DIGIT.__getitem__, found[1]), strict=True))
            for d, w in delta[token].items():
                if w is None:
                    weights.pop(d, None)
                else:
                    weights[d] = w
            if weights:
                lists[token] = [d << 6 | weights[d] for d in sorted(weights)]
        data.update(encode_lists(Postings(lists, docs)))
        out[n] = _js(f"i/{n:x}", dict(sorted(data.items()))) if data else b""
    return out


def index_files(docs: Sequence[SearchDoc], index: SiteIndex, shards: Shards | None = None,
                workers: int = 1, kept: Callable[[int], bytes] | None = None) -> tuple[list[Output], list[Job]]:
    """The index files: shards (made from the documents unless given), the meta file and the card
    files (as Outputs: keyed by their bytes), and one Job per document file, keyed by the story's digest
    (made only when it changed). A shard given by its key (`Shards.kept`) is a Job under that key,
    whose bytes `kept` reads when the file has to be written."""
    if shards is None:
        shards = shards_of([doc_tokens(doc) for doc in docs], workers)
    have = bytearray((shards.count + 7) // 8)
    outputs = []
    jobs = []
    for n in sorted(shards.files.keys() | shards.kept.keys()):
        have[n >> 3] |= 1 << (n & 7)
        path = f"{DATA}i/{n:x}.js"
        if n in shards.files:
            outputs.append(Output(path, shards.files[n]))
        else:
            assert kept is not None
            jobs.append(Job(path, shards.kept[n], functools.partial(_kept_file, path, n, kept)))
    meta = {"format": FORMAT, "docs": len(docs), "shards": shards.count, "have": have.hex(), "cards": CARD_BLOCK,
            **_facets(docs, index)}
    outputs.append(Output(f"{DATA}meta.js", _js("meta", meta)))
    outputs += card_files(docs)
    for n, doc in enumerate(docs):
        name = f"d/{n}"
        path = f"{DATA}{name}.js"
        if doc.digest:  # (the story's digest covers the code version: no hash of it needed, 3 µs a story)
            jobs.append(Job(path, f"doc:{n}:{doc.digest}", functools.partial(_doc_file, path, name, doc)))
        else:
            jobs += ready([Output(path, _js(name, doc_data(doc)))])
    return outputs, jobs


# ---- the search page and every file, as Jobs ---------------------------------------------------

def search_jobs(env: jinja2.Environment, config: SiteConfig, index: SiteIndex, site: SiteView,
                specs: tuple[FeedSpec, ...], made: tuple[list[SearchDoc], Shards] | None = None,
                workers: int = 1, kept: Callable[[int], bytes] | None = None) -> list[Job]:
    """The search page (search.html) and the index files. A file whose bytes (or, for a story's
    document file, whose story) are as they were is not written again. `made`: the documents
    (`search_docs`) and their shards, when the caller has them (the incremental layer, which gives
    `kept` too: see `index_files`); else the shards are made over up to `workers` processes."""
    docs, shards = made if made is not None else (search_docs(index), None)
    outputs, jobs = index_files(docs, index, shards, workers, kept)
    r = PageRenderer(env, config, index, site, specs)
    page = r.make(r.call("search.html", PAGE, "search", meta=f"{DATA}meta.js"))
    return ready([page, *outputs]) + jobs


# ---- the same ranking as search.js, for tests and the benchmark --------------------------------

def score_term(weights: Sequence[int]) -> float:
    """A term's score in one document, from the weights of its tokens there: where all of them
    occur together counts (name 10, title 8, labels 4, body 1 + how often); tokens of the term
    that occur only in different places score little (the phrase may not be there)."""
    mask = TITLE | META | BODY | NAME
    tf = MAX_TF
    for w in weights:
        mask &= w
        tf = min(tf, w >> 4)
    score = 0.0
    if mask & NAME:
        score += 10
    if mask & TITLE:
        score += 8
    if mask & META:
        score += 4
    if mask & BODY:
        score += 1 + math.log2(1 + tf)
    return score if score else 0.5


class Searcher:
    """The index read back from its files' data, queried like search.js does (before it checks
    phrases in the shown results' text)."""

    def __init__(self, shards: dict[str, dict[str, list[str]]], meta: dict[str, Any]):
        self.meta = meta
        self.tokens: dict[str, dict[int, int]] = {}
        for data in shards.values():
            for token, (numbers, weights) in data.items():
                self.tokens[token] = dict(zip(decode_numbers(numbers), map(ALPHABET.index, weights),
                                              strict=True))

    def search(self, query: str) -> list[int]:
        """Document numbers, best first (ties: the newer document first)."""
        scores: dict[int, float] | None = None
        for term in query_terms(query):
            found: dict[int, list[int]] | None = None
            for token in term_tokens(term):
                postings = self.tokens.get(token, {})
                if found is None:
                    found = {d: [w] for d, w in postings.items()}
                else:
                    found = {d: [*ws, postings[d]] for d, ws in found.items() if d in postings}
            term_scores = {d: score_term(ws) for d, ws in (found or {}).items()}
            scores = term_scores if scores is None else \
                {d: s + term_scores[d] for d, s in scores.items() if d in term_scores}
        return sorted(scores or {}, key=lambda d: (-(scores or {})[d], -d))


def read_js(data: bytes) -> tuple[str, Any]:
    """An index file's name and data."""
    text = data.decode("utf-8")
    head = f"{CALLBACK}("
    assert text.startswith(head) and text.endswith(");\n"), text[:80]
    name, _, rest = text[len(head):-3].partition(",")
    return json.loads(name), json.loads(rest)


def digest_of(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()
