"""Live preview, the error overlay: a failed build's problems shown over the page, and the one place
where the server adds anything to an HTML page it serves (never to a file of the build)."""

from __future__ import annotations

import html

from .errors import Problem


def error_overlay(problems: list[Problem]) -> str:
    items = "".join(f"<li><pre style='white-space:pre-wrap;margin:0'>{html.escape(p.format())}</pre></li>"
                    for p in problems if p.is_error)
    return (
        "<div id='build-error-overlay' role='alert' style='position:fixed;z-index:99999;inset:0 0 auto 0;"
        "max-height:70vh;overflow:auto;background:#fff3f3;color:#600;border-bottom:4px solid #b3261e;"
        "padding:16px 24px;font:15px/1.6 sans-serif;box-shadow:0 4px 16px rgba(0,0,0,.3)'>"
        "<strong>构建失败：请修改以下问题（正在显示上一次成功构建的页面）</strong>"
        f"<ol style='padding-left:1.4em'>{items}</ol></div>"
    )


def inject(page: bytes, problems: list[Problem], script: str) -> bytes:
    """`page` as served: the error overlay (when `problems` hold an error) and `script` added before </body>."""
    text = page.decode("utf-8", errors="replace")
    extra = (error_overlay(problems) if any(p.is_error for p in problems) else "") + script
    i = text.lower().rfind("</body>")
    text = text[:i] + extra + text[i:] if i != -1 else text + extra
    return text.encode("utf-8")
