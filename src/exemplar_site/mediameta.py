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

- in the file, `moov`, each track, `mdia`, `minf`, `moof` and `traf`: every box but those a
  player needs (`_KEPT`): `udta`, `meta`, `uuid` (XMP, a camera maker's), a dash camera's `gps `,
  `©mak`, any other, at whatever depth of those it is;
- every track but picture and sound (subtitles and text, where dash cameras write GPS; timed
  metadata; timecode), with the bytes of its samples in `mdat`;
- a dash camera's GPS blocks written into `mdat` between the frames (`freeGPS `);
- the payload of every `free`, `skip` and `wide` box (an editor may leave an old `moov` in one).

A track of data in a fragmented file (its samples in `moof` fragments) cannot be cleared so, and
raises BadMedia, as does a file that cannot be read as such (a box that runs past the end, a
table that points outside the file): it is not published, since what it holds cannot be known.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

# the suffixes of the ISO base media format (and QuickTime, its ancestor)
ISO_SUFFIXES = frozenset({".mp4", ".m4v", ".m4a", ".m4b", ".mov", ".qt", ".3gp", ".3gpp", ".3g2", ".3gp2", ".f4v",
                          ".f4a", ".dvb"})

# what a player needs, container by container: every other box in them is cleared (metadata:
# udta, meta, uuid, XMP_, a dash camera's `gps `, a maker's own boxes…); boxes in other containers
# (stbl, mvex, the sample entries) are left as they are
_KEPT = {
    b"": frozenset({b"ftyp", b"styp", b"moov", b"mdat", b"moof", b"mfra", b"sidx", b"ssix", b"prft", b"pdin"}),
    b"moov": frozenset({b"mvhd", b"trak", b"mvex", b"iods"}),
    b"trak": frozenset({b"tkhd", b"mdia", b"edts", b"tref", b"trgr"}),
    b"mdia": frozenset({b"mdhd", b"hdlr", b"minf", b"elng"}),
    b"minf": frozenset({b"vmhd", b"smhd", b"hmhd", b"nmhd", b"sthd", b"gmhd", b"dinf", b"stbl"}),
    b"moof": frozenset({b"mfhd", b"traf", b"pssh"}),
    b"traf": frozenset({b"tfhd", b"tfdt", b"trun", b"sbgp", b"sgpd", b"subs", b"saiz", b"saio", b"senc"}),
}
_PADDING = frozenset({b"free", b"skip", b"wide"})
# the handlers of the tracks a viewer sees or hears: every other track (subtitles and text, where
# dash cameras write their GPS; timed metadata; timecode) is cleared with its samples
_MEDIA_HANDLERS = frozenset({b"vide", b"soun", b"auxv"})
_CHUNK = 1 << 20
_GPS_BLOCK = b"freeGPS "  # a dash camera's GPS block inside mdat (Novatek), not in any track


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
    """Where a track's samples are, chunk by chunk: from its sample sizes (stsz or stz2), chunk
    offsets (stco or co64) and samples per chunk (stsc)."""
    stbl = _find(f, trak, b"mdia", b"minf", b"stbl")
    if stbl is None:
        return []
    tables = {b[0]: b for b in _children(f, stbl)}
    if not (b"stsz" in tables or b"stz2" in tables) or not (b"stco" in tables or b"co64" in tables) \
            or b"stsc" not in tables:
        return []
    if b"stsz" in tables:
        stsz = _payload(f, tables[b"stsz"])
        fixed, count = struct.unpack(">II", stsz[4:12])
        if fixed:
            if count > file_size:
                raise BadMedia("a sample table counts more samples than the file has bytes")
            sizes: list[int] | None = None
        else:
            sizes = list(struct.unpack(f">{count}I", stsz[12:12 + 4 * count]))
    else:  # (compact sizes: 4, 8 or 16 bits each)
        stz2 = _payload(f, tables[b"stz2"])
        bits, count = stz2[7], struct.unpack(">I", stz2[8:12])[0]
        fixed = 0
        if bits == 16:
            sizes = list(struct.unpack(f">{count}H", stz2[12:12 + 2 * count]))
        elif bits == 8:
            sizes = list(stz2[12:12 + count])
        elif bits == 4:
            sizes = [n for byte in stz2[12:12 + (count + 1) // 2] for n in (byte >> 4, byte & 15)][:count]
        else:
            raise BadMedia("a sample table of an unknown kind")
    if sizes is not None and len(sizes) != count:
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
            if chunk < 1 or chunk > len(offsets) or sample >= count:
                if sample >= count:
                    break
                raise BadMedia("a sample table points to a chunk that is not there")
            n_here = min(per_chunk, count - sample)
            length = fixed * n_here if sizes is None else sum(sizes[sample:sample + n_here])
            if offsets[chunk - 1] + length > file_size:
                raise BadMedia("a sample lies past the end of the file")
            spans.append((offsets[chunk - 1], length, 0))
            sample += n_here
    return spans


def _inside(f: BinaryIO, box: tuple[bytes, int, int, int], size: int, out: list[Span]) -> bool:
    """Clear what `box` (a container of `_KEPT`) holds but a player's boxes, going down into those
    that are containers too; a track of data is cleared whole, with its samples. True when such a
    track was cleared."""
    cleared = False
    kept = _KEPT[box[0]]
    for child in _children(f, box):
        kind, pos, header, length = child
        if kind in _PADDING or kind not in kept:
            out.append((pos, length, header))
        elif kind == b"trak" and _handler(f, child) not in _MEDIA_HANDLERS:  # GPS, motion, text: or no handler
            out.append((pos, length, header))
            out += _samples(f, child, size)
            cleared = True
        elif kind in _KEPT:
            cleared |= _inside(f, child, size, out)
    return cleared


def _gps_blocks(f: BinaryIO, box: tuple[bytes, int, int, int], out: list[Span]) -> None:
    """A dash camera's GPS blocks written into mdat between the frames (`freeGPS `: each a box
    of its own, which no track lists): cleared."""
    _kind, pos, header, length = box
    start, end = pos + header, pos + length
    at = start
    while at < end:
        f.seek(at)
        block = f.read(min(_CHUNK * 8, end - at) + len(_GPS_BLOCK))
        found = block.find(_GPS_BLOCK)
        while found != -1:
            where = at + found - 4  # (its size comes first)
            f.seek(where)
            (gps_size,) = struct.unpack(">I", f.read(4))
            if where < start or gps_size < 12 or where + gps_size > end:
                raise BadMedia("a GPS block in the picture data that cannot be measured")
            out.append((where, gps_size, 8))
            found = block.find(_GPS_BLOCK, found + 1)
        at += _CHUNK * 8


def to_clear(f: BinaryIO) -> list[Span]:
    """The byte ranges of an ISO base media file to clear (see the module docstring): each box
    from its type on (it becomes `free`), each chunk of a data track's samples."""
    try:
        f.seek(0, 2)
        size = f.tell()
        out: list[Span] = []
        top = (b"", 0, 0, size)
        data_track = _inside(f, top, size, out)
        boxes = list(_boxes(f, 0, size))
        if data_track and any(b[0] == b"moof" for b in boxes):
            raise BadMedia("a track of recorded data (GPS) in a fragmented file, which cannot be cleared")
        for box in boxes:
            if box[0] == b"mdat":
                _gps_blocks(f, box, out)
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
