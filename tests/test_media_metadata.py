"""A published video or sound file carries no metadata: not where it was filmed, not the phone.

The files are made here box by box as a phone writes them (an iPhone's `moov/meta` location key,
a `©xyz` in `udta`, a title in `ilst`, an XMP packet, a GPS track of timed data) and read back
with mutagen, an MP4 reader of its own.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from mutagen.mp4 import MP4, Atoms  # type: ignore[attr-defined]

from conftest import NOW, Site
from exemplar_site.cli import main
from exemplar_site.errors import BuildFailed
from exemplar_site.mediameta import BadMedia, clear, to_clear

GPS = b"+31.2304+121.4737/"
FRAMES = b"\x00\x00\x00\x10FRAME-DATA-0001" + b"\x00\x00\x00\x10FRAME-DATA-0002"
TRACK = b"$GPRMC,+31.2304,+121.4737*"


def _box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full(kind: bytes, *payload: bytes) -> bytes:
    return _box(kind, b"\x00\x00\x00\x00", *payload)


def _trak(track_id: int, handler: bytes, sample_offset: int, sizes: list[int], compact: bool = False,
          mdia_udta: bool = False) -> bytes:
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    tkhd = _full(b"tkhd", struct.pack(">IIIII", 0, 0, track_id, 0, 2000), bytes(8), struct.pack(">hhhh", 0, 0, 0, 0),
                 matrix, struct.pack(">II", 0, 0))
    mdhd = _full(b"mdhd", struct.pack(">IIII", 0, 0, 1000, 2000), struct.pack(">HH", 0x55C4, 0))
    hdlr = _full(b"hdlr", b"\x00\x00\x00\x00", handler, bytes(12), b"handler\x00")
    stbl = _box(b"stbl", _full(b"stsd", struct.pack(">I", 0)), _full(b"stts", struct.pack(">I", 0)),
                _full(b"stsc", struct.pack(">IIII", 1, 1, len(sizes), 1)),
                _full(b"stz2", b"\x00\x00\x00\x10", struct.pack(">I", len(sizes)),
                      *(struct.pack(">H", n) for n in sizes))
                if compact else
                _full(b"stsz", struct.pack(">II", 0, len(sizes)), *(struct.pack(">I", n) for n in sizes)),
                _full(b"stco", struct.pack(">II", 1, sample_offset)))
    udta = _box(b"udta", _box(b"\xa9xyz", struct.pack(">HH", len(GPS), 0x15C7), GPS))
    if mdia_udta:
        return _box(b"trak", tkhd, _box(b"mdia", mdhd, hdlr, _box(b"minf", stbl), udta))
    return _box(b"trak", tkhd, _box(b"mdia", mdhd, hdlr, _box(b"minf", stbl)), udta)


def video(gps_track: bool = True, handler: bytes = b"meta", compact: bool = False, gps_block: bool = False) -> bytes:
    """A phone's MP4: ftyp, moov (with every kind of metadata), an XMP box, then mdat."""
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso2mp41")
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = _full(b"mvhd", struct.pack(">IIII", 0, 0, 1000, 2000), struct.pack(">IH", 0x10000, 0x100), bytes(10),
                 matrix, bytes(24), struct.pack(">I", 3))
    ilst_title = _box(b"\xa9nam", _box(b"data", struct.pack(">II", 1, 0), "张三的iPhone".encode()))
    udta = _box(b"udta", _box(b"\xa9xyz", struct.pack(">HH", len(GPS), 0x15C7), GPS),
                _full(b"meta", _full(b"hdlr", b"\x00\x00\x00\x00mdirappl", bytes(9)), _box(b"ilst", ilst_title)))
    key = b"com.apple.quicktime.location.ISO6709"
    apple = _full(b"meta", _full(b"hdlr", b"\x00\x00\x00\x00mdta", bytes(13)),
                  _full(b"keys", struct.pack(">I", 1), struct.pack(">I", 8 + len(key)), b"mdta", key),
                  _box(b"ilst", _box(struct.pack(">I", 1), _box(b"data", struct.pack(">II", 1, 0), GPS))))
    xmp = _box(b"uuid", bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC"),
               b"<x:xmpmeta><exif:GPSLatitude>31,13.8N</exif:GPSLatitude></x:xmpmeta>")

    def moov(offset: int) -> bytes:
        traks = [_trak(1, b"vide", offset, [16, 16], mdia_udta=True)]
        if gps_track:
            traks.append(_trak(2, handler, offset + len(FRAMES), [len(TRACK)], compact=compact))
        return _box(b"moov", mvhd, *traks, udta, apple)

    head = len(ftyp) + len(xmp) + len(moov(0)) + 8  # (the samples' offsets do not change moov's size)
    block = _box(b"free", b"GPS ", TRACK) if gps_block else b""
    mdat = _box(b"mdat", FRAMES, TRACK if gps_track else b"", block)
    return ftyp + xmp + moov(head) + mdat


