"""The public objects: everything a template, feed or SMS file may see.

None of these classes has a field for the private block (family, ID
numbers, phones, assessments), so no renderer can leak one. Only gate.py
builds a PublicStory.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from . import urls
from .i18n import N_

T = TypeVar("T")


def replaced(obj: T, **changes: Any) -> T:
    """dataclasses.replace for a frozen dataclass without calling __init__ again (a third of the
    time or less: 10,000 stories joined to their images every build, 10,000 records stored without
    their private blocks): copied as copy.copy copies it (a PublicStory through its __getstate__),
    and the changed fields set."""
    new = copy.copy(obj)
    for name, value in changes.items():
        object.__setattr__(new, name, value)
    return new


@dataclass(frozen=True)
class Variant:
    """One published size of an image (images.py made it; no original is ever published)."""

    path: str  # site path, e.g. images/a-480w.jpg
    width: int
    height: int
    mime: str
    size: int  # bytes


@dataclass(frozen=True)
class WebImage:
    """What was published for one source image: its sizes, smallest first, in its own format
    (`sizes`) and in WebP (`webp`, empty for a WebP source), and the press copy."""

    src: str  # the site path authors wrote (images/a.heic)
    path: str  # the largest web size, at the image's own name (images/a.jpg)
    width: int  # of the largest web size
    height: int
    sizes: tuple[Variant, ...]
    webp: tuple[Variant, ...]
    press: Variant
    key: str  # content digest + settings: changes with anything the files are made from

    @property
    def largest(self) -> Variant:
        return self.sizes[-1]

    @property
    def smallest(self) -> Variant:
        return self.sizes[0]


@dataclass(frozen=True)
class Image:
    src: str  # site path, e.g. images/a.png
    caption: str
    alt: str
    size: int  # bytes of the source file (what is published is in `web`)
    mime: str
    credit: str = ""  # the photographer (摄影)
    web: WebImage | None = None  # the published sizes (set by media.attach_story; None for a build without them)


@dataclass(frozen=True)
class Honor:
    title: str
    by: str
    date: dt.date | None


@dataclass(frozen=True)
class Named:
    """A key with its display name (unit, field, level, tag, campaign)."""

    key: str
    name: str


@dataclass(frozen=True, repr=False)
class PublicStory:
    id: str
    slug: str
    title: str
    name: str
    kind: str  # individual | collective
    kind_name: str
    unit: Named
    unit_chain: tuple[Named, ...]  # root → unit
    field: Named
    level: Named
    level_rank: int  # 0 = national
    date: dt.datetime  # aware
    updated: dt.datetime  # aware; = date when not given
    status: str  # approved | commended (or any, in a drafts build)
    summary: str  # plain text
    summary_html: str  # may contain site: links
    body_html: str  # may contain site: links
    tags: tuple[Named, ...]
    campaigns: tuple[str, ...]  # campaign slugs
    images: tuple[Image, ...]
    honors: tuple[Honor, ...]
    featured: bool
    sms: str | None  # the author's SMS text, if given
    exemplar_of: str | None  # id of the story this one follows up
    reading_minutes: int
    char_count: int
    source: str  # content file, for messages
    sms_line: int  # line of the sms field, for messages
    # what its text links to, read once from the rendered body (gate.public_story) and kept in the cache
    # with the story; no default, since a story made without them would escape the checks they feed
    story_links: tuple[str, ...]  # stories ('stories/x', sorted): checked against withdrawn ones every build
    site_files: tuple[str, ...]  # attachments ('files/a.pdf', sorted): published with it
    authors: tuple[str, ...] = ()  # bylines (作者/通讯员), in the order written
    draft: str | None = None  # why it would be held back; only set in --drafts builds
    press: Variant | None = None  # the lead image's press download (press/<id>.jpg), metadata-free
    digest: str = ""  # changes whenever anything this object holds may change (cache keys)

    @property
    def url(self) -> str:
        return urls.story(self.slug)

    @property
    def year(self) -> int:
        return self.date.year

    @property
    def lead_image(self) -> Image | None:
        return self.images[0] if self.images else None

    def __repr__(self) -> str:
        """Short, and complete as a key: the digest stands for everything the story holds
        (jobs.fingerprint relies on it)."""
        return f"PublicStory({self.id!r}, digest={self.digest!r})"

    # A story read back from the build cache comes without its body: bodies are most of the cache's
    # bytes, and an edit shows a dozen of 10,000. The cache gives it the key of its body (`_text`,
    # which outlives the read) and a reader (`_fetch`); the body is read the first time it is asked
    # for (`_HeldBody`), and kept. Whatever reads a story sees the same object either way.

    def __getstate__(self) -> dict[str, object]:
        """What is pickled or copied: the story with its body (read now if it was held back: a
        process started afresh has no reader), without the key of its body, which a copy whose body
        is then changed (replaced, in media) would keep wrongly. Only the cache's stored form, which
        has neither body nor reader, keeps its key (cache.BuildCache.save)."""
        state = dict(self.__dict__)
        if state.pop("_fetch", None) is not None and "body_html" not in state:
            state["body_html"] = self.body_html
        if "body_html" in state:
            state.pop("_text", None)
        return state


class _HeldBody:
    """`PublicStory.body_html` of a story that has none of its own: a descriptor that Python asks
    only when the instance's own attributes lack it (a non-data descriptor), that is, for a story
    whose body the build cache held back. It reads the body and keeps it; a story held back with
    no reader is a programming error, raised as one (never an AttributeError, which a template
    would show as an empty body). (Not `__getattr__`: a class that has one loses Python 3.11's
    fast attribute reads on every instance, 25 % more time for the attributes of 100,000 stories.)"""

    def __get__(self, story: PublicStory | None, owner: type | None = None) -> Any:
        if story is None:
            return self
        own = story.__dict__
        if "_text" not in own:  # (a story made without a body: as any attribute it lacks)
            raise AttributeError("body_html")
        fetch = own.get("_fetch")
        if fetch is None:
            raise BodyUnavailable(f"the body of {story.source} was held back by the build cache with no reader")
        text: str = fetch(own["_text"])
        own["body_html"] = text
        return text


# (set after the class is made: in its body it would be the field's default)
setattr(PublicStory, "body_html", _HeldBody())  # noqa: B010


class BodyUnavailable(Exception):
    """A story's body held back by the build cache could not be read (its file is damaged or gone):
    the build stops with an error (cache.BodyMissing, a subclass, says so to the user)."""


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    summary: str
    body_html: str
    menu: int | None  # position in the main menu, or None
    source: str
    # the stories its text links ('stories/x', sorted), read from the rendered body before an edition
    # that goes outside made links to stories it leaves out plain text (gate.related_texts)
    story_links: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"{self.slug}/"


@dataclass(frozen=True)
class Campaign:
    slug: str
    title: str
    summary: str
    body_html: str
    date: dt.date
    until: dt.date | None
    decision: str  # the learning decision (学习决定), e.g. its document number
    source: str
    story_ids: tuple[str, ...] = ()  # stories named in the campaign file itself
    story_links: tuple[str, ...] = ()  # the stories its text links, as Page.story_links

    @property
    def url(self) -> str:
        return urls.listing("campaigns", self.slug)


@dataclass(frozen=True)
class WithdrawnNotice:
    """All that is left of a withdrawn story: its old address, and for newsrooms its id (the feeds'
    GUID) and when it was withdrawn. Nothing else: no title, no name."""

    slug: str
    id: str = ""
    when: dt.datetime | None = None  # aware; None only where no time is known

    @property
    def url(self) -> str:
        return urls.story(self.slug)


# why a story is held back (HeldBack.reason) → what the build summary says (a catalogue message id)
REASONS = {
    "status": N_("not yet selected (status)"),
    "no-vetting": N_("no discipline-inspection vetting"),
    "vetting-expired": N_("vetting out of date"),
    "vetting-incomplete": N_("vetting record blank or a placeholder"),
    "vetting-future": N_("vetting dated after the build date"),
    "exemplar-withdrawn": N_("the exemplar's earlier story was withdrawn"),
    "scheduled": N_("scheduled for a later date"),
    "withdrawn": N_("withdrawn"),
    "internal-only": N_("not cleared for outside publicity (external:)"),
}


@dataclass(frozen=True)
class HeldBack:
    """A story the gate kept out of public output, for the build summary."""

    source: str
    id: str
    reason: str  # a short key: status, no-vetting, vetting-expired, scheduled, withdrawn
    detail: str
    until: dt.datetime | None = None  # for scheduled stories


@dataclass(frozen=True)
class Output:
    """One file of the built site: bytes, or a file to copy."""

    path: str  # '/'-separated, relative to the output folder
    data: bytes | None = None
    source: Path | None = field(default=None, compare=False)
    deps: tuple[str, ...] = field(default=(), compare=False)  # story lists the rendering read (jobs.Job.rekey)
    clear: bool = False  # a video or sound file copied from `source` without its metadata (mediameta.clear)


@dataclass(frozen=True)
class GateResult:
    """What the gate (gate.py) lets through: public objects only."""

    stories: tuple[PublicStory, ...]  # public (and, in drafts builds, drafts marked as such)
    held: tuple[HeldBack, ...]
    withdrawn: tuple[WithdrawnNotice, ...]
    pages: tuple[Page, ...]
    campaigns: tuple[Campaign, ...]

    @functools.cached_property
    def public(self) -> tuple[PublicStory, ...]:
        """Only what may reach feeds, SMS and search: never drafts. (Made once: a build asks for
        it several times; the result is immutable, and so are the stories it is made from.)"""
        return tuple(s for s in self.stories if s.draft is None)
