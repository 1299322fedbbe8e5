"""Site search (search.py and the theme's search.js): tokens, ranking, recall, what the index may
hold, and that a one-story edit rewrites only what it touches."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conftest import NOW, Site, make_site
from exemplar_site import incremental, parallel, search
from exemplar_site.pipeline import BuildOptions, build_site
from exemplar_site.search import (
    BODY,
    META,
    NAME,
    TITLE,
    Searcher,
    _Tokens,
    decode_numbers,
    encode_lists,
    normalise,
    postings,
    query_terms,
    read_js,
    score_term,
    shard_of,
    term_tokens,
    text_tokens,
)

DATA = "search/data/"


# ---- tokens ------------------------------------------------------------------------------------

def test_query_terms_split_han_runs_and_words_folded() -> None:
    assert query_terms("南湖派出所") == ["南湖派出所"]
    assert query_terms("南湖 派出所") == ["南湖", "派出所"]
    assert query_terms("“枫桥经验”，APP反诈") == ["枫桥经验", "app", "反诈"]
    assert query_terms("Ｇ２０峰会") == ["g20", "峰会"]  # full-width letters and digits, NFKC
    assert query_terms("跳江 跳江") == ["跳江"]
    assert query_terms("，。！ -_") == []


def test_term_tokens_are_overlapping_bigrams_or_the_one_character() -> None:
    assert term_tokens("跳江救人") == ["跳江", "江救", "救人"]
    assert term_tokens("雷") == ["雷"]
    assert term_tokens("哈哈哈") == ["哈哈"]
    assert term_tokens("110") == ["110"]
    assert term_tokens("𠀀𠀁中") == ["𠀀𠀁", "𠀁中"]  # characters outside the BMP are one character


@pytest.mark.parametrize("text", [
    "张三跳江救人，群众都说他好。",
    "南湖派出所 Ｇ２０ APP 反诈 110",
    "𠀀𠀁中文和𠀂",  # outside the BMP: the slow path
    "單字兀",  # a compatibility ideograph (兀 U+FA0C) is folded as NFKC does
    "雷",
    "",
    "ab",
])
def test_fast_tokens_are_the_plain_ones(text: str) -> None:
    """The bulk UTF-16 bigram counting gives exactly the tokens and counts of the plain rules."""
    fast = _Tokens(text)
    found: Counter[str] = Counter()
    kept = search._kept(fast.grams)
    for key, key_text in zip(kept, search._key_texts(kept), strict=True):
        found[key_text] += fast.grams[key]
    for ch in fast.chars:
        found[ch] += Counter(normalise(text))[ch]
    found.update(fast.words)
    assert found == text_tokens(text)


def test_every_substring_of_two_or_more_han_characters_is_found_by_its_bigrams() -> None:
    text = "民警李四在抗洪抢险中转移被困群众一百余人"
    tokens = set(text_tokens(text))
    for i in range(len(text)):
        for j in range(i + 1, len(text) + 1):
            assert set(term_tokens(text[i:j])) <= tokens


def test_shard_of_is_fnv1a_over_code_points() -> None:
    """search.js computes the same numbers (the browser tests read them back)."""
    assert shard_of("", 1 << 32) == 0x811C9DC5
    assert shard_of("a", 1 << 32) == 0xE40C292C  # FNV-1a 32 of b"a"
    assert [shard_of(t, 64) for t in ("民警", "枫桥", "110")] == [shard_of(t, 64) for t in ("民警", "枫桥", "110")]


def test_document_numbers_round_trip() -> None:
    docs = [search.SearchDoc("page", f"p{i}/", f"标题{i}", "", "", "", "", "", "", 0, "", "",
                             "民警" if i % 3 == 0 or i > 2000 else "群众", "") for i in range(3000)]
    post = postings(docs)
    encoded = encode_lists(post)
    for token, (numbers, weights) in encoded.items():
        assert decode_numbers(numbers) == [p >> 6 for p in post.lists[token]], token
        assert len(weights) == len(post.lists[token])


# ---- ranking -----------------------------------------------------------------------------------

def test_field_weights_name_and_title_over_labels_over_body() -> None:
    name, title, labels = score_term([NAME]), score_term([TITLE]), score_term([META])
    body = score_term([BODY | 1 << 4])
    assert name > title > labels > body
    assert score_term([BODY | 3 << 4]) > score_term([BODY | 1 << 4])  # more often in the body
    # bigrams of a term found only in different places: the phrase may not be there at all
    assert score_term([TITLE, BODY | 1 << 4]) < body
    assert score_term([TITLE | BODY | 1 << 4, TITLE | BODY | 1 << 4]) > title


def populate(site: Site) -> None:
    site.story("a", "a-1", slug="a", name="李跳江", title="李跳江：跳江救人的好民警", unit="n1",
               date=dt.date(2026, 1, 5), tags=["见义勇为"], body="他在江边巡逻时跳江救人。群众都说他好。")
    site.story("b", "b-1", slug="b", name="王五", title="王五的故事", unit="n2", field="jiaojing",
               date=dt.date(2026, 2, 5), body="王五听说李跳江跳江救人的事迹后，深受感动。南湖派出所的民警都来学习。")
    site.story("c", "c-1", slug="c", name="赵六", title="赵六扎根南湖", unit="s1", level="provincial",
               date=dt.date(2025, 3, 5), tags=["枫桥经验"],
               body="赵六坚持和发展新时代“枫桥经验”，在南湖社区调解纠纷。APP 反诈宣传进社区。")
    site.story("d", "d-1", slug="d", name="北区分局党委", kind="collective", title="北区分局：警民共建",
               unit="north", date=dt.date(2025, 4, 5), body="北区分局开展警民共建，群众满意率99%。")
    site.write("content/pages/about.md", "---\ntitle: 关于本站\nmenu: 1\n---\n本站发布先进典型的事迹。\n")
    site.write("content/campaigns/learn.md",
               "---\ntitle: 向李跳江同志学习\ndate: 2026-01-10\ndecision: 学决〔2026〕1号\n---\n学习跳江救人的精神。\n")


def cards_of(out: Path, meta: dict[str, Any]) -> list[list[str]]:
    """Every card, in document order, from the card files (one a block of meta["cards"])."""
    blocks = -(-meta["docs"] // meta["cards"])
    assert sorted(p.name for p in (out / DATA / "c").iterdir()) == sorted(f"{b:x}.js" for b in range(blocks))
    cards: list[list[str]] = []
    for b in range(blocks):
        name, block = read_js((out / DATA / f"c/{b:x}.js").read_bytes())
        assert name == f"c/{b:x}" and len(block) == min(meta["cards"], meta["docs"] - len(cards))
        cards += block
    return cards


def load_index(out: Path) -> tuple[Searcher, list[dict[str, Any]]]:
    shards = {}
    for p in sorted((out / DATA / "i").glob("*.js")):
        name, data = read_js(p.read_bytes())
        shards[name] = data
    _, meta = read_js((out / DATA / "meta.js").read_bytes())
    docs = [read_js((out / DATA / f"d/{n}.js").read_bytes())[1] for n in range(meta["docs"])]
    return Searcher(shards, meta), docs


@pytest.fixture
def built(site: Site) -> Site:
    populate(site)
    site.build()
    return site


def test_name_and_title_rank_first(built: Site) -> None:
    searcher, docs = load_index(built.out)

    def first(q: str) -> str:
        return str(docs[searcher.search(q)[0]]["t"])

    assert first("李跳江") == "李跳江：跳江救人的好民警"  # name and title beat a body mention
    assert first("王五") == "王五的故事"
    assert first("北区分局") == "北区分局：警民共建"
    assert first("枫桥经验") == "赵六扎根南湖"
    assert first("关于本站") == "关于本站"
    assert first("学决") == "向李跳江同志学习"  # a campaign's decision number
    assert first("app") == "赵六扎根南湖" and first("APP") == "赵六扎根南湖"
    assert searcher.search("南湖 反诈") == searcher.search("反诈 南湖")  # terms are ANDed
    assert [docs[d]["t"] for d in searcher.search("南湖 反诈")] == ["赵六扎根南湖"]
    assert searcher.search("没有的词") == []


QUERIES = ["李跳江", "跳江救人", "跳江", "江救", "南湖派出所", "南湖", "派出所的民警", "枫桥经验", "新时代", "社区",
           "群众", "他好", "救人的", "警民共建", "满意率", "北区", "学习", "事迹", "反诈", "深受感动", "调解纠纷",
           "雷", "江", "app", "99"]


def test_recall_is_complete_for_exact_substrings(built: Site) -> None:
    """Every document whose text holds a query (a Han substring, or a whole word) is found."""
    searcher, docs = load_index(built.out)
    for q in QUERIES:
        found = set(searcher.search(q))
        truth = {n for n, d in enumerate(docs)
                 if all(t in text_tokens(" ".join([d["t"], d["n"], d["un"], d["l"], d["s"], d["b"]]))
                        or t in normalise(" ".join([d["t"], d["n"], d["l"], d["s"], d["b"]]))
                        for t in query_terms(q))}
        assert truth <= found, (q, truth - found)
        if q not in ("雷",):
            assert truth, q  # the list only holds queries that occur


def test_index_holds_every_public_document_and_its_facets(built: Site) -> None:
    searcher, docs = load_index(built.out)
    assert [d["k"] for d in docs] == ["story"] * 4 + ["campaign", "page"]
    assert [d["u"] for d in docs[:4]] == ["stories/c/", "stories/d/", "stories/a/", "stories/b/"]  # oldest first
    meta = searcher.meta
    assert [k for k, _ in meta["fields"]] and meta["years"] == [2026, 2025]
    units = {u[0]: u for u in meta["units"]}
    assert units["n1"][3] == [u[0] for u in meta["units"]].index("north")  # parent, for sub-unit filters
    assert len(meta["codes"]) == 6 * meta["docs"]
    # the cards: what the result list shows before the snippets, every document in its block
    assert meta["cards"] == search.CARD_BLOCK
    cards = cards_of(built.out, meta)
    assert cards == [[d["u"], d["t"], d["n"], d["un"], d["d"]] for d in docs]
    page = built.html("search/index.html")
    assert page.xpath("//input[@id='search-q']")
    assert page.xpath("//script/@data-index") == ["../search/data/meta.js"]
    home = built.html("index.html")
    assert home.xpath("//form[contains(@class,'header-search')]/@action") == ["search/index.html"]


def test_cards_come_in_blocks_and_an_edit_rewrites_only_its_block(site: Site, monkeypatch: Any) -> None:
    monkeypatch.setattr(search, "CARD_BLOCK", 2)
    populate(site)
    site.build()
    searcher, docs = load_index(site.out)
    assert searcher.meta["cards"] == 2
    assert [c[0] for c in cards_of(site.out, searcher.meta)] == [d["u"] for d in docs]  # three files
    before = site.files()
    site.story("a", "a-1", slug="a", name="李跳江", title="李跳江：跳江救人", unit="n1",  # the third document
               date=dt.date(2026, 1, 5), tags=["见义勇为"], body="他在江边巡逻时跳江救人。群众都说他好。")
    site.build()
    after = site.files()
    changed = {p for p in after if before.get(p) != after[p]}
    assert {p for p in changed if p.startswith(DATA + "c/")} == {DATA + "c/1.js"}
    assert read_js((site.out / DATA / "c/1.js").read_bytes())[1][0][1] == "李跳江：跳江救人"


# ---- what the index may hold -------------------------------------------------------------------

RARE = {  # characters no test text, theme or code uses: any of them in an index file is a leak
    "held": "㐀㐁㐂",
    "unvetted": "㐃㐄㐅",
    "withdrawn": "㐆㐇㐈",
    "family": "㐉㐊㐋",
    "notes": "㐌㐍㐎",
    "phone": "13999887766",
}


def test_no_held_back_withdrawn_or_private_text_in_any_index_file(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s")
    private = {"phone": RARE["phone"], "family": f"妻子{RARE['family']}",
               "assessments": [{"date": dt.date(2026, 6, 30), "result": "优秀", "by": "政治部",
                                "notes": RARE["notes"]}]}
    site.story("ok", "ok-1", title="公开的事迹", body="公开的正文。", private=private)
    site.story("held", "h-1", status="recommended", name=f"张{RARE['held']}", body=f"未审{RARE['held']}正文")
    site.story("novet", "n-1", vetting=None, title=f"未审核{RARE['unvetted']}", body=RARE["unvetted"])
    site.story("gone", "w-1", status="withdrawn", slug="gone", name=f"撤{RARE['withdrawn']}",
               body=f"撤下{RARE['withdrawn']}")
    site.build()
    files = sorted((site.out / "search").rglob("*"))
    assert any(p.name == "meta.js" for p in files)
    assert site.out / DATA / "c/0.js" in files  # the card files too (titles, names, units: public only)
    for path in files:
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            for what, value in RARE.items():
                leaked = [ch for ch in (value if what != "phone" else [value]) if ch in text]
                assert not leaked, f"{what} text in {path}"
    searcher, docs = load_index(site.out)
    assert [d["t"] for d in docs] == ["公开的事迹"]
    assert [c[1] for c in cards_of(site.out, searcher.meta)] == ["公开的事迹"]
    assert searcher.search("公开") == [0]


def test_drafts_builds_keep_drafts_out_of_search(site: Site) -> None:
    site.story("ok", "ok-1", title="公开的事迹")
    site.story("held", "h-1", status="recommended", title=f"草稿{RARE['held']}")
    site.output = "public-drafts"
    site.build(drafts=True)
    for path in (site.out / "search").rglob("*.js"):
        assert RARE["held"][0] not in path.read_text(encoding="utf-8")


# ---- incremental -------------------------------------------------------------------------------

def test_a_one_story_edit_rewrites_only_the_shards_it_touches(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(search, "POSTINGS_PER_SHARD", 16)  # as many shards as a large site has
    site = make_site(tmp_path / "s")
    for i in range(60):
        site.story(f"s{i:02d}", f"s-{i:02d}", name=f"民警{i:02d}", date=dt.date(2025, 1, 1) + dt.timedelta(days=i),
                   body=f"第{i}位民警的事迹。他扎根社区，服务群众。" + "平安建设。" * (i % 5))
    site.build()
    before = site.files()
    site.story("s30", "s-30", name="民警30", date=dt.date(2025, 1, 31),
               body="第30位民警的事迹。他跳江救人，群众称赞。")
    site.build()
    after = site.files()
    changed = {p for p in after if before.get(p) != after[p]} | (set(before) - set(after))
    searched = {p for p in changed if p.startswith(DATA)}
    shards = {p for p in after if p.startswith(DATA + "i/")}
    assert DATA + "d/30.js" in searched
    assert not {p for p in searched if p.startswith(DATA + "d/")} - {DATA + "d/30.js"}
    touched = {p for p in searched if p.startswith(DATA + "i/")}
    assert touched and len(touched) < len(shards) / 2, (len(touched), len(shards))
    # exactly the shards of the tokens the story gained, lost or weighs differently
    old = text_tokens("第30位民警的事迹。他扎根社区，服务群众。")
    new = text_tokens("第30位民警的事迹。他跳江救人，群众称赞。")
    differ = {t for t in set(old) | set(new) if min(old[t], 3) != min(new[t], 3)}
    meta = read_js((site.out / DATA / "meta.js").read_bytes())[1]
    assert touched == {f"{DATA}i/{shard_of(t, meta['shards']):x}.js" for t in differ}


def test_an_incremental_build_finds_an_edited_storys_new_words_and_retokenises_only_it(
        tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(search, "POSTINGS_PER_SHARD", 16)  # many shards, as a large site has
    site = make_site(tmp_path / "s")
    for i in range(24):
        site.story(f"s{i:02d}", f"s-{i:02d}", name=f"民警{i:02d}", date=dt.date(2025, 1, 1) + dt.timedelta(days=i),
                   body=f"第{i}位民警的事迹。他扎根社区，服务群众。" + ("旧闻甲乙丙。" if i == 5 else "平安建设。"))
    site.build()
    texts: list[str] = []

    class Counted(search._Tokens):
        def __init__(self, text: str) -> None:
            texts.append(text)
            super().__init__(text)

    monkeypatch.setattr(search, "_Tokens", Counted)
    made_all: list[int] = []

    def shards_of(tokens: list[search.DocTokens], workers: int = 1) -> search.Shards:
        made_all.append(len(tokens))
        return search.shards_of(tokens, workers)

    monkeypatch.setattr(incremental, "shards_of", shards_of)
    site.story("s05", "s-05", name="民警05", date=dt.date(2025, 1, 6), body="第5位民警的事迹。新闻丁戊己。")
    site.build()
    # the edited story alone is tokenised again (its body, title, name and labels); the rest is memoised
    assert len(texts) == 4 and any("丁戊己" in t for t in texts), texts
    assert not made_all  # the last build's shards, patched
    searcher, docs = load_index(site.out)
    assert [docs[d]["t"] for d in searcher.search("丁戊己")] == [docs[5]["t"]]
    assert docs[5]["n"] == "民警05"
    assert searcher.search("甲乙丙") == [] and searcher.search("旧闻") == []

    def clean() -> dict[str, str]:
        out = tmp_path / "clean"
        build_site(site.config, BuildOptions(now=NOW, output=out, cache=False))
        return {p: h for p, h in site.files(out).items() if p.startswith(DATA)}

    assert {p: h for p, h in site.files().items() if p.startswith(DATA)} == clean()
    # more edits: in place (patched shards), a story added and one removed (every shard made again)
    for step in range(4):
        if step == 2:
            site.story("s99", "s-99", name="新人", date=dt.date(2025, 3, 1), body="新来的民警。")
        elif step == 3:
            (site.root / "content/stories/s07.md").unlink()
        else:
            site.story(f"s1{step}", f"s-1{step}", name=f"民警1{step}", date=dt.date(2025, 1, 11 + step),
                       body=f"改写第{step}次。扎根社区。", title=f"改写的标题{step}")
        made_all.clear()
        site.build()
        assert len(made_all) == (step >= 2), step  # a story added or removed renumbers the documents
        assert {p: h for p, h in site.files().items() if p.startswith(DATA)} == clean(), step


def test_a_damaged_shard_in_the_cache_is_discarded_not_trusted(tmp_path: Path) -> None:
    """A stored shard that SQLite and pickle read without complaint but that is not what was
    stored (a machine crash without syncs): the cache is discarded with a warning and the index made
    again, as a clean build makes it."""
    import contextlib
    import pickle
    import sqlite3

    from exemplar_site.cache import cache_path, search_path

    site = make_site(tmp_path / "s")
    for i in range(6):
        site.story(f"s{i}", f"s-{i}", name=f"民警{i}", body=f"第{i}位民警的事迹。扎根社区。")
    site.build()
    with contextlib.closing(sqlite3.connect(search_path(cache_path(site.out)))) as db, db:
        db.execute("UPDATE entries SET value = ? WHERE key LIKE 'shard%'", (pickle.dumps(b"torn \x00 page"),))
    site.story("s1", "s-1", name="民警1", body="第1位民警的事迹。新闻丁戊己。")
    report = site.build()
    assert [w.path for w in report.warnings if "build cache unreadable" in w.message] == \
        [str(search_path(cache_path(site.out)))]
    out = tmp_path / "clean"
    build_site(site.config, BuildOptions(now=NOW, output=out, cache=False))
    assert {p: h for p, h in site.files().items() if p.startswith(DATA)} == \
        {p: h for p, h in site.files(out).items() if p.startswith(DATA)}


def test_an_edit_reads_only_the_shards_it_changes(tmp_path: Path, monkeypatch: Any) -> None:
    """The edited story's old and new tokens and the previous files of the shards they change are
    read from the cache; the other shards are only looked up by key (that they are stored)."""
    from exemplar_site.cache import _Table

    monkeypatch.setattr(search, "POSTINGS_PER_SHARD", 16)  # many shards, as a large site has
    site = make_site(tmp_path / "s")
    for i in range(24):
        site.story(f"s{i:02d}", f"s-{i:02d}", name=f"民警{i:02d}", date=dt.date(2025, 1, 1) + dt.timedelta(days=i),
                   body=f"第{i}位民警的事迹。他扎根社区，服务群众。")
    site.build()
    shards = len(list((site.out / DATA / "i").glob("*.js")))
    asked: list[int] = []  # entries whose values each read of the cache asked for
    real = _Table._read

    def reading(self: _Table, keys: list[str] | None, values: bool = True) -> Any:
        if values and self.path is not None and self.path.name.endswith(".search"):  # (not the feeds' entries)
            asked.append(-1 if keys is None else len(keys))
        return real(self, keys, values)

    monkeypatch.setattr(_Table, "_read", reading)
    site.story("s05", "s-05", name="民警05", date=dt.date(2025, 1, 6), body="第5位民警的事迹。新闻丁戊己。")
    site.build()
    assert shards > 16 and asked[:2] == [1, 1] and 0 < sum(asked[2:]) < shards / 2, (shards, asked)


@pytest.mark.parametrize("lost", [False, True])
def test_shards_kept_by_their_keys_are_written_from_the_cache_when_their_files_are_gone(
        tmp_path: Path, monkeypatch: Any, lost: bool) -> None:
    """An edit keeps the shards it does not change by their keys, without reading them. When their
    files have to be written all the same (the output folder deleted by hand), their bytes are read
    from the cache; and if the cache has lost them meanwhile (`lost`: their stored values torn),
    every shard is made again from the documents, in the worker that needed them. Either way the
    index is a clean build's."""
    import contextlib
    import shutil
    import sqlite3

    from exemplar_site.cache import BuildCache, search_path

    monkeypatch.setattr(search, "POSTINGS_PER_SHARD", 16)  # many shards, as a large site has
    site = make_site(tmp_path / "s")
    # (lost: more documents than incremental.MIN_PARALLEL, whose tokens a build would make over workers)
    for i in range(210 if lost else 24):
        site.story(f"s{i:03d}", f"s-{i:03d}", name=f"民警{i:03d}", date=dt.date(2025, 1, 1) + dt.timedelta(days=i),
                   body=f"第{i}位民警的事迹。他扎根社区，服务群众。")
    site.build()
    shutil.rmtree(site.out)
    site.story("s005", "s-005", name="民警005", date=dt.date(2025, 1, 6), body="第5位民警的事迹。新闻丁戊己。")
    made_all: list[int] = []

    def shards_of(tokens: list[search.DocTokens], workers: int = 1) -> search.Shards:
        made_all.append(len(tokens))
        return search.shards_of(tokens, workers)

    monkeypatch.setattr(incremental, "shards_of", shards_of)
    if lost:
        real_save = BuildCache.save_search

        def save_search(self: BuildCache) -> None:  # (after the shards are decided, before any is written)
            real_save(self)
            if self.path is not None:  # (not the clean build's, below)
                with contextlib.closing(sqlite3.connect(search_path(self.path))) as db, db:
                    db.execute("UPDATE entries SET value = ? WHERE key LIKE 'shard%'", (b"torn",))

        monkeypatch.setattr(BuildCache, "save_search", save_search)
    report = site.build(workers=2)  # (forked page workers write the shards, on Linux: 200 files and more)
    assert report.files > 200
    if not lost:  # (when they are lost, a page worker makes them again, out of this process's sight)
        assert made_all == []
    out = tmp_path / "clean"
    build_site(site.config, BuildOptions(now=NOW, output=out, cache=False))
    ours = {p: h for p, h in site.files().items() if p.startswith(DATA)}
    assert ours == {p: h for p, h in site.files(out).items() if p.startswith(DATA)}
    assert sum(p.startswith(DATA + "i/") for p in ours) > 8
    searcher, docs = load_index(site.out)
    assert [docs[d]["t"] for d in searcher.search("丁戊己")] == [docs[5]["t"]]


