from __future__ import annotations

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
