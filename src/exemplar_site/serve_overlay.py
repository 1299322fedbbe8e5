"""Live preview, the error overlay: a failed build's problems shown over the page, and the one place
where the server adds anything to an HTML page it serves (never to a file of the build).

Each error is a block of its own, written for reading rather than a terminal dump: the file and the
line first and prominent, then the field, what is wrong, and under it what would be accepted, all
in the user's language (the message catalogue). Every text is escaped: file names, fields and
messages come from the site's files, and the overlay is injected into pages.
"""

from __future__ import annotations

import html
import re

from .errors import Problem
from .i18n import _, language, ngettext, t

# Scoped to the overlay (an id selector outranks the page's own rules); `all: revert` on the box and
# everything in it keeps a theme's styles for p, ol, li, code (an indent, a bullet) from leaking in.
_STYLE = """
#build-error-overlay{all:revert;position:fixed;z-index:2147483647;inset:0 0 auto 0;max-height:75vh;overflow:auto;
background:#fff8f7;color:#3b0a07;border-bottom:4px solid #b3261e;padding:14px 24px 10px;
font:15px/1.6 "PingFang SC","Microsoft YaHei","Noto Sans CJK SC",system-ui,sans-serif;
box-shadow:0 4px 16px rgba(0,0,0,.3);text-align:left}
#build-error-overlay *{all:revert;box-sizing:border-box}
#build-error-overlay .beo-head{display:flex;gap:16px;align-items:flex-start;justify-content:space-between}
#build-error-overlay .beo-title{margin:0;font-size:18px;font-weight:bold;color:#8c1d18}
#build-error-overlay .beo-note{margin:2px 0 8px;color:#5f4b4a;font-size:14px}
#build-error-overlay .beo-hide{font:inherit;font-size:14px;padding:2px 12px;border:1px solid #b3261e;
border-radius:4px;background:#fff;color:#8c1d18;cursor:pointer}
#build-error-overlay .beo-list{margin:0;padding:0;list-style:none}
#build-error-overlay .beo-problem{margin:0 0 10px;padding:8px 12px;background:#fff;border:1px solid #f0c4c0;
border-left:5px solid #b3261e;border-radius:4px}
#build-error-overlay .beo-where{margin:0;display:flex;flex-wrap:wrap;gap:4px 12px;align-items:baseline}
#build-error-overlay .beo-file{font:bold 16px/1.4 ui-monospace,Consolas,monospace;color:#1f1f1f;word-break:break-all}
#build-error-overlay .beo-line{font-weight:bold;color:#fff;background:#b3261e;padding:0 8px;border-radius:3px;
white-space:nowrap}
#build-error-overlay .beo-field{color:#5f4b4a;white-space:nowrap}
#build-error-overlay .beo-field code{font-family:ui-monospace,Consolas,monospace;background:#f6e7e5;padding:0 4px}
#build-error-overlay .beo-message{margin:4px 0 0;font-size:16px;color:#1f1f1f;white-space:pre-wrap}
#build-error-overlay .beo-accepted{margin:4px 0 0;padding:4px 8px;background:#eef5ee;color:#1e4620;
border-radius:3px;white-space:pre-wrap}
"""


# A mobile or ID card number, as a message may echo one (a value typed into the wrong field: `unit:
# 张秀英 13905111234`): the box over the page, which anyone near the screen reads, never shows it
_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?:1[3-9][0-9](?:[ -]?[0-9]){8}|[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9A-Za-z])")


def _masked(text: str) -> str:
    return _NUMBER.sub(lambda m: "＊" * len(m.group()), text)


def _problem_block(p: Problem) -> str:
    """One problem as HTML: where (file, line, field), what is wrong, what would be accepted."""
    where = [f"<code class='beo-file'>{html.escape(p.path)}</code>"]
    if p.line:
        # TRANSLATORS: where a problem is, in the preview's error box. 原文：第{line}行
        line = t("line {line}", line=p.line)
        where.append(f"<span class='beo-line'>{html.escape(line)}</span>")
    if p.field:
        # TRANSLATORS: before the name of the field at fault, in the preview's error box. 原文：字段
        label = _("field:")
        field = html.escape(p.field_shown or "")
        where.append(f"<span class='beo-field'>{html.escape(label)} <code>{field}</code></span>")
    parts = [f"<p class='beo-where'>{''.join(where)}</p>",
             f"<p class='beo-message'>{html.escape(_masked(p.message))}</p>"]
    if p.accepted:
        accepted = t("accepted: {accepted}", accepted=_masked(p.accepted))
        parts.append(f"<p class='beo-accepted'>{html.escape(accepted)}</p>")
    return f"<li class='beo-problem'>{''.join(parts)}</li>"


def error_overlay(problems: list[Problem]) -> str:
    errors = [p for p in problems if p.is_error]
    # TRANSLATORS: the heading of the preview's error box. 原文：构建失败：请修改以下问题
    title = ngettext("The site could not be built: change the {n} problem below",
                     "The site could not be built: change the {n} problems below", len(errors)).format(n=len(errors))
    # TRANSLATORS: under the heading of the preview's error box. 原文：正在显示上一次成功构建的页面
    note = _("You are seeing the page of the last successful build; once the file is saved with the change, "
             "the page updates by itself.")
    # TRANSLATORS: the button that hides the preview's error box. 原文：隐藏
    hide = _("Hide")
    lang = "zh-CN" if language() == "zh_CN" else "en"
    items = "".join(_problem_block(p) for p in errors)
    return (
        f"<div id='build-error-overlay' role='alert' lang='{lang}'><style>{_STYLE}</style>"
        f"<div class='beo-head'><div><p class='beo-title'>{html.escape(title)}</p>"
        f"<p class='beo-note'>{html.escape(note)}</p></div>"
        "<button type='button' class='beo-hide' onclick=\"this.closest('#build-error-overlay').remove()\">"
        f"{html.escape(hide)}</button></div>"
        f"<ol class='beo-list'>{items}</ol></div>"
    )


def inject(page: bytes, problems: list[Problem], script: str) -> bytes:
    """`page` as served: the error overlay (when `problems` hold an error) and `script` added before </body>."""
    text = page.decode("utf-8", errors="replace")
    extra = (error_overlay(problems) if any(p.is_error for p in problems) else "") + script
    i = text.lower().rfind("</body>")
    text = text[:i] + extra + text[i:] if i != -1 else text + extra
    return text.encode("utf-8")
