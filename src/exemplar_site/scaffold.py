"""`new story|page|campaign "标题"`: a file with every field, a comment on each, a fresh id."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .config import SiteConfig
from .errors import BuildFailed, Problem
from .text import slugify

_ID_RE = re.compile(r"^([A-Za-z]+)-(\d{4})-(\d+)$")


@dataclass(frozen=True)
class Scaffolded:
    path: Path
    id: str | None
    slug: str


def _existing_ids(config: SiteConfig) -> list[str]:
    ids = []
    for path in sorted((config.content_dir / "stories").rglob("*.md")):
        m = re.search(r"^id:\s*['\"]?([^'\"\s#]+)", path.read_text(encoding="utf-8", errors="replace"), re.M)
        if m:
            ids.append(m.group(1))
    return ids


def fresh_id(config: SiteConfig, today: dt.date) -> str:
    """<prefix>-<year>-<NNN>: the prefix most stories use, the next free number."""
    ids = _existing_ids(config)
    parsed = [m for m in (_ID_RE.match(i) for i in ids) if m]
    prefix = Counter(m.group(1) for m in parsed).most_common(1)[0][0] if parsed else "ex"
    width = max((len(m.group(3)) for m in parsed), default=3)
    highest = max((int(m.group(3)) for m in parsed if m.group(1) == prefix), default=0)
    taken = set(ids)
    n = highest + 1
    while f"{prefix}-{today.year}-{n:0{width}d}" in taken:
        n += 1
    return f"{prefix}-{today.year}-{n:0{width}d}"


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_STATUS_HELP = "seedling 苗子 | cultivating 培养 | recommended 推荐 | approved 审批 | commended 表彰 | withdrawn 撤销"


def story_text(config: SiteConfig, title: str, sid: str, slug: str, today: dt.date) -> str:
    units = ", ".join(u.key for u in config.units.units)
    fields = ", ".join(f"{c.key}({c.name})" for c in config.fields)
    first_unit = config.units.units[-1].key if config.units.units else ""
    first_field = config.fields[0].key if config.fields else ""
    return f"""---
id: {sid}                      # 编号：唯一且永不修改（订阅源用它识别稿件）
title: {_q(title)}                # 标题
slug: {slug}                   # 网址名（拼音），发布后不要再改
name: ""                       # 典型姓名或集体名称（必填）
kind: individual               # individual 个人 | collective 集体
unit: {first_unit}                      # 所属单位：{units}
field: {first_field}                     # 警种行业：{fields}
level: district                # national 国家级 | ministry 部级 | provincial 省级 | city 市级 | district 区县级
date: {today.isoformat()}               # 发布日期；晚于今天则到期自动发布
# updated: {today.isoformat()}          # 内容有实质更新时填写
status: seedling               # {_STATUS_HELP}
# vetting:                     # 纪检监察审核意见：没有它不会发布
#   cleared_by: 市局纪委
#   date: {today.isoformat()}
#   ref: 文号
# approved_by: 审批单位          # status 为 approved/commended 时必填
# approved_date: {today.isoformat()}
summary: ""                    # 一两句话的摘要（列表、订阅源、短信用；留空则从正文生成）
# sms: 短信正文（留空则从摘要生成；不要写【】）
tags: []                       # 标签，如 [见义勇为, 枫桥经验]
campaigns: []                  # 学习活动（content/campaigns/ 下的文件名）
featured: false                # true：在首页重点展示
# exemplar_of: 以前报道同一典型的稿件编号（持续报道时填写）
# stays_public: true           # 同一典型的其他稿件被撤下时，这篇仍然保留（一般不要填）
images: []                     # 图片：- {{src: images/xxx.jpg, caption: 图片说明, alt: 图片内容描述}}
honors: []                     # 荣誉：- {{title: 荣誉名称, by: 授予单位, date: YYYY-MM-DD}}
private:                       # 不公开：家庭情况、身份证号、电话、考核记录等，永远不会发布
  family: ""
  id_number: ""
  phone: ""
  assessments: []              # 考核：- {{date: YYYY-MM-DD, result: 优秀, by: 考核单位, notes: 备注}}
---
在这里写先进事迹正文。可以用“## 小标题”分段，用“- ”列出要点。
"""


def page_text(title: str, slug: str) -> str:
    return f"""---
title: {_q(title)}      # 页面标题
slug: {slug}         # 网址名
# menu: 3            # 在主导航中的位置（数字）；不填则不出现在导航
# date: 2026-01-01   # 日期（可不填）
summary: ""          # 一句话简介
---
在这里写页面正文。
"""


def campaign_text(title: str, slug: str, today: dt.date) -> str:
    return f"""---
title: {_q(title)}            # 学习活动名称
slug: {slug}               # 网址名
date: {today.isoformat()}         # 开始日期
# until: {today.year}-12-31     # 结束日期
decision: ""               # 学习决定文号，如 江公党〔{today.year}〕1号
summary: ""                # 一句话简介
exemplars: []              # 参加活动的稿件编号；稿件也可在 campaigns 里写本活动
---
在这里写活动说明。
"""


def scaffold(config: SiteConfig, kind: str, title: str, today: dt.date) -> Scaffolded:
    slug = slugify(title)
    if kind == "story":
        sid = fresh_id(config, today)
        path = config.content_dir / "stories" / str(today.year) / f"{slug}.md"
        text = story_text(config, title, sid, slug, today)
    elif kind == "page":
        sid = None
        path = config.content_dir / "pages" / f"{slug}.md"
        text = page_text(title, slug)
    else:
        sid = None
        path = config.content_dir / "campaigns" / f"{slug}.md"
        text = campaign_text(title, slug, today)
    if path.exists():
        raise BuildFailed([Problem(str(path), None, None, "a file with this name already exists; nothing written",
                                   "another title, or edit the existing file")])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return Scaffolded(path, sid, slug)
