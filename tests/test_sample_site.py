"""The repository's own sample site builds cleanly and shows every feature."""

from __future__ import annotations

from collections import Counter

from conftest import Site


def test_sample_site_builds_with_every_feature(sample: Site) -> None:
    report = sample.build()
    assert report.stories_read >= 12
    assert report.public >= 10
    reasons = Counter(h.reason for h in report.held)
    assert reasons["no-vetting"] >= 1 and reasons["withdrawn"] >= 1
    assert [w for w in report.warnings if w.field != "vetting"] == []
    home = sample.html("index.html")
    assert home.xpath("//section[@aria-labelledby='featured-title']//article")
    fields = {t.strip() for t in home.xpath("//aside//ul[@class='counts']/li/a/text()")}
    assert len(fields) >= 5 + 3
    story = sample.html("stories/wang-jian-guo-lao-pian-jing/index.html")
    assert story.xpath("//section[@class='series']//li")  # follow-up story linked
    assert story.xpath("//section[@class='honors']//li")
    assert (sample.out / "campaigns/xiang-wang-jian-guo-xue-xi/index.html").is_file()


def test_sample_site_public_text_has_no_private_values(sample: Site) -> None:
    sample.build()
    import yaml

    secrets: list[str] = []
    for path in (sample.root / "content" / "stories").rglob("*.md"):
        meta = yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])
        private = meta.get("private") or {}
        for key in ("id_number", "phone", "family", "notes"):
            if private.get(key):
                secrets.append(str(private[key]))
        for a in private.get("assessments") or []:
            if a.get("notes"):
                secrets.append(a["notes"])
    assert len(secrets) >= 10
    blob = b"".join(p.read_bytes() for p in sample.out.rglob("*") if p.is_file())
    for s in secrets:
        assert s.encode() not in blob, s
