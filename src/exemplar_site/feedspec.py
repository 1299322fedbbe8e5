"""The feed table: which feeds exist, where, and what each holds.

One row per feed, driven by `feeds.families` in site_config.yaml. Pages use
it for autodiscovery links and the media page; feeds.py renders each row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import islice

from .config import SiteConfig
from .model import PublicStory
from .taxonomy import FAMILY_NAMES, SiteIndex, Term

# config family name → SiteIndex family
_FAMILY_OF = {"field": "fields", "unit": "units", "level": "levels", "campaign": "campaigns", "tag": "tags"}


@dataclass(frozen=True, repr=False)
class FeedSpec:
    key: str  # "all" or "<family>/<term key>"
    title: str
    description: str
    rss: str  # site path
    atom: str  # site path
    listing: str  # site path of the matching HTML listing
    stories: tuple[PublicStory, ...]  # newest first, already cut to the item count
    family: str  # "all" or a SiteIndex family

    @property
    def json(self) -> str:
        """Site path of the feed as JSON Feed 1.1, beside the RSS and Atom files."""
        return self.rss.removesuffix(".rss.xml") + ".json"

    def __repr__(self) -> str:
        """Everything but the stories, which their number stands for (see taxonomy.Term)."""
        return (f"FeedSpec({self.key!r}, {self.title!r}, {self.description!r}, {self.rss!r}, {self.atom!r}, "
                f"{self.listing!r}, stories=#{len(self.stories)}, family={self.family!r})")


def feed_specs(index: SiteIndex, config: SiteConfig) -> tuple[FeedSpec, ...]:
    fs = config.feeds
    items = fs.items
    public = tuple(islice((s for s in index.stories if s.draft is None), items))
    specs: list[FeedSpec] = []
    if "all" in fs.families:
        specs.append(FeedSpec("all", f"{config.title}：全部先进典型", config.description or config.title,
                              "feeds/all.rss.xml", "feeds/all.atom.xml", "stories/", public, "all"))
    for fam_cfg in ("field", "unit", "level", "campaign", "tag"):
        if fam_cfg not in fs.families:
            continue
        family = _FAMILY_OF[fam_cfg]
        for term in index.terms.get(family, ()):
            if family == "tags" and "*" not in fs.tags and term.name not in fs.tags and term.key not in fs.tags:
                continue
            stories = tuple(islice((s for s in term.stories if s.draft is None), items))
            if not stories and family != "campaigns":
                continue
            specs.append(_term_spec(term, stories, config))
    return tuple(specs)


def _term_spec(term: Term, stories: tuple[PublicStory, ...], config: SiteConfig) -> FeedSpec:
    label = FAMILY_NAMES[term.family]
    if term.family == "units":
        desc = f"{term.name}及下属单位的先进典型"
    elif term.family == "campaigns":
        # (no quotation marks of its own around a name that has them already: 2026“……”学习活动)
        desc = f"学习活动{term.name}中的先进典型" if re.search(r"[“”\"「」《》]", term.name) \
            else f"学习活动“{term.name}”中的先进典型"
    else:
        desc = f"{label}：{term.name}"
    base = f"feeds/{term.family}/{term.key}"
    return FeedSpec(f"{term.family}/{term.key}", f"{config.title}：{term.name}", desc,
                    base + ".rss.xml", base + ".atom.xml", term.url, stories, term.family)


def feeds_for_story(story: PublicStory, index: SiteIndex, specs: tuple[FeedSpec, ...],
                    terms: list[Term] | None = None) -> list[FeedSpec]:
    """The feeds a story is in, in the order of `specs` (`terms`: index.terms_for(story), if known)."""
    keys = {"all"} | {f"{t.family}/{t.key}" for t in (index.terms_for(story) if terms is None else terms)}
    return [s for s in specs if s.key in keys]
