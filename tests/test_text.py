from __future__ import annotations

import re

from exemplar_site.text import cut_at_sentence, reading_minutes, slugify, strip_tags, truncate_html


def test_slugify_chinese_title_to_pinyin() -> None:
    assert slugify("扎根社区二十年的老片警") == "zha-gen-she-qu-er-shi-nian-de-lao-pian-jing"
    assert slugify("110接警员 Li Ming：守护2025") == "110-jie-jing-yuan-li-ming-shou-hu-2025"
    assert slugify("！！！") == "story"


def test_slugify_is_bounded_at_a_syllable() -> None:
    s = slugify("一二三四五六七八九十" * 5, max_length=20)
    assert len(s) <= 20 and not s.endswith("-") and s == "yi-er-san-si-wu-liu"


def test_cut_at_sentence_prefers_sentence_end() -> None:
    text = "第一句。第二句很长很长！第三句？"
    assert cut_at_sentence(text, 100) == text
    assert cut_at_sentence(text, 12) == "第一句。第二句很长很长！"
    assert cut_at_sentence(text, 11) == "第一句。"
    assert cut_at_sentence("他说：“好。”后面还有很多字", 8) == "他说：“好。”"


def test_cut_without_sentence_end_adds_ellipsis_within_limit() -> None:
    out = cut_at_sentence("没有句号的一段很长很长的文字", 8)
    assert out == "没有句号的一段…" and len(out) == 8


def test_truncate_html_never_cuts_tags_or_entities() -> None:
    html = "<p>第一句话<strong>加粗的部分</strong>。第二句&amp;后面很长很长的文字</p><p>第三段</p>"
    out, cut = truncate_html(html, 12)
    assert cut
    assert out == "<p>第一句话<strong>加粗的部分</strong>。</p>"
    out, cut = truncate_html("<p>无句号" + "字" * 20 + "&lt;尾</p>", 10)
    assert out == "<p>无句号字字字字字字字…</p>" and cut


def test_truncate_html_closes_open_tags() -> None:
    out, _ = truncate_html("<ul><li>第一项很长很长很长很长</li><li>第二项</li></ul>", 6)
    assert out == "<ul><li>第一项很长很…</li></ul>"


def test_strip_tags_and_reading_time() -> None:
    assert strip_tags("<p>你好&amp;<b>世界</b></p><script>x</script>") == "你好&世界"
    assert reading_minutes("字" * 400) == 1
    assert reading_minutes("字" * 401) == 2
    assert reading_minutes("字" * 1200, 400) == 3
    assert reading_minutes("word " * 300, 400) == 3


def test_the_fast_paths_count_and_fold_as_their_definitions() -> None:
    """strip_tags folds whitespace as `\\s+` → " " and strip() would (every space Python knows,
    the ideographic space among them); cjk_and_words counts ideographs one by one, in runs or not;
    the personal-data scan folds each foldable character as NFKC does."""
    import unicodedata

    from exemplar_site import personal
    from exemplar_site.text import cjk_and_words

    messy = "<p>\u3000 甲\xa0乙\u2003\u2028</p>\n\t<p>丙 a-b 𠀀丁&nbsp;</p>\x1c "
    assert strip_tags(messy) == "甲 乙 丙 a-b 𠀀丁"
    assert strip_tags(messy) == re.sub(r"\s+", " ", "\u3000 甲\xa0乙\u2003\u2028\n\t丙 a-b 𠀀丁\xa0\x1c ").strip()
    assert cjk_and_words("甲乙，丙 word 𠀀丁 two-part x") == (5, 3)
    every = "".join(f"甲{c}" for c in personal._FOLD) + "\u00b9\u2460\u2474\u2488\u24ea\u2776\U0001f101"
    folded = unicodedata.normalize("NFKC", every)  # (each of these characters alone, as NFKC folds it)
    assert personal.normalise(every) == re.sub(r"[\s().,]", "", folded)  # (less what parts digits)
    assert personal.normalise("电话：１３８\u200b００１３８０００") == "电话:13800138000"


def test_the_scan_folds_and_drops_in_one_pass_as_in_two() -> None:
    """`personal._spaced` folds look-alike characters and drops invisible ones in one pass (the
    planes above the first only when the text has such a character): the same text as folding
    each character by NFKC and then dropping every format character (Unicode's Cf) would give."""
    import random
    import unicodedata

    from exemplar_site import personal

    invisible = {chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf"}
    assert invisible <= personal._INVISIBLE_CHARS
    assert {"\u3164", "\uffa0", "\u115f", "\ufe0f", "\U000e0100"} <= personal._INVISIBLE_CHARS  # fillers, selectors

    def two_passes(text: str) -> str:
        folded = "".join(personal._FOLD.get(c, c) for c in text)
        return "".join(c for c in folded if c not in personal._INVISIBLE_CHARS)

    pool = [*personal._FOLD, *personal._INVISIBLE_CHARS, *"0123456789李王 ab", "\U0001f600", "\U00020000"]
    rnd = random.Random(7)
    for _ in range(20000):
        text = "".join(rnd.choice(pool) for _ in range(rnd.randint(0, 10)))
        expected = two_passes(text)
        assert personal._spaced(text) == personal._TEL.sub("", personal._CN_RUN.sub(personal._cn_digits, expected))
    spelled = "Ｔｅｌ：１３８\U000e0020００１３８０００ t\u200bEL:13800138000"
    assert personal.normalise(spelled) == "1380013800013800138000"
