"""What a published video or sound file must not carry: where it was recorded, and by whom.

Phones and cameras write metadata into MP4, MOV, M4A and 3GP files (the ISO base media format):
the place it was filmed (`©xyz`, `loci`, `com.apple.quicktime.location.ISO6709`), the phone's make
and model, the owner, the software, XMP packets, a camera maker's own boxes (a thumbnail with its
EXIF, GPS included); dash cameras, action cameras and some phones add a track of timed data beside
the picture and sound (GPS positions second by second, camera motion).

`clear(f)` turns every box that holds it into a `free` box of the same size, zeroed, in place:
every offset in the file stays right, so the video plays as before; a track of timed data is
cleared with its samples. Pure functions over an open file; what is cleared is what
`to_clear(f)` finds:

- at the top level of the file, every box but those a player needs (`ftyp`, `moov`, `mdat`, the
  boxes of a fragmented or streamed file): `meta`, `udta`, `uuid` (XMP, a camera maker's), a dash
  camera's `gps `, any other;
- in `moov` and in each track: `udta`, `meta`, `uuid` and other metadata boxes;
- a track whose handler is not picture, sound, subtitles or timecode (`meta`, `camm`: timed
  data), and the bytes of its samples in `mdat`;
- the payload of every `free` and `skip` box (an editor may leave an old `moov` in one).

A file that cannot be read as such (a box that runs past the end, a table that points outside
the file) raises BadMedia: it is not published, since what it holds cannot be known.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

# the suffixes of the ISO base media format (and QuickTime, its ancestor)
ISO_SUFFIXES = frozenset({".mp4", ".m4v", ".m4a", ".m4b", ".mov", ".qt", ".3gp", ".3g2", ".f4v", ".f4a"})

# top-level boxes a player needs: every other one is cleared
_TOP_KEPT = frozenset({b"ftyp", b"styp", b"moov", b"mdat", b"moof", b"mfra", b"sidx", b"ssix", b"prft",
                       b"emsg", b"pdin", b"wide", b"free", b"skip"})
# boxes of metadata inside `moov` and a track
_METADATA = frozenset({b"udta", b"meta", b"uuid", b"XMP_", b"ID32", b"cprt", b"name", b"loci", b"\xa9xyz"})
_PADDING = frozenset({b"free", b"skip"})
# the handlers of tracks a reader sees or hears (picture, sound, subtitles, timecode, hints)
_MEDIA_HANDLERS = frozenset({b"vide", b"soun", b"auxv", b"pict", b"sbtl", b"subt", b"text", b"clcp", b"tmcd",
                             b"hint"})
_CHUNK = 1 << 20


class BadMedia(Exception):
    """A file that cannot be read as an ISO base media file (what it holds cannot be known)."""


# what to clear: (offset, length, header): a whole box when header > 0 (its type becomes `free`,
# the `length - header` bytes after its header are zeroed), else `length` bytes from `offset`
Span = tuple[int, int, int]


def _boxes(f: BinaryIO, start: int, end: int) -> Iterator[tuple[bytes, int, int, int]]:
    """(type, offset, header length, size) of each box between start and end."""
    pos = start
    while pos < end:
        if end - pos < 8:
            raise BadMedia("a box header runs past its end")
        f.seek(pos)
        head = f.read(8)
        if len(head) < 8:
            raise BadMedia("the file ends inside a box header")
        size, kind = struct.unpack(">I4s", head)
        header = 8
        if size == 1:
            wide = f.read(8)
            if len(wide) < 8:
                raise BadMedia("the file ends inside a box header")
            size, header = struct.unpack(">Q", wide)[0], 16
        elif size == 0:  # (to the end of what holds it)
            size = end - pos
        if size < header or pos + size > end:
            raise BadMedia(f"the box {kind!r} at {pos} runs past its end")
        yield kind, pos, header, size
        pos += size


def _children(f: BinaryIO, box: tuple[bytes, int, int, int]) -> list[tuple[bytes, int, int, int]]:
    _kind, pos, header, size = box
    return list(_boxes(f, pos + header, pos + size))


def _find(f: BinaryIO, box: tuple[bytes, int, int, int], *path: bytes) -> tuple[bytes, int, int, int] | None:
    for kind in path:
        found = next((b for b in _children(f, box) if b[0] == kind), None)
        if found is None:
            return None
        box = found
    return box


def _payload(f: BinaryIO, box: tuple[bytes, int, int, int], limit: int | None = None) -> bytes:
    _kind, pos, header, size = box
    f.seek(pos + header)
    want = size - header if limit is None else min(limit, size - header)
    data = f.read(want)
    if len(data) < want:
        raise BadMedia("the file ends inside a box")
    return data


def _handler(f: BinaryIO, trak: tuple[bytes, int, int, int]) -> bytes | None:
    hdlr = _find(f, trak, b"mdia", b"hdlr")
    if hdlr is None:
        return None
    data = _payload(f, hdlr, 12)  # version and flags, pre_defined, handler_type
    return data[8:12] if len(data) == 12 else None


def _samples(f: BinaryIO, trak: tuple[bytes, int, int, int], file_size: int) -> list[Span]:
    """Where a track's samples are: from its sample sizes (stsz), chunk offsets (stco, co64) and
    samples per chunk (stsc)."""
    stbl = _find(f, trak, b"mdia", b"minf", b"stbl")
    if stbl is None:
        return []
    tables = {b[0]: b for b in _children(f, stbl)}
    if b"stsz" not in tables or not (b"stco" in tables or b"co64" in tables) or b"stsc" not in tables:
        return []
    stsz = _payload(f, tables[b"stsz"])
    fixed, count = struct.unpack(">II", stsz[4:12])
    sizes = [fixed] * count if fixed else list(struct.unpack(f">{count}I", stsz[12:12 + 4 * count]))
    if len(sizes) != count:
        raise BadMedia("a sample table is shorter than it says")
    if b"co64" in tables:
        co = _payload(f, tables[b"co64"])
        (n,) = struct.unpack(">I", co[4:8])
        offsets = list(struct.unpack(f">{n}Q", co[8:8 + 8 * n]))
    else:
        co = _payload(f, tables[b"stco"])
        (n,) = struct.unpack(">I", co[4:8])
        offsets = list(struct.unpack(f">{n}I", co[8:8 + 4 * n]))
    stsc = _payload(f, tables[b"stsc"])
    (m,) = struct.unpack(">I", stsc[4:8])
    runs = [struct.unpack(">III", stsc[8 + 12 * i:20 + 12 * i]) for i in range(m)]  # first chunk, per chunk, desc.
    spans: list[Span] = []
    sample = 0
    for i, (first, per_chunk, _desc) in enumerate(runs):
        last = runs[i + 1][0] - 1 if i + 1 < len(runs) else len(offsets)
        for chunk in range(first, last + 1):
            if chunk < 1 or chunk > len(offsets):
                raise BadMedia("a sample table points to a chunk that is not there")
            pos = offsets[chunk - 1]
            for _ in range(per_chunk):
                if sample >= len(sizes):
                    break
                if pos + sizes[sample] > file_size:
                    raise BadMedia("a sample lies past the end of the file")
                spans.append((pos, sizes[sample], 0))
                pos += sizes[sample]
                sample += 1
    return spans


def to_clear(f: BinaryIO) -> list[Span]:
    """The byte ranges of an ISO base media file to clear (see the module docstring): each box
    from its type on (it becomes `free`), each sample of a data track."""
    try:
        f.seek(0, 2)
        size = f.tell()
        out: list[Span] = []
        for box in _boxes(f, 0, size):
            kind, pos, header, length = box
            if kind in _PADDING:
                out.append((pos, length, header))
            elif kind not in _TOP_KEPT:
                out.append((pos, length, header))
            elif kind == b"moov":
                for child in _children(f, box):
                    ckind, cpos, cheader, clength = child
                    if ckind in _PADDING or ckind in _METADATA:
                        out.append((cpos, clength, cheader))
                    elif ckind == b"trak":
                        handler = _handler(f, child)
                        if handler not in _MEDIA_HANDLERS:  # timed data (GPS, motion), or no handler
                            out.append((cpos, clength, cheader))
                            out += _samples(f, child, size)
                            continue
                        for inner in _children(f, child):
                            ikind, ipos, iheader, ilength = inner
                            if ikind in _PADDING or ikind in _METADATA:
                                out.append((ipos, ilength, iheader))
        return out
    except struct.error as exc:
        raise BadMedia(f"a table is shorter than it says ({exc})") from None


def clear(f: BinaryIO) -> int:
    """Clear, in place, what `to_clear` finds; the number of ranges cleared. `f` open for reading
    and writing."""
    spans = to_clear(f)
    for pos, length, header in spans:
        if header:
            f.seek(pos + 4)
            f.write(b"free")
        _zero(f, pos + header, length - header)
    return len(spans)


def _zero(f: BinaryIO, pos: int, length: int) -> None:
    f.seek(pos)
    while length > 0:
        n = min(length, _CHUNK)
        f.write(bytes(n))
        length -= n
