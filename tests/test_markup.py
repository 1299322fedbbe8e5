"""The quick inline and heading-id passes give exactly what Python-Markdown's own give."""

from __future__ import annotations

import random
import sys

import pytest
from markdown.extensions.toc import TocExtension, TocTreeprocessor
from markdown.treeprocessors import InlineProcessor

from conftest import REPO
from exemplar_site.markup import Markup

TRICKY = [
    "普通的中文段落，没有任何标记。",
    "行尾两个空格  \n换行，行尾一个空格 \n不换行。",
    "转义 \\*星号\\* 和 \\_下划线\\_，反斜杠 \\\\ 本身。",
    "**加粗**、*斜体*、__加粗__、_斜体_、***都有***，词中的snake_case_name和2*3*4。",
    "`代码 *不是强调*` 和 ``两个`反引号``。",
    "[链接](https://example.org \"标题\")、![图片](images/a.png)、[引用][r]、[r]、![图][r]。\n\n[r]: /pub/x/",
    "自动链接 <https://example.org/a?b=1&c=2> 和邮件 <someone@example.org>。",
    "原始 <span class=\"x\">HTML</span>、<!-- 注释 -->、实体 &amp; &#20013; &#x4e2d; &copy; 和裸 & 符号。",
    "脚注[^1]和另一个[^注]。\n\n[^1]: 第一条。\n[^注]: 第二条，**加粗**。",
    "## 标题 {#custom-id .cls}\n\n段落 {: .lead }\n\n### 带 `代码` 的标题",
    ("## 同名标题\n\n一。\n\n## 同名标题\n\n二。\n\n## 同名标题 {#custom-id}\n\n"
     "## Custom ID\n\n## &amp; 与 <em>强调</em>"),
    "## 有脚注的标题[^a]\n\n正文。\n\n[^a]: 注。",
    "[TOC]\n\n## 第一节\n\n### 小节\n\n## 第二节",
    "- 列表一\n- 列表 *二*\n\n1. 有序\n2. 有序 [链接](/x)\n",
    "| 表头 | 数字 |\n|---|---:|\n| 单元格 *强调* | 1 |\n| 纯文本 | 2 |\n",
    "```\n代码块里的 *星号* 和 <标签>\n```\n",
    "> 引用里的 _强调_ 和普通文字\n>\n> 第二段",
    "感叹号！和英文感叹号! 以及方括号【】和 [半个",
]


def _bodies() -> list[str]:
    out = list(TRICKY)
    for path in sorted((REPO / "content").rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        out.append(text.split("\n---\n", 1)[-1])
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import generate
    finally:
        sys.path.pop(0)
    rng = random.Random(7)
    out += [generate.paragraph(rng, "王某", k) for k in range(40)]
    return out


def test_quick_passes_are_used_only_with_a_tested_markdown(monkeypatch: pytest.MonkeyPatch) -> None:
    import markdown

    from exemplar_site import markup

    assert markup.QUICK_PASSES == (tuple(markdown.__version_info__[:2]) in markup.TESTED_MARKDOWN)
    monkeypatch.setattr(markup, "QUICK_PASSES", False)  # what an untested Markdown version gets
    md = Markup("/pub/")._md
    assert type(md.treeprocessors["inline"]) is InlineProcessor
    assert type(md.treeprocessors["toc"]) is TocTreeprocessor


def test_quick_passes_match_python_markdown() -> None:
    """Run with every Markdown version in markup.TESTED_MARKDOWN before adding it there."""
    quick, stock = Markup("/pub/"), Markup("/pub/")
    md = stock._md
    md.treeprocessors.register(InlineProcessor(md), "inline", 20)
    toc_ext = next(e for e in md.registeredExtensions if isinstance(e, TocExtension))
    md.treeprocessors.register(TocTreeprocessor(md, toc_ext.getConfigs()), "toc", 5)
    bodies = _bodies()
    assert len(bodies) > 50
    for body in bodies:
        assert quick.render(body) == stock.render(body), body[:80]