# ---- shards over workers -----------------------------------------------------------------------

def many_docs(n: int) -> list[search.SearchDoc]:
    """Documents with tokens in every one, in many and in few (long, gapped and short lists)."""
    words = ["民警", "社区", "群众", "抗洪抢险", "调解纠纷", "反诈", "巡逻", "见义勇为", "枫桥经验", "110"]
    return [search.SearchDoc("story", f"s/{i}/", f"第{i}位民警", f"民警{i}", "南湖派出所", "2025-01-01", "f", "u", "l",
                             2025, "刑侦 县区级", "扎根社区。",
                             f"<p>{words[i % 10]}{words[i * 7 % 10]}，{'平安' * (i % 4)}{i}号。</p>", "")
            for i in range(n)]


@pytest.mark.parametrize("portable", [False, True])
def test_shards_made_over_workers_are_the_serial_ones(monkeypatch: Any, portable: bool) -> None:
    """search.shards_of over two workers (forked, or spawned as on Windows) gives the same files as
    in one process, and those hold exactly every token's postings."""
    monkeypatch.setattr(search, "POSTINGS_PER_SHARD", 8)  # more shards than MIN_PARALLEL_SHARDS
    if portable:
        monkeypatch.setenv("EXEMPLAR_SITE_PORTABLE", "1")
    else:
        monkeypatch.delenv("EXEMPLAR_SITE_PORTABLE", raising=False)
    used: list[int] = []
    real = parallel.run_map

    def run_map(task: Any, items: Any, workers: int, spawned: Any, min_items: int = 64) -> Any:
        used.append(workers)
        assert len(items) >= min_items  # (the workers are used)
        return real(task, items, workers, spawned, min_items)

    monkeypatch.setattr(search, "run_map", run_map)
    parts = [search.doc_tokens(d) for d in many_docs(400)]
    serial = search.shards_of(parts)
    spread = search.shards_of(parts, workers=2)
    assert used == [1, 2]
    assert spread == serial and serial.count >= search.MIN_PARALLEL_SHARDS
    post = search.postings_of(parts)
    back: dict[str, list[int]] = {}
    for n, data in serial.files.items():
        name, tokens = read_js(data)
        assert name == f"i/{n:x}" and list(tokens) == sorted(tokens)
        for token, (numbers, weights) in tokens.items():
            assert shard_of(token, serial.count) == n
            back[token] = [d << 6 | search.ALPHABET.index(w) for d, w in zip(decode_numbers(numbers), weights,
                                                                             strict=True)]
    assert back == {token: list(lst) for token, lst in post.lists.items()}


def test_a_cold_build_without_the_cache_makes_the_shards_over_the_workers(tmp_path: Path, monkeypatch: Any) -> None:
    """A cold build (cache or not, one worker or two) writes the same search files."""
    monkeypatch.setattr(search, "POSTINGS_PER_SHARD", 4)
    site = make_site(tmp_path / "s")
    populate(site)
    for i in range(40):
        site.story(f"m{i:02d}", f"m-{i:02d}", name=f"民警{i:02d}", date=dt.date(2025, 1, 1) + dt.timedelta(days=i),
                   body=f"第{i}位民警扎根社区。" + "平安建设。" * (i % 3))
    outs = {}
    for name, cache, workers in (("one", False, 1), ("two", False, 2), ("cached", True, 2)):
        out = tmp_path / name
        build_site(site.config, BuildOptions(now=NOW, output=out, cache=cache, workers=workers))
        outs[name] = {p: h for p, h in site.files(out).items() if p.startswith("search/")}
    assert len([p for p in outs["one"] if p.startswith(DATA + "i/")]) >= search.MIN_PARALLEL_SHARDS
    assert outs["one"] == outs["two"] == outs["cached"]
