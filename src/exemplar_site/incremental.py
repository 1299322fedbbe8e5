"""The one layer that remembers: what earlier builds read, validated and rendered.

The stages are plain functions (sources.discover, frontmatter.parse,
records.story_record, gate.decide_all / render_body / publish / finish,
taxonomy.build_index, pages.page_jobs …): they take what they need and
return new values, and know nothing of caches. This layer calls them for the
build, in the order pipeline.py gives, and skips a call whose result an
earlier build already made from the same inputs:

| stage call | reused by | key |
|---|---|---|
| reading a story file | `cache.files` | path, size, times, inode |
| parsing its front matter | `cache.docs` | file digest |
| validating it (`story_record`) | `cache.records` | file digest + config + media files |
| rendering its body (`gate.render_body`) | `cache.bodies` | file digest + rendering settings |
| its public object (`gate.publish`) | `cache.stories` (its body apart, read when shown) | `gate.story_digest` + path |
| related stories (`taxonomy.build_index`) | `cache.memo` | `taxonomy.related_key` |
| a page's key (`pages.PagePlan.keyed`) | `cache.memo` | `index_shape`, site, templates, its stories |
| a search document's tokens (`search.doc_tokens`) | `cache.search_entries` | `search.doc_identity` (a story's digest) |
| the search shards (`search.shards_of`) | `cache.memo`, `cache.search_entries` | the documents, in order (patched) |
| an image's web sizes (`images.process`) | `cache.memo` + imagestore.py | image digest + `images.settings_key` |
| what a story says about images (`media.story_media`) | `cache.memo` | `gate.story_digest` |
| a story with its images joined (`media.attach_story`) | `cache.stories` (in its place) | + its images' keys |
| the line a problem names (`sources.line_naming`) | `cache.memo` | `gate.story_digest` + the name looked for |
| a story's feed entry (`feeds.FeedParts.entry`) | `cache.feed_entries` | `FeedParts.key` (story digest) |
| a story's SMS message (`sms.composed`) | `cache.sms` (pickled alone, read when files are made) | `gate.story_digest` |
| the SMS files' keys (`sms.sms_files`) | `cache.memo` | the messages' fingerprints, the config |
| pages and feeds | the writer's manifest | `Job.key` (pages.py, feeds.py) |

Every key covers everything the result is made from, including the code and
library versions (jobs.CODE_VERSION, in the cache file's version), so a
result found is a result that would be made again. Work that is not found
is spread over processes (parallel.run_map: forked, or spawned where fork is
missing or the portable paths are forced) on a cold build.

Only pipeline.py uses this module.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import itertools
import pickle
import re
import zlib
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
import jinja2.bccache

from . import urls
from .cache import BuildCache, body_key
from .config import SiteConfig
from .errors import Problem, Problems
from .feeds import FeedParts
from .feedspec import FeedSpec
from .frontmatter import RawDoc, body_of, parse
from .gate import (
    TAG_SLUG_LENGTH,
    Decisions,
    Related,
    Shown,
    error_lines,
    private_leaks,
    publish,
    related_texts,
    render_body,
    tag_slug,
)
from .i18n import _
from .images import ImageSettings, Processed, settings_key
from .imagestore import ImageStore
from .jobs import CODE_VERSION, Job, bytes_key, fingerprint, key_of, ready
from .markup import Markup, Rendered
from .media import StoryMedia, attach_others, attach_story, renamed, shown_keys, story_media
from .model import GateResult, Output, PublicStory, WebImage
from .pages import PagePlan
from .parallel import Spawned, as_state, run_map
from .personal import normalise, private_needles
from .records import (
    CampaignRecord,
    PageRecord,
    Records,
    StoryRecord,
    campaign_record,
    check_across,
    page_record,
    story_record,
)
from .search import (
    DocTokens,
    SearchDoc,
    Shards,
    doc_identity,
    doc_tokens,
    shard_count,
    shards_of,
    shards_patched,
    shards_touched,
)
from .sms import SmsMessage, collect, composed, sms_files
from .sources import Asset, Entry, SourceFile, Sources, attachment_problems, line_naming, read_entry
from .sources import read as read_again
from .taxonomy import SiteIndex, Term, related_ids_of
from .text import Slugs
from .theme import sources_digest, template_digests

# Fewer files than this are checked in this process (forking costs more than it saves).
MIN_PARALLEL = 200
# More search documents changed in place than this: every shard is made again (search_shards).
MAX_PATCHED = 64
_SHARD = "shard\x1f"  # a search shard file's bytes in the cache, by its key (jobs.bytes_key)
# full path → ((size, mtime, ctime, inode), digest, warnings given when it was read)
Known = dict[str, tuple[tuple[int, int, int, int], str, tuple[Problem, ...]]]
# a story in a page key's text (`PublicStory.__repr__`, checked on every build: see `_digests_seen`)
_STORY_DIGEST = re.compile(r"digest='([^']*)'")


class Incremental:
    """One build's use of the cache (a BuildCache loaded from beside the output, or kept in
    memory by the preview server)."""

    def __init__(self, cache: BuildCache, config: SiteConfig, workers: int):
        self.cache, self.config, self.workers = cache, config, workers
        self.slugify = Slugs(cache.slugs)  # a pure function, its pinyin remembered
        self.markup = Markup(config.base_path, config.summary_length)
        self.render_salt = f"{config.base_path}|{config.summary_length}"
        self.seen: Known = {}
        self.bodies: dict[str, str] = {}  # story path → Markdown body, for files checked in this process
        # publishing: each shown story by path, its gate digest, whether its public object may be kept,
        # and for a story reused with its images already joined, the keys of those images
        self.shown: dict[str, tuple[Shown, dict[str, str]]] = {}
        self.cacheable: set[str] = set()
        self.validated: set[str] = set()  # story files validated in this build (their records hold `needles`)
        self.attached: dict[str, tuple[str, ...]] = {}
        # site search: this build's documents (their identities, and each shard's key), and the
        # bytes of the shards kept by their keys, once one has been asked for (kept_shard)
        self._search_made: tuple[list[str], list[SearchDoc], tuple[str, ...]] | None = None
        self._kept: dict[int, bytes] | None = None

    # ---- reading ---------------------------------------------------------------------------

    def read(self, sources: Sources, problems: Problems) -> list[SourceFile | Entry]:
        """Every source file: a story file whose size, times and inode are those the last build
        saw comes without its text, by its digest (`unchanged`); a file the cache has never seen
        comes as its Entry, read by whichever process validates it (records: nothing made from
        another file is reused for it, so its digest is not needed before; a cold build reads
        every file in its workers); every other file is read."""
        known = self.cache.files
        out: list[SourceFile | Entry] = []
        for entry in sources.entries:
            seen = known.get(entry.full)
            if seen is None:
                out.append(entry)
                continue
            if seen[0] == entry.stat and entry.kind == "story":
                self.seen[entry.full] = seen
                if seen[2]:  # (a file's own problems: most have none)
                    problems.extend(seen[2])
                out.append(SourceFile(entry.kind, entry.path, None, seen[1], unchanged=True))
                continue
            src = self._read(entry, problems)
            if src is not None:
                out.append(src)
        return out

    def _read(self, entry: Entry, problems: Problems) -> SourceFile | None:
        mine = Problems()
        src = read_entry(entry, mine)
        problems.extend(mine.items)
        if src is not None:
            self.seen[entry.full] = (entry.stat, src.digest, tuple(mine.items))
        return src

    # ---- validating ------------------------------------------------------------------------

    def records(self, files: list[SourceFile | Entry], assets: dict[str, int], problems: Problems) -> Records:
        """Every file validated (stories reused when their file, the config and the media files
        are as before), then the checks across files. (A file given as its Entry is read where it
        is validated: see read.)"""
        config, cache = self.config, self.cache
        salt = hashlib.blake2b(repr((config.digest, sorted(assets.items()))).encode("utf-8"),
                               digest_size=8).hexdigest()
        found: list[Any] = [None] * len(files)
        todo: list[tuple[int, SourceFile | Entry, RawDoc | None]] = []
        for i, given in enumerate(files):
            if isinstance(given, Entry):
                if given.kind == "story":
                    self.validated.add(given.path)
                todo.append((i, given, None))
                continue
            src = given
            if src.kind == "story" and src.digest:
                hit = cache.records.get(salt + src.digest)
                if hit is not None and hit[0].path == src.path:  # (a copied file is validated again)
                    found[i] = hit
                    continue
                self.validated.add(src.path)
            if src.text is None:  # unchanged, but validated under another config: read it after all
                again = read_again(config, src, problems)
                if again is None:
                    continue
                src = files[i] = again
            doc = None
            if src.unchanged:  # its front matter may be known (only worth a look for such a file)
                parsed = cache.docs.get(src.digest)
                if parsed is not None:
                    meta, body_line, offset = parsed
                    assert src.text is not None
                    doc = RawDoc(src.kind, src.path, meta, src.text[offset:], body_line, src.digest)
            todo.append((i, src, doc))

        slugify = self.slugify
        inline = len(todo) < MIN_PARALLEL  # checked in this process: keep the bodies for rendering

        def check(k: int) -> Checked:
            _, src, doc = todo[k]
            return _check((config, assets, slugify, inline), (src, doc))

        def spawned() -> Spawned:  # (workers started afresh are given the files themselves)
            return Spawned(as_state, (config, assets, slugify, inline), _check, [(src, doc) for _, src, doc in todo])

        results = run_map(check, range(len(todo)), self.workers, spawned, min_items=MIN_PARALLEL)
        for (i, given, _doc), (result, found_problems, parsed, body, learned, read) in zip(todo, results, strict=False):
            problems.extend(found_problems)
            if isinstance(given, Entry):  # read where it was validated
                if read is None:  # (unreadable: its error is among the problems)
                    continue
                self.seen[given.full] = (given.stat, read[0], read[1])
                src = SourceFile(given.kind, given.path, None, read[0])
            else:
                src = given
            for tag, slug in learned.items():
                slugify.remember(tag, TAG_SLUG_LENGTH, slug)
            if body is not None and src.kind == "story":
                self.bodies[src.path] = body
            if parsed is not None:
                cache.put_doc(src.digest, parsed)
            if result is None:
                continue
            found[i] = result
            if src.kind == "story" and result[0] is not None and src.digest:
                known = cache.records.get(salt + src.digest)
                if known is None or known[0].path == src.path:
                    cache.records[salt + src.digest] = result
        stories: list[StoryRecord] = []
        pages: list[PageRecord] = []
        campaigns: list[CampaignRecord] = []
        for result in found:
            if result is None:
                continue
            record, record_problems = result
            if record_problems:
                problems.extend(record_problems)
            if record is None:
                continue
            if isinstance(record, StoryRecord):
                stories.append(record)
            elif isinstance(record, PageRecord):
                pages.append(record)
            else:
                campaigns.append(record)
        check_across(stories, pages, campaigns, problems)
        return Records(tuple(stories), tuple(pages), tuple(campaigns))

    # ---- publishing ------------------------------------------------------------------------

    def publish(self, decisions: Decisions, problems: Problems) -> list[PublicStory]:
        """The public object of every story the gate shows: reused whole when its digest and path
        are unchanged; else made by the gate from its rendered body (reused by the file's digest,
        or rendered now, spread over processes)."""
        cache, config = self.cache, self.config
        stories: list[PublicStory | None] = []
        missing: list[int] = []
        for i, shown in enumerate(decisions.shown):
            path = shown.record.path
            self.shown[path] = (shown, decisions.tag_keys)
            hit = cache.stories.get(shown.digest + path)
            if isinstance(hit, tuple):  # (the keys of its images, the story with them joined: see attach)
                if config.external:  # (an edition that goes outside changes its stories after this: none kept)
                    hit = None
                else:
                    self.attached[path], hit = hit
            stories.append(hit)
            if hit is None:
                missing.append(i)
            else:
                self.cacheable.add(path)
        keys = [body_key(r.record.digest, self.render_salt) for r in decisions.shown]
        # stories reused whole were made from cached front matter and renderings: keep those cached
        cache.still_used([r.record.digest for r in decisions.shown], keys)
        if missing:
            shared: dict[Any, Any] = {}

            def made(i: int, rendered: Rendered) -> None:
                shown = decisions.shown[i]
                story = publish(shown, config, rendered, decisions.tag_keys, problems, shared)
                stories[i] = story
                if not rendered.external:  # (an error: never reused, so it is reported until fixed)
                    cache.stories[shown.digest + shown.record.path] = story
                    self.cacheable.add(shown.record.path)

            # a rendering may be cached for a file not read in this build (a file read now changed,
            # or its body is at hand: no need to load the renderings' file for it)
            todo = []
            for i in missing:
                record = decisions.shown[i].record
                hit_body = cache.bodies.get(keys[i]) if record.digest and record.path not in self.bodies else None
                if hit_body is not None:
                    made(i, hit_body)
                else:
                    todo.append(i)
            markup = self.markup

            def render(i: int) -> tuple[Rendered | None, list[Problem]]:
                record = decisions.shown[i].record
                return _render((config, markup), (record.path, record.digest, self.bodies.get(record.path)))

            def spawned() -> Spawned:  # (workers started afresh read the files not read in this process)
                items = [(r.path, r.digest, self.bodies.get(r.path)) for r in (decisions.shown[i].record for i in todo)]
                return Spawned(_markup, config, _render, items)

            def rendered(n: int, result: tuple[Rendered | None, list[Problem]]) -> None:
                """Each body as it comes: published here while the workers render the next ones.
                (A body that could not be read again has its error among the problems.)"""
                body, found = result
                problems.extend(found)
                if body is not None:
                    cache.put_body(keys[todo[n]], body)
                    made(todo[n], body)

            run_map(render, todo, self.workers, spawned, each=rendered)
        self.bodies.clear()
        out = [s for s in stories if s is not None]
        if config.external:  # (gate.finish reads every body of an edition that goes outside: in one query)
            cache.read_bodies(out)
        return out

    # ---- the index ---------------------------------------------------------------------------

    def related(self, key: str) -> dict[str, tuple[str, ...]] | None:
        found = self.cache.memo.get(key)
        return found  # type: ignore[no-any-return]

    def remember_related(self, key: str, index: Any) -> None:
        if key not in self.cache.memo:
            self.cache.memo[key] = related_ids_of(index)

    # ---- rendering -----------------------------------------------------------------------------

    def bytecode(self) -> jinja2.BytecodeCache:
        """Compiled templates kept in the cache, by config (`compiled_cache`)."""
        return compiled_cache(self.cache.memo, self.config)

    def compiled(self) -> dict[str, Any]:
        """The compiled templates of this config the cache holds (for workers started afresh:
        `compiled_cache`)."""
        prefix = _compiled_prefix(self.config)
        return {k: v for k, v in self.cache.memo.items() if k.startswith(prefix)}

    def template_digests(self, env: jinja2.Environment, names: tuple[str, ...],
                         also: tuple[str, ...]) -> dict[str, str]:
        key = "templates:" + sources_digest(env) + repr((names, also))
        known = self.cache.memo.get(key)
        if known is None:  # (the entry it replaces is dropped when the cache is compacted)
            known = self.cache.memo[key] = template_digests(env, names, also)
        return known  # type: ignore[no-any-return]

    def sms_messages(self, stories: tuple[PublicStory, ...], problems: Problems
                     ) -> tuple[Callable[[], list[SmsMessage]], list[str]]:
        """Each public story's SMS message, oldest story first, reused by the story's digest
        (which covers its text and the config), and a fingerprint of each (of its repr, kept with
        it); no fingerprints at all when a story has no digest (nothing of it is kept). The
        messages come as a function that makes them: they are stored pickled one by one, and
        unpickled only when the SMS files must be made (an edit that changes no message, as a
        title edit does not, needs their fingerprints alone: ~30 ms less to load at 10,000)."""
        memo = self.cache.sms
        made: list[tuple[PublicStory, tuple[tuple[bytes, PublicStory] | None, tuple[Problem, ...]]]] = []
        prints: dict[int, str] = {}
        every = True  # (every story has a digest)
        for s in stories:
            if not s.digest:
                every = False
            hit = memo.get(s.digest) if s.digest else None
            if hit is None:
                m, found = composed(s, self.config)
                hit = (None if m is None else pickle.dumps(m, protocol=pickle.HIGHEST_PROTOCOL), found, fingerprint(m))
                if s.digest:
                    memo[s.digest] = hit
            made.append((s, (None if hit[0] is None else (hit[0], s), hit[1])))
            prints[id(hit[0])] = hit[2]
        held = collect(made, problems)

        def msgs() -> list[SmsMessage]:
            return [self._unpickled(data, story) for data, story in held]

        return msgs, [prints[id(data)] for data, _ in held] if every else []

    def _unpickled(self, data: bytes, story: PublicStory) -> SmsMessage:
        """A stored message; one that cannot be read back (the cache file damaged) is made again
        from its story, and stored anew."""
        try:
            m = pickle.loads(data)
            if isinstance(m, SmsMessage):
                return m
        except Exception:  # noqa: BLE001 - any unpickling error: never trust it, make it again
            pass
        again, found = composed(story, self.config)
        assert again is not None  # (it was made before, from the same story and config)
        self.cache.sms[story.digest] = (pickle.dumps(again, protocol=pickle.HIGHEST_PROTOCOL), found,
                                        fingerprint(again))
        return again

    def sms_jobs(self, stories: tuple[PublicStory, ...], problems: Problems) -> list[Job]:
        """The SMS files (sms.sms_files) of the public stories' messages, keyed by their bytes. The
        files are a function of the messages and the config alone: when the messages are those of
        the last build (by their fingerprints, in order), each file keeps the key it had, and the
        messages are unpickled and the files made again only if one of them has to be written.
        (10,000 per-story files and a CSV of every message: ~65 ms of an edit at 10,000 stories
        that changes no message, as an edit of a title does not.)"""
        msgs, prints = self.sms_messages(stories, problems)
        if not prints:
            return ready(sms_files(msgs(), self.config))
        key = key_of(self.config.digest, CODE_VERSION, prints)
        memo = self.cache.memo
        last = memo.get("sms-files")
        if last is not None and last[0] == key:
            made: dict[str, Output] = {}

            def output(path: str) -> Output:
                if not made:
                    made.update((o.path, o) for o in sms_files(msgs(), self.config))
                return made[path]

            return [Job(path, k, functools.partial(output, path)) for path, k in last[1]]
        jobs = ready(sms_files(msgs(), self.config))
        memo["sms-files"] = (key, tuple((job.path, job.key) for job in jobs))
        return jobs

    # ---- site search -------------------------------------------------------------------------

    def search_shards(self, docs: list[SearchDoc]) -> Shards:
        """The search index's shards for the documents (search.search_docs). Each document's tokens
        (search.doc_tokens) are stored by its identity (`doc_identity`) and made only when not
        found (over the workers when many), and each shard file by its key. When the documents
        are the last build's with a few changed in place and the shard count stays the same, the
        shards of the tokens that changed are made again from their last files (search.shards_patched)
        and the others are kept, by their keys: only the changed documents' old and new tokens and
        those shards are read, and the shard count comes from the last build's number of postings.
        Else every shard is made from every document's tokens (over the workers too). Either way
        the shards are what search.shards_of gives for these documents; a kept one's bytes are read
        only if its file has to be written (`kept_shard`)."""
        memo = self.cache.memo
        ids = [doc_identity(doc) for doc in docs]
        # the last build's (document identities, shard count, postings, each shard's key or "")
        last = memo.get("search-shards")
        made = self._patched(last, ids, docs) if last is not None else None
        if made is None:
            tokens = self._tokens(ids, docs, range(len(docs)))
            made = shards_of(tokens, self.workers), sum(len(w) for _, w in tokens)
        shards, postings = made
        new = {n: bytes_key(data) for n, data in shards.files.items()}
        # (every shard made again, as when a story is added: most are stored already)
        stored = self.cache.search_has([_SHARD + k for k in new.values()]) if len(new) > MAX_PATCHED else set()
        self.cache.put_search_entries({_SHARD + k: shards.files[n] for n, k in new.items()
                                       if _SHARD + k not in stored})
        keys = tuple(new.get(n) or shards.kept.get(n, "") for n in range(shards.count))
        self.cache.search_in_use([*ids, *(_SHARD + k for k in keys if k)])
        if last != (state := (tuple(ids), shards.count, postings, keys)):
            memo["search-shards"] = state
        self._search_made, self._kept = (ids, docs, keys), None
        return shards

    def kept_shard(self, n: int) -> bytes:
        """The bytes of a shard `search_shards` kept by its key (search.index_files' `kept`): read
        from the cache, every kept shard at once the first time one is needed (its file was not in
        the output: deleted by hand, say); if one is not found there, every shard is made again
        from the documents' tokens."""
        if self._kept is None:
            assert self._search_made is not None
            ids, docs, keys = self._search_made
            found = self.cache.search_entries({_SHARD + k for k in keys if k})
            if all(_SHARD + k in found and bytes_key(found[_SHARD + k]) == k for k in keys if k):
                self._kept = {n: found[_SHARD + k] for n, k in enumerate(keys) if k}
            else:  # (in this process alone: it may be a page worker, which cannot start workers of its own)
                self._kept = shards_of(self._tokens(ids, docs, range(len(docs)), workers=1), 1).files
        return self._kept[n]

    def _tokens(self, ids: list[str], docs: list[SearchDoc], numbers: Sequence[int],
                workers: int | None = None) -> list[DocTokens]:
        """The tokens of the documents numbered so: read from the cache, the others made (and stored)
        over up to `workers` processes (the layer's own number unless given)."""
        found = self.cache.search_entries({ids[k] for k in numbers})
        todo = [k for k in numbers if ids[k] not in found]

        def spawned() -> Spawned:
            return Spawned(as_state, None, _doc_tokens, [docs[k] for k in todo])

        made = dict(zip((ids[k] for k in todo), run_map(lambda k: doc_tokens(docs[k]), todo, workers or self.workers,
                                                         spawned, min_items=MIN_PARALLEL), strict=True))
        self.cache.put_search_entries(made)
        found.update(made)
        return [found[ids[k]] for k in numbers]

    def _patched(self, last: tuple[tuple[str, ...], int, int, tuple[str, ...]], ids: list[str],
                 docs: list[SearchDoc]) -> tuple[Shards, int] | None:
        before, count, postings, keys = last
        if len(before) != len(ids):
            return None
        moved = [k for k, (a, b) in enumerate(zip(before, ids, strict=True)) if a != b]
        if len(moved) > MAX_PATCHED:
            return None
        found = self.cache.search_entries({before[k] for k in moved})
        if any(before[k] not in found for k in moved):
            return None  # (not kept: make them all)
        old = [found[before[k]] for k in moved]
        new = self._tokens(ids, docs, moved)
        postings += sum(len(w) for _, w in new) - sum(len(w) for _, w in old)
        if shard_count(postings) != count:
            return None
        changes = list(zip(moved, old, new, strict=True))
        touched = shards_touched(count, changes)
        previous = self.cache.search_entries({_SHARD + keys[n] for n in touched if keys[n]})
        kept = {n: k for n, k in enumerate(keys) if k and n not in touched}
        stored = self.cache.search_has({_SHARD + k for k in kept.values()})
        if len(stored) < len(kept) or not all(_SHARD + keys[n] in previous
                                              and bytes_key(previous[_SHARD + keys[n]]) == keys[n]
                                              for n in touched if keys[n]):
            return None
        files = {n: previous[_SHARD + keys[n]] for n in touched if keys[n]}
        patch = shards_patched(Shards(count, files), len(ids), changes)
        return Shards(count, {n: data for n, data in patch.items() if data}, kept), postings

    # ---- page keys ---------------------------------------------------------------------------

    def page_jobs(self, plan: PagePlan, index: SiteIndex, specs: tuple[FeedSpec, ...]) -> list[Job]:
        """Every page as a Job, as pages.page_jobs makes them, but a named page (a story page or a
        listing: pages.Recipe) keeps the key the last build gave it when the site key, the
        templates, the shape of the index (`index_shape`) are those it was keyed with and every
        story its call held still has the digest it had: its call would be the same, so its key
        is. Only the pages holding an edited story are built and hashed again."""
        memo = self.cache.memo
        frame = key_of(plan.site_key, sorted(plan.tpl.items()), index_shape(index, specs))
        current = {s.digest for s in index.stories if s.digest}
        names = [name for name, _ in plan.recipes if name is not None]
        usable = _digests_seen(index) and len(set(names)) == len(names)
        jobs: list[Job] = []
        for name, make_call in plan.recipes:
            if name is None or not usable:
                jobs.append(plan.keyed(make_call())[0])
                continue
            entry = memo.get("page\x1f" + name)
            if entry is not None and entry[0] == frame and current.issuperset(entry[3]):
                jobs.append(plan.renderer.known(entry[1], entry[2], make_call))
                continue
            job, text = plan.keyed(make_call())
            held = tuple(sorted(set(_STORY_DIGEST.findall(text))))
            new = (frame, job.path, job.key, held)
            if entry != new:
                memo["page\x1f" + name] = new
            jobs.append(job)
        return jobs + plan.extra

    def read_bodies(self, stories: Sequence[PublicStory], paths: Collection[str] | None) -> None:
        """The bodies that the cache held back (model.PublicStory) of the stories whose own pages
        are among `paths` (about to be made), read in one go rather than one by one as each page
        is made; `paths` None: of every story (for workers started afresh, which are given them all)."""
        self.cache.read_bodies([s for s in stories if paths is None or urls.file_of(s.url) in paths])

    # ---- feeds ---------------------------------------------------------------------------------

    def feed_entries(self, parts: FeedParts, specs: tuple[FeedSpec, ...], rendered: Collection[str]) -> None:
        """Give `parts` the entries that earlier builds made of the stories of the feeds about to be
        made again (`rendered`: the paths of the files to be made), by their keys (FeedParts.key:
        the story's digest, the config, the campaigns' names, the code and library versions): a
        one-story edit makes a dozen feeds of 50 entries each again, and makes only that story's
        entries. The entries of every feed of the table are kept in the cache, the others dropped
        in time."""
        self.cache.feeds_in_use(parts.keys(specs))
        again = [spec for spec in specs if spec.rss in rendered or spec.atom in rendered or spec.json in rendered]
        if again:
            parts.given(dict(_unpacked(self.cache.feed_entries(parts.keys(again)))))

    def keep_feed_entries(self, made: Mapping[str, bytes]) -> None:
        """Store the entries made by this build (`feed_entries_made`, in whichever process made them)."""
        self.cache.put_feed_entries(made)

    # ---- images --------------------------------------------------------------------------------

    def images(self, wanted: dict[str, Path], settings: ImageSettings, store: ImageStore
               ) -> tuple[dict[str, tuple[str, Processed]], dict[str, tuple[str, str]], int]:
        """Site path → (key, the web sizes made) for every image wanted, site path → (code,
        detail) for those that cannot be published, and how many images were processed now. A file
        whose size, times and inode are as before keeps its digest unread; a key whose files are in
        the store is not made again."""
        memo, salt = self.cache.memo, settings_key(settings)
        made: dict[str, tuple[str, Processed]] = {}
        todo: list[tuple[Path, str, str]] = []
        for src, full in sorted(wanted.items()):
            try:
                st = full.stat()
                seen = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
                known = memo.get("image-file\x1f" + str(full))
                if known is None or known[0] != seen:
                    known = (seen, hashlib.blake2b(full.read_bytes(), digest_size=16).hexdigest())
                    memo["image-file\x1f" + str(full)] = known
            except OSError:
                continue  # (gone since discover: the reference is reported by the check of links)
            key = hashlib.blake2b(f"{known[1]}|{salt}".encode(), digest_size=16).hexdigest()
            hit = memo.get("image\x1f" + key)
            if hit is not None and store.folder(key).is_dir():
                made[src] = (key, hit)
                continue
            loaded = store.load(key)
            if loaded is not None:
                memo["image\x1f" + key] = loaded
                made[src] = (key, loaded)
            else:
                todo.append((full, src, key))
        bad: dict[str, tuple[str, str]] = {}
        for (_full, src, key), (result, failed) in zip(todo, store.make(todo, settings, self.workers), strict=True):
            if result is not None:
                memo["image\x1f" + key] = result
                made[src] = (key, result)
            elif failed is not None:
                bad[src] = failed
        if not bad:
            store.keep_only({key for key, _ in made.values()})
        return made, bad, len(todo)

    # ---- images joined to the public objects ---------------------------------------------------

    def _gate_digest(self, source: str) -> str:
        """The digest the gate gave the story in `source` (gate.story_digest: its file, path and
        config), whether its public object came with its images joined or not; "" if none."""
        shown = self.shown.get(source)
        return shown[0].digest if shown is not None else ""

    def story_media(self, gate: GateResult, problems: Problems) -> dict[str, StoryMedia]:
        """media.story_media of every story (by source file), reused by the story's gate digest."""
        memo, out = self.cache.memo, {}
        for s in gate.stories:
            digest = self._gate_digest(s.source)
            hit = memo.get("media\x1f" + digest) if digest else None
            if hit is None:
                hit = story_media(self._unattached(s, problems))
                if digest:
                    memo["media\x1f" + digest] = hit
            out[s.source] = hit
        return out

    def attach(self, gate: GateResult, table: Mapping[str, WebImage], per_story: Mapping[str, StoryMedia],
               problems: Problems) -> GateResult:
        """The images joined to the stories (media.attach_story) and to the pages and campaigns: a
        story reused with its images already joined (publish) is kept when the images it shows have
        the keys they had; every other story is joined now, and kept in the cache so (in place of
        the story without them: `_unattached` makes that again when needed)."""
        stories = []
        renames = renamed(table)  # (once: see media.renamed)
        for given in gate.stories:
            known = per_story[given.source]
            keys = shown_keys(known, table)
            then = self.attached.get(given.source)
            if then is not None and then == keys:
                stories.append(given)
                continue
            s = self._unattached(given, problems)
            made = attach_story(s, table, known, renames)
            stories.append(made)
            if made is not s and s.source in self.cacheable and self._gate_digest(s.source):
                self.cache.stories[self._gate_digest(s.source) + s.source] = (keys, made)
        return attach_others(dataclasses.replace(gate, stories=tuple(stories)), table, renames)

    def _unattached(self, s: PublicStory, problems: Problems) -> PublicStory:
        """A story as the gate publishes it, before media.attach_story: itself, or for a story
        reused with its images joined, published again from its rendered body."""
        if s.source not in self.attached:
            return s
        shown, tag_keys = self.shown[s.source]
        record = shown.record
        rendered = self.cache.bodies.get(body_key(record.digest, self.render_salt))
        if rendered is None:
            rendered, found = _render((self.config, self.markup), (record.path, record.digest, None))
            problems.extend(found)
            if rendered is None:  # (the file changed under the build: its error is among the problems)
                return s
        del self.attached[s.source]
        return publish(shown, self.config, rendered, tag_keys, Problems(), {})

    def line_in(self, source: str, needle: str, start: int = 1) -> int | None:
        """sources.line_naming, reused by the gate digest of the story in `source` (which covers its
        text); looked up afresh for a page or campaign."""
        digest = self._gate_digest(source)
        if not digest:
            return line_naming(self.config, source, needle, start)
        key = f"line\x1f{digest}\x1f{needle}" + (f"\x1f{start}" if start != 1 else "")
        hit = self.cache.memo.get(key)
        if hit is None:
            hit = self.cache.memo[key] = (line_naming(self.config, source, needle, start),)
        return hit[0]  # type: ignore[no-any-return]

    # ---- attachments -------------------------------------------------------------------------------

    def attachments(self, assets: Sequence[Asset], problems: Problems) -> None:
        """sources.attachment_problems of each attachment published, reused while its file (name,
        size, times, inode) and the public numbers are as before; the rest spread over processes
        (a long PDF is a second of work)."""
        allowed = frozenset(self.config.public_numbers)
        salt = repr(sorted(allowed))
        keys = [f"attach\x1f{a.source}\x1f{a.size}\x1f{a.mtime_ns}\x1f{a.more}\x1f{salt}" for a in assets]
        found = [self.cache.memo.get(k) for k in keys]
        todo = [i for i, hit in enumerate(found) if hit is None]
        if todo:
            root = self.config.root
            items = [(str(assets[i].source), _shown(assets[i], root)) for i in todo]
            made = run_map(lambda item: _attachment((allowed,), item), items, self.workers,
                           lambda: Spawned(as_state, (allowed,), _attachment, items), min_items=4)
            for i, result in zip(todo, made, strict=True):
                found[i] = self.cache.memo[keys[i]] = tuple(result)
        for hit in found:
            problems.extend(hit or ())

    # ---- private values in related public text ---------------------------------------------------

    def related_private(self, records: Records, result: GateResult, problems: Problems) -> None:
        """gate.private_leaks of every gate.related_texts item. A page's or campaign's answer is kept
        story by story (reused by its key and that story's digest); a story's in a series, as one
        answer for the whole series (reused by its key and every member's digest: making its texts
        plain is the cost, paid once either way). A private block changed, or a follow-up, page or
        campaign about the exemplar, is looked at again. A record reused from the
        cache holds no private values (records.cacheable): its file is read again for them, when
        needed (one story edited: its file alone, though a campaign names five hundred)."""
        items = related_texts(records, result, self.config)
        if not items:
            return
        by_path = {r.path: r for r in records.stories}
        line = error_lines(records, self.line_in)
        needles: dict[str, Sequence[tuple[str, str]]] = {}

        def needles_of(path: str) -> Sequence[tuple[str, str]]:
            if path not in needles:
                record = by_path[path]
                needles[path] = record.needles if path in self.validated else self._needles(record, problems)
            return needles[path]

        def leaks(item: Related, paths: tuple[str, ...], normalised: Callable[[str], str]) -> tuple[Problem, ...]:
            wanted = {p: needles_of(p) for p in (*paths, *((item.own,) if item.own else ()))}
            return tuple(private_leaks(item, wanted, line, paths, normalised))

        for item in items:
            normalised = functools.cache(normalise)  # (this item's texts normalised once, not once for each story)
            if item.own:  # a story of a series: one entry for the series, not one for each other story
                # (an edited story's own entry needs every other story's values anyway)
                members = "\x1f".join(f"{p}={by_path[p].digest}" for p in (item.own, *item.stories))
                digest = hashlib.blake2b(members.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
                key = f"private\x1f{item.key}\x1f{digest}"
                hit = self.cache.memo.get(key)
                if hit is None:
                    hit = self.cache.memo[key] = leaks(item, item.stories, normalised)
                problems.extend(hit)
                continue
            flat: str | None = None
            for path in item.stories:  # a page or campaign: its stories one by one (a campaign of
                key = f"private\x1f{item.key}\x1f{path}={by_path[path].digest}"  # 500: one read again)
                hit = self.cache.memo.get(key)
                if hit is None:
                    if flat is None:  # (private_leaks' own first look, once for all the item's stories)
                        flat = normalised("\x00".join(text for _f, text in item.texts))
                    found = any(value and value in flat for _label, value in needles_of(path))
                    hit = self.cache.memo[key] = leaks(item, (path,), normalised) if found else ()
                problems.extend(hit)

    def _needles(self, record: StoryRecord, problems: Problems) -> Sequence[tuple[str, str]]:
        """The private values of a story whose record came from the cache, from its file (which
        must still be the file validated: read_again refuses one that changed since; its warnings
        were given with its record)."""
        src = _read_validated(self.config, record.path, record.digest, problems)
        doc = parse(src, Problems()) if src is not None and src.text is not None else None
        private = doc.meta.get("private") if doc is not None else None
        return tuple(private_needles(private)) if isinstance(private, dict) else ()

    # ---- the end -------------------------------------------------------------------------------

    def finish(self) -> None:
        """What discover saw, for the next build's `read`; notices of a cache that was discarded."""
        files = self.cache.files
        for full, seen in self.seen.items():
            if files.get(full) != seen:
                files[full] = seen

    @property
    def page_deps(self) -> dict[str, tuple[str, ...]]:
        """Path → the story lists its last rendering read (Output.deps). (Read with `get`, so the
        cache keeps it when it compacts; never changed in place, see remember_deps.)"""
        return self.cache.memo.get("page-deps") or {}

    def remember_deps(self, outputs: dict[str, tuple[str, ...]]) -> None:
        """Store what fresh renderings read: a new dict when anything changed, so the cache's
        journal (which writes entries whose value is a new object) saves it."""
        previous = self.page_deps
        updated = dict(previous)
        for path, deps in outputs.items():
            if deps:
                updated[path] = deps
            else:
                updated.pop(path, None)
        if updated != previous or "page-deps" not in self.cache.memo:
            self.cache.memo["page-deps"] = updated


# what checking one file gives: ((record, its problems) or None, the problems of reading and
# parsing, front matter to cache, the Markdown body when it is rendered in this process, the pinyin
# of its tags, and for a file given as its Entry (read here) its digest and the problems of reading
# it, or None if it could not be read)
Checked = tuple[Any, list[Problem], Any, str | None, dict[str, str], tuple[str, tuple[Problem, ...]] | None]


def feed_entries_made(parts: FeedParts) -> dict[str, bytes]:
    """The entries `parts` made in this process since it was last asked, as the cache stores them
    (compressed: ~7.5 KB of XML or JSON each, ~4 KB in the cache; ~6,000 of them whatever the
    site's size, as the feed table holds 50 stories a feed), for `Incremental.keep_feed_entries`."""
    return {k: zlib.compress(v.encode("utf-8"), 1) for k, v in parts.take_made().items()}


def _unpacked(stored: Mapping[str, bytes]) -> Iterator[tuple[str, str]]:
    """The entries `feed_entries_made` packed; one that does not unpack (its checksum held, so
    not damage by accident) is left out, and made again."""
    for key, packed in stored.items():
        try:
            yield key, zlib.decompress(packed).decode("utf-8")
        except (zlib.error, UnicodeDecodeError, TypeError):
            continue


def _check(context: tuple[SiteConfig, dict[str, int], Slugs, bool],
           item: tuple[SourceFile | Entry, RawDoc | None]) -> Checked:
    """Read one file if it comes as its Entry, parse it (unless its front matter is known) and
    validate it. (A module-level function: a spawned worker runs it too.)"""
    config, assets, slugify, inline = context
    given, doc = item
    mine = Problems()
    read: tuple[str, tuple[Problem, ...]] | None = None
    if isinstance(given, Entry):
        found = read_entry(given, mine)
        if found is None:
            return None, list(mine.items), None, None, {}, None
        src, read = found, (found.digest, tuple(mine.items))
    else:
        src = given
    parsed = None
    if doc is None:
        doc = parse(src, mine)
        if doc is not None and len(mine.items) == (len(read[1]) if read else 0) and "private" not in doc.meta \
                and src.text is not None:
            parsed = (doc.meta, doc.body_line, len(src.text) - len(doc.body))
    if doc is None:
        return None, list(mine.items), None, None, {}, read
    checked = Problems()
    learned: dict[str, str] = {}
    if src.kind == "story":
        record: Any = story_record(doc, config, assets, checked, slugify)
        # the gate keys tags by their pinyin: made here, in the worker that has loaded pypinyin for
        # the title's slug anyway, so that the main process need not load its dictionaries (~50 MB
        # shared by every page worker a build forks later)
        for tag in record.tags if record is not None else ():
            learned[tag] = tag_slug(tag, slugify)
    elif src.kind == "page":
        record = page_record(doc, config, checked)
    else:
        record = campaign_record(doc, config, checked)
    return (record, tuple(checked.items)), list(mine.items), parsed, doc.body if inline else None, learned, read


def _attachment(context: tuple[frozenset[str]], item: tuple[str, str]) -> list[Problem]:
    """One attachment checked (a module-level function: a spawned worker runs it too)."""
    (allowed,) = context
    path, shown = item
    return attachment_problems(path, shown, allowed)


def _shown(asset: Asset, root: Path) -> str:
    """An attachment's name in messages: relative to the site folder (content/files/a.pdf)."""
    try:
        return asset.source.relative_to(root).as_posix()
    except ValueError:
        return asset.source.as_posix()


def _markup(config: SiteConfig) -> tuple[SiteConfig, Markup]:
    """A spawned worker's state for rendering bodies: the config and its own Markdown renderer."""
    return config, Markup(config.base_path, config.summary_length)


def _render(state: tuple[SiteConfig, Markup],
            item: tuple[str, str, str | None]) -> tuple[Rendered | None, list[Problem]]:
    """One story's body rendered: (path, digest, its Markdown body if it is at hand, else None:
    read from the file, which must still be the file validated)."""
    config, markup = state
    path, digest, text = item
    mine = Problems()
    if text is None:  # not read in this process (a cold build checks files in workers)
        text = _body_of(config, path, digest, mine)
    return (render_body(text, markup) if text is not None else None), mine.items


def _read_validated(config: SiteConfig, path: str, digest: str, problems: Problems) -> SourceFile | None:
    """A story file read again, which must be the file validated with this digest (read_again
    refuses one that changed since). Only its errors are given: its warnings were given when it
    was validated."""
    scratch = Problems()
    src = read_again(config, SourceFile("story", path, None, digest), scratch)
    problems.extend(p for p in scratch.items if p.is_error)
    return src


def _body_of(config: SiteConfig, path: str, digest: str, problems: Problems) -> str | None:
    """The Markdown body of the file validated with this digest (read_again refuses a file that
    changed since), split off without reading its front matter again: the file is one that
    frontmatter.parse accepted, and body_of splits it at the same line. (Its warnings, characters
    removed say, were given when it was validated: only an error is given here, the file gone or
    changed.)"""
    src = _read_validated(config, path, digest, problems)
    if src is None or src.text is None:
        return None
    body = body_of(src.text)
    if body is None:  # (never for a digest that was validated; an error rather than a story left out)
        problems.error(path, None, None, _("the file changed while the site was being built"), _("run the build again"))
    return body


def index_shape(index: SiteIndex, specs: tuple[FeedSpec, ...]) -> str:
    """A hash of the index and the feed table with each story standing for itself by its id only:
    which stories are where (in order, in every term, feed, neighbour, related and series entry),
    and everything else whole (terms and feeds but their stories, pages, campaigns, withdrawn
    addresses). Every field of the index counts, whatever it is (a value this does not know is
    taken by its repr, which names its stories' digests: the shape then changes with any edit,
    and nothing is reused)."""
    shape = _Shape(index.stories)
    parts: list[tuple[str, Any]] = [("ids", tuple([s.id for s in index.stories]))]
    parts += [(f.name, shape.of(getattr(index, f.name))) for f in dataclasses.fields(index)]
    parts.append(("specs", shape.of(specs)))
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=5)
    pickler.fast = True  # (no memo: the bytes depend on the values only, not on which objects are shared)
    pickler.dump(parts)
    return hashlib.blake2b(out.getbuffer(), digest_size=16).hexdigest()


_STORY_ONLY = {PublicStory}


class _Shape:
    """Values as plain strings, numbers and tuples: a story of the index by its place in
    `index.stories` (whose ids the shape holds, in order), any other story by its id."""

    def __init__(self, stories: tuple[PublicStory, ...]):
        # (by the object, not its attributes: reading an attribute of 100,000 stories scattered in
        # memory costs more than the rest of the walk)
        self.place = {id(s): i for i, s in enumerate(stories)}
        self.seen: dict[int, Any] = {}  # a term's shape by the term (term_of holds the terms again)

    def stories(self, value: tuple[PublicStory, ...] | list[PublicStory]) -> tuple[Any, ...]:
        places = tuple(map(self.place.get, map(id, value)))
        return places if None not in places else tuple([s.id for s in value])

    def of(self, value: Any) -> Any:
        kind = type(value)
        if kind is PublicStory:
            place = self.place.get(id(value))
            return place if place is not None else value.id
        if kind is tuple or kind is list:
            if set(map(type, value)) <= _STORY_ONLY:
                return self.stories(value)
            return tuple([self.of(v) for v in value])
        if kind is dict:
            return self._by_story(value) or tuple([(self.of(k), self.of(v)) for k, v in value.items()])
        if kind is str or value is None:
            return value
        if kind is Term or kind is FeedSpec:  # (their repr leaves out the stories)
            found = self.seen.get(id(value))
            if found is None:
                found = self.seen[id(value)] = (repr(value), self.stories(value.stories))
            return found
        return repr(value)

    def _by_story(self, value: dict[Any, Any]) -> tuple[Any, ...] | None:
        """A dict from ids (strings) to a story (or None) each, or to a tuple of stories each, as
        the index's neighbours and related stories are, in bulk: its keys, and the places of its
        stories in one flat tuple (with each tuple's length); None for any other dict, or one
        naming a story outside `index.stories` (the walk above takes it entry by entry)."""
        keys = tuple(value)
        if not keys or set(map(type, keys)) != {str}:
            return None
        values = tuple(value.values())
        kinds = set(map(type, values))
        if kinds <= {PublicStory, type(None)}:
            places = tuple(map(self.place.get, map(id, values)))
            if any(values[n] is not None for n, p in enumerate(places) if p is None):
                return None
            return ("by-story", keys, places)
        if kinds == {tuple}:
            flat = tuple(itertools.chain.from_iterable(values))
            if not set(map(type, flat)) <= _STORY_ONLY:
                return None
            places = tuple(map(self.place.get, map(id, flat)))
            if None in places:
                return None
            return ("by-stories", keys, tuple(map(len, values)), places)
        return None


def _digests_seen(index: SiteIndex) -> bool:
    """A story in a page key's text shows its digest, as `_STORY_DIGEST` finds it (else no page
    key is reused)."""
    if not index.stories:
        return False
    s = index.stories[0]
    return bool(s.digest) and _STORY_DIGEST.findall(repr((s, "x"))) == [s.digest]


def _doc_tokens(_: None, doc: SearchDoc) -> DocTokens:
    """search.doc_tokens in a spawned worker."""
    return doc_tokens(doc)


def compiled_cache(store: dict[str, Any], config: SiteConfig) -> jinja2.BytecodeCache:
    """Jinja's bytecode cache over compiled templates (`Incremental.compiled`), kept by the config
    they were compiled with as well as by their source. Jinja checks a compiled template against its
    source's checksum and the Python version only, but what it compiled may hold values of the
    config: its optimiser works out a filter given a constant when it compiles (`{{ '' | abs }}` is
    the site's address, written into the code), so code compiled for one address, or for another
    edition, would print that address."""
    return _MemoBytecode(store, _compiled_prefix(config))


def _compiled_prefix(config: SiteConfig) -> str:
    return f"jinja:{config.digest}:"


class _MemoBytecode(jinja2.BytecodeCache):
    def __init__(self, store: dict[str, Any], prefix: str):
        self.store, self.prefix = store, prefix

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = self.store.get(self.prefix + bucket.key)
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.store[self.prefix + bucket.key] = bucket.bytecode_to_string()