def test_the_file_made_here_is_what_a_reader_sees() -> None:
    """(The test's own file: mutagen reads its title and length, so clearing is tested on a real one.)"""
    tags = MP4(io.BytesIO(video())).tags  # type: ignore[no-untyped-call]
    assert tags is not None and tags["\xa9nam"] == ["张三的iPhone"]


def test_clearing_keeps_every_offset_and_the_picture() -> None:
    data = bytearray(video())
    f = io.BytesIO(data)
    assert len(to_clear(f)) >= 6
    clear(f)
    out = f.getvalue()
    assert len(out) == len(data) and FRAMES in out
    for secret in (GPS, b"31,13.8N", "张三".encode(), b"com.apple.quicktime.location", b"GPRMC"):
        assert secret not in out, secret
    reread = MP4(io.BytesIO(out))  # type: ignore[no-untyped-call]
    assert not reread.tags and reread.info.length == pytest.approx(2.0)  # type: ignore[attr-defined]
    atoms = Atoms(io.BytesIO(out))
    assert [a.name for a in atoms.path(b"moov")[-1].children if a.name != b"free"] == [b"mvhd", b"trak"]
    kept = atoms.path(b"moov", b"trak")[-1]
    assert b"udta" not in [a.name for a in kept.children]
    assert [a.name for a in atoms.atoms] == [b"ftyp", b"free", b"moov", b"mdat"]


@pytest.mark.parametrize("case", ["text track", "subtitle track", "compact sizes", "GPS block in mdat"])
def test_gps_in_a_dash_cameras_tracks_and_blocks_is_cleared(case: str) -> None:
    """Dash cameras write GPS as a text or subtitle track, or as blocks between the frames; some
    files give sample sizes in the compact table."""
    data = {"text track": video(handler=b"text"), "subtitle track": video(handler=b"sbtl"),
            "compact sizes": video(compact=True), "GPS block in mdat": video(gps_track=False, gps_block=True)}[case]
    assert TRACK in data
    f = io.BytesIO(bytearray(data))
    clear(f)
    out = f.getvalue()
    assert TRACK not in out and GPS not in out and FRAMES in out and len(out) == len(data)
    assert MP4(io.BytesIO(out)).info.length == pytest.approx(2.0)  # type: ignore[no-untyped-call,attr-defined]


def test_a_fragmented_file_with_a_gps_track_and_absurd_tables_are_refused_not_crashed_on() -> None:
    data = video()
    with pytest.raises(BadMedia):
        to_clear(io.BytesIO(data + _box(b"moof", _full(b"mfhd", struct.pack(">I", 1)))))
    stsz = struct.pack(">II", 0, 1) + struct.pack(">I", len(TRACK))
    huge = data.replace(b"stsz\x00\x00\x00\x00" + stsz, b"stsz\x00\x00\x00\x00" + struct.pack(">II", 1, 0xFFFFFFF0)
                        + bytes(4))
    assert huge != data
    with pytest.raises(BadMedia):
        to_clear(io.BytesIO(huge))


def test_a_damaged_file_cannot_be_cleared() -> None:
    data = video()
    with pytest.raises(BadMedia):
        to_clear(io.BytesIO(data[:-5]))  # (mdat says it is longer than what is left)
    gps_chunk = struct.pack(">II", 1, len(data) - len(TRACK))
    assert data.count(gps_chunk) == 1
    with pytest.raises(BadMedia):  # (the GPS track's chunk past the end)
        to_clear(io.BytesIO(data.replace(gps_chunk, struct.pack(">II", 1, 10**9))))


def _site_with_video(site: Site, data: bytes, name: str = "巡逻.mp4") -> Path:
    path = site.root / "content/media" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    site.story("a", "a-1", slug="a", body=f'<video src="media/{name}" controls></video>\n\n[下载视频](media/{name})')
    return path


def test_a_published_video_goes_out_without_its_metadata(site: Site) -> None:
    source = _site_with_video(site, video())
    site.build()
    out = site.out / "media/巡逻.mp4"
    published = out.read_bytes()
    assert source.read_bytes() == video()  # (the original is left as it is)
    assert len(published) == len(video()) and FRAMES in published
    assert GPS not in published and "张三".encode() not in published and b"xmpmeta" not in published
    assert not MP4(str(out)).tags  # type: ignore[no-untyped-call]
    mtime = out.stat().st_mtime_ns
    site.story("b", "b-1", slug="b")
    site.build()  # (an unchanged video is neither copied nor cleared again)
    assert out.stat().st_mtime_ns == mtime and out.read_bytes() == published
    source.write_bytes(video(gps_track=False))
    site.build()
    assert GPS not in out.read_bytes() and len(out.read_bytes()) == len(video(gps_track=False))


def test_a_video_that_cannot_be_read_is_refused_by_check_and_build(site: Site,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    _site_with_video(site, video()[:-5])
    with pytest.raises(BuildFailed) as info:
        site.build()
    assert any(p.path == "content/media/巡逻.mp4" for p in info.value.problems if p.is_error)
    assert not site.out.exists()
    assert main(["check", "--config", str(site.config), "--now", NOW.strftime("%Y-%m-%d")]) == 1
    assert "content/media/巡逻.mp4" in capsys.readouterr().err
