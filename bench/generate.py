#!/usr/bin/env python3
"""Write a deterministic synthetic site of N Chinese exemplar stories (~7 KB each).

    python bench/generate.py 10000 bench/corpus-10000

Varied bodies (headings, lists, a table, links, an image), realistic front
matter across ~40 units, 12 fields, 4 levels and ~60 tags; every story public
as of the benchmark date 2026-11-24.

The default corpus has no series, no campaigns and one shared photo, so it cannot show a cost
that grows with a series, with campaigns or with units. Options give it those shapes (the
stories' text and front matter are otherwise the same, story for story):

    python bench/generate.py 10000 /tmp/corpus-shaped --series 200 --campaigns 300 --units 2000

    --photos N     the first N stories get a photo of their own (as the old third argument)
    --series K     each run of K stories is one exemplar's series: the same name, each a
                   follow-up (exemplar_of) of the one before
    --campaigns C  C campaigns; story i takes part in campaign i % C (its `campaigns:`)
    --units U      U police stations under the six districts instead of 36
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIELDS = {"shequ": "社区警务", "jiaojing": "交警", "xingzhen": "刑侦", "zhian": "治安", "wangan": "网安",
          "huzheng": "户政", "jianguan": "监管", "jingdu": "禁毒", "tejing": "特警", "chujingying": "出入境",
          "jingji": "经侦", "xiaofang": "消防监督"}
LEVELS = ["ministry", "provincial", "city", "district"]
DISTRICTS = ["jiangbei", "chengnan", "chengxi", "dongshan", "gaoxin", "binhai"]
DISTRICT_NAMES = ["江北分局", "城南分局", "城西分局", "东山分局", "高新分局", "滨海分局"]
STATION_WORDS = ["滨江", "北门", "南湖", "西苑", "东关", "新华", "解放", "人民", "和平", "建设"]
TAG_WORDS = ["见义勇为", "枫桥经验", "反诈", "为民服务", "巾帼建功", "科技强警", "基层所队", "抢险救灾", "护考",
             "交通安全", "命案积案", "网络安全", "禁毒宣传", "青年民警", "老典型", "传帮带", "严打整治", "平安建设",
             "矛盾调解", "警民共建", "志愿服务", "校园安全", "一线攻坚", "廉洁从警", "群众满意", "夜间巡逻",
             "社区治理", "应急处置", "执法规范", "打击犯罪", "服务企业", "便民利民", "智慧警务", "红色物业",
             "扫黑除恶", "反恐处突", "安保维稳", "窗口服务", "警务改革", "基础工作", "群防群治", "法治宣传",
             "关爱老人", "守护少年", "追逃", "打拐", "食药环", "知识产权", "跨境犯罪", "水上警务", "铁骑",
             "特巡警", "刑事技术", "视频侦查", "信息研判", "心理疏导", "监所管理", "户籍改革", "出入境服务", "经济保卫"]
SENTENCES = [
    "{n}扎根基层一线，始终把群众的安危冷暖放在心上。", "多年来，{n}走遍辖区的每一条街巷，熟悉每一户居民的情况。",
    "面对突发警情，{n}总是第一个冲在前面。", "在一次专项行动中，{n}连续奋战七十二小时，成功破获案件。",
    "群众说，有{n}在，心里就踏实。", "{n}坚持“群众的事再小也是大事”，把每一件小事办好。",
    "为了化解一起邻里纠纷，{n}先后上门二十余次，最终让双方握手言和。",
    "工作之余，{n}还主动走进学校、社区开展安全宣传。",
    "在抗洪抢险中，{n}带领队员转移被困群众一百余人。", "{n}总结的工作方法，在全市公安机关推广。",
    "面对复杂的电信诈骗案件，{n}带领专班日夜研判，追回被骗资金数百万元。",
    "{n}说：“穿上这身警服，就要对得起群众的信任。”", "夜深人静的时候，{n}还在办公室整理案件材料。",
    "{n}把辖区的独居老人一一登记在册，定期上门看望。", "在{n}的带动下，越来越多的年轻民警扎根基层、安心工作。",
    "数据显示，辖区可防性案件发案数同比下降百分之三十以上。", "{n}先后荣立个人二等功一次、三等功两次。",
    "无论刮风下雨，{n}总是准时出现在执勤岗位上。", "为了提高办事效率，{n}推动“一窗通办”，群众少跑腿。",
    "在平安建设中，{n}探索建立了“网格化+警务”工作机制。",
]


def paragraph(rng: random.Random, name: str, k: int) -> str:
    return "".join(rng.choice(SENTENCES).format(n=name) for _ in range(k))


def config_text(n_units: list[tuple[str, str, str]]) -> str:
    lines = ["title: 基准测试先进典型", "description: 合成的基准测试站点", "organisation: 基准市公安局政治部",
             "base_url: http://bench.example", "base_path: /publicity/", "page_size: 20", "home_latest: 10",
             "vetting_valid_days: 3650", "units:", "  city:", "    name: 基准市公安局", "    type: city",
             "    children:"]
    for dk, dn in zip(DISTRICTS, DISTRICT_NAMES, strict=True):
        lines += [f"      {dk}:", f"        name: {dn}", "        type: district", "        children:"]
        for key, name, parent in n_units:
            if parent == dk:
                lines.append(f"          {key}: {name}")
    lines.append("fields:")
    lines += [f"  {k}: {v}" for k, v in FIELDS.items()]
    lines += ["feeds:", "  families: [all, field, unit, level, tag]", "  items: 50", "  tags: '*'",
              '  guid_prefix: "tag:bench.example,2025:"', "sms:", "  signature: 基准公安"]
    return "\n".join(lines) + "\n"


def phone_photo(i: int, size: tuple[int, int] = (2400, 1800)) -> bytes:
    """A distinct photo as a phone sends it: a gradient with detail, GPS and camera EXIF, rotated by EXIF."""
    from PIL import Image, ImageDraw
    w, h = size
    im = Image.linear_gradient("L").resize(size).convert("RGB")
    im = Image.merge("RGB", (im.getchannel(0), im.getchannel(0).rotate(90, expand=False).resize(size),
                             Image.new("L", size, (i * 37) % 256)))
    draw = ImageDraw.Draw(im)
    rng = random.Random(i)
    for _ in range(60):
        x, y = rng.randrange(w), rng.randrange(h)
        draw.ellipse((x, y, x + rng.randint(20, 300), y + rng.randint(20, 300)),
                     fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    exif = im.getexif()
    exif[0x0112] = 6 if i % 3 == 0 else 1
    exif[0x010F], exif[0x0110] = "Apple", "iPhone 15"
    exif.get_ifd(0x8825).update({1: "N", 2: (31.0, 14.0, float(i % 60)), 3: "E", 4: (121.0, 28.0, 5.0)})
    import io
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=88, exif=exif)
    return buf.getvalue()


def generate(n: int, out: Path, seed: int = 20261124, photos: int = 0, series: int = 1, campaigns: int = 0,
             stations: int = 36) -> None:
    """`photos`: the first that many stories get a photo of their own (2400×1800 JPEG with GPS) as lead image.
    `series`, `campaigns`, `stations`: see the module docstring (1, 0 and 36: the default corpus)."""
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    (out / "content" / "stories").mkdir(parents=True)
    (out / "content" / "images").mkdir(parents=True)
    for d in ("pages", "campaigns"):
        (out / "content" / d).mkdir()
    shutil.copy(REPO / "content" / "images" / "community.png", out / "content" / "images" / "photo.png")
    # the photo in the text is another one: a lead photo shown again in the text is warned about
    # (media.py), and a corpus where every story is warned about measures the printing of warnings
    shutil.copy(REPO / "content" / "images" / "station.png", out / "content" / "images" / "scene.png")
    units: list[tuple[str, str, str]] = []
    for i, dk in enumerate(DISTRICTS):
        for j in range(6):
            word = STATION_WORDS[(i * 3 + j) % len(STATION_WORDS)]
            units.append((f"{dk}-{j}", f"{DISTRICT_NAMES[i][:2]}{word}派出所", dk))
    for k in range(36, stations):  # (more stations: unit keys and names stay unique)
        dk = DISTRICTS[k % len(DISTRICTS)]
        word = STATION_WORDS[k % len(STATION_WORDS)]
        units.append((f"{dk}-{k // len(DISTRICTS)}", f"{DISTRICT_NAMES[k % len(DISTRICTS)][:2]}{word}{k}号派出所", dk))
    for c in range(campaigns):
        (out / "content" / "campaigns" / f"hd-{c:04d}.md").write_text(
            f"---\ntitle: 第{c + 1}期学习宣传活动\ndate: 2022-01-01\nuntil: 2026-12-31\n"
            f"decision: 基准公党〔2022〕{c + 1}号\nsummary: 集中宣传一批身边典型。\n---\n"
            "活动以“身边的平安守护者”为主题，分批推出基层所队的先进典型。\n", encoding="utf-8")
    (out / "site_config.yaml").write_text(config_text(units), encoding="utf-8")
    unit_keys = [u[0] for u in units] + DISTRICTS
    surnames = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
    given = "建国晓燕志强海涛明芳磊婷伟军华平丽勇敏静杰涛"
    name = ""
    for i in range(n):
        drawn = rng.choice(surnames) + rng.choice(given) + rng.choice(given)
        name = drawn if i % series == 0 else name  # (a series: one exemplar, its first story's name)
        year = 2022 + i * 5 // n
        month, day = rng.randint(1, 10 if year == 2026 else 12), rng.randint(1, 28)
        tags = rng.sample(TAG_WORDS, 3)
        sid = f"bm-{year}-{i:05d}"
        body = [paragraph(rng, name, 10), "", f"## 一、{rng.choice(['扎根基层', '攻坚克难', '服务群众'])}", "",
                paragraph(rng, name, 10), "", "- " + paragraph(rng, name, 1), "- " + paragraph(rng, name, 1),
                "- " + paragraph(rng, name, 1), "", "## 二、主要成绩", "", "| 年份 | 工作量 | 群众满意率 |",
                "|---|---|---|"]
        body += [f"| {2020 + k} | {rng.randint(100, 999)} | {rng.randint(90, 100)}% |" for k in range(3)]
        body += ["", paragraph(rng, name, 10), "", f"![{name}在工作中](images/scene.png)", "",
                 f"> {paragraph(rng, name, 1)}", "", paragraph(rng, name, 14), "",
                 "## 三、群众评价", "", paragraph(rng, name, 14), "",
                 f"相关阅读：[另一位典型](/stories/bm-{max(0, i - 1):05d}/)", ""]
        front = [
            "---", f"id: {sid}", f"title: {name}：{paragraph(rng, name, 1)[:18]}", f"slug: bm-{i:05d}",
            f"name: {name}", f"kind: {'individual' if i % 7 else 'collective'}", f"unit: {rng.choice(unit_keys)}",
            f"field: {rng.choice(list(FIELDS))}", f"level: {rng.choice(LEVELS)}",
            f"date: {year}-{month:02d}-{day:02d}", "status: approved",
            f"vetting: {{cleared_by: 市局纪委, date: 2026-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}, ref: 纪审{i}号}}",
            "approved_by: 市局党委", f"tags: [{', '.join(tags)}]",
            (f"images: [{{src: images/ph-{i:05d}.jpg, caption: 工作照, alt: 民警在社区, credit: 李明}}]" if i < photos
             else "images: [{src: images/photo.png, caption: 工作照, alt: 民警在社区}]"),
            f"featured: {'true' if i % 50 == 0 else 'false'}",
            *([f"exemplar_of: bm-{2022 + (i - 1) * 5 // n}-{i - 1:05d}"] if i % series else []),
            *([f"campaigns: [hd-{i % campaigns:04d}]"] if campaigns else []),
            "private:", f"  phone: \"139{i:08d}\"", "  assessments:", "    - {date: 2026-06-30, result: 优秀}",
            "---",
        ]
        if i < photos:
            (out / "content" / "images" / f"ph-{i:05d}.jpg").write_bytes(phone_photo(i))
        folder = out / "content" / "stories" / str(year)
        folder.mkdir(exist_ok=True)
        (folder / f"bm-{i:05d}.md").write_text("\n".join(front + body), encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("count", type=int, nargs="?", default=1000)
    parser.add_argument("target", type=Path, nargs="?")
    parser.add_argument("old_photos", type=int, nargs="?", help=argparse.SUPPRESS)  # (the old third argument)
    parser.add_argument("--photos", type=int)
    parser.add_argument("--series", type=int, default=1)
    parser.add_argument("--campaigns", type=int, default=0)
    parser.add_argument("--units", type=int, default=36)
    args = parser.parse_args()
    generate(args.count, args.target or REPO / "bench" / f"corpus-{args.count}",
             photos=args.photos if args.photos is not None else args.old_photos or 0,
             series=args.series, campaigns=args.campaigns, stations=args.units)
    print(args.target or REPO / "bench" / f"corpus-{args.count}")
