"""One declaration per config option and per front-matter field.

Each `Option` and `Field` says once what it is: its type, default, accepted values, and the words
a user reads about it (English message ids, translated through the catalogue). From these come:

- the checks of simple values in config.py (`typed`: type, range, choice, with the message and
  what would be accepted) and the unknown/required checks in config.py and records.py;
- the comments of the `new story|page|campaign` templates (scaffold.py);
- the tables of docs/configuration.md and docs/content-format.md (`python tools/docs.py`
  regenerates them; tests/test_declarations.py fails when they differ).

Checks that relate values to each other or to the site (a unit that must exist, a date that must
not be in the future…) stay where the values are read, in config.py and records.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import did_you_mean
from .i18n import N_, _


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Option:
    """One option of site_config.yaml (or of its `feeds:` / `sms:` sections)."""

    name: str
    default: Any  # REQUIRED: the option must be given
    help: str  # English message id: what the option does
    kind: str = "text"  # text | int | bool | choice | list | mapping
    low: int | None = None
    high: int | None = None
    choices: tuple[str, ...] = ()
    example: str = ""  # a line that would be accepted (not translated: YAML)
    shown_default: str = ""  # how the docs show a default that is not a plain value (English id)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def accepted(self) -> str:
        """What would be accepted, in the user's language."""
        if self.kind == "int":
            text = _("a whole number from {low} to {high}").format(low=self.low, high=self.high)
        elif self.kind == "bool":
            text = _("true or false")
        elif self.kind == "choice":
            text = _("one of: {choices}").format(choices=", ".join(self.choices))
        else:
            text = ""
        if self.example:
            shown = _("e.g. {example}").format(example=self.example)
            text = _("{first}; {second}").format(first=text, second=shown) if text else shown
        return text

    def default_text(self) -> str:
        if self.required:
            return "required"
        if self.shown_default:
            return self.shown_default
        if self.default == "":
            return '""'
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        if isinstance(self.default, list):
            return "[" + ", ".join(str(v) for v in self.default) + "]"
        return str(self.default)


def typed(option: Option, value: Any) -> tuple[Any, str | None]:
    """(the value as the option's type, None) or (the default, what is wrong) for a simple option.

    Mappings and lists are returned as given when they have the right shape: what is inside them
    is checked where they are read."""
    shown = repr(value) if not isinstance(value, str) else value
    fallback = None if option.required else option.default
    if option.required and value in (None, "", {}, []):
        return None, _("this option is required and cannot be left empty")
    if option.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) \
                or not (option.low or 0) <= value <= (option.high if option.high is not None else value):
            return fallback, _("must be a whole number from {low} to {high}, got {value}").format(
                low=option.low, high=option.high, value=shown)
        return value, None
    if option.kind == "bool":
        if not isinstance(value, bool):
            return fallback, _("must be true or false, got {value}").format(value=shown)
        return value, None
    if option.kind == "choice":
        if not isinstance(value, str) or value not in option.choices:
            return fallback, _("unknown value {value}").format(value=shown) + did_you_mean(str(value), option.choices)
        return value, None
    if option.kind == "list":
        if value is None:
            return fallback, None
        if not isinstance(value, list):
            return fallback, _("must be a list, e.g. [a, b]")
        return value, None
    if option.kind == "mapping":
        if value is None or value == {}:
            return fallback, None
        if not isinstance(value, dict):
            return fallback, _("must be a mapping of options (lines like 'key: value' indented under it)")
        return value, None
    # text
    if value is None:
        return "", None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        return (fallback if isinstance(fallback, str) else ""), _("must be a single line of text")
    return str(value).strip(), None


SITE_OPTIONS: tuple[Option, ...] = (
    Option("title", REQUIRED, N_("site title, shown in the header and feeds"), example="title: 江城公安先进典型"),
    Option("subtitle", "", N_("a line under the title")),
    Option("description", "", N_("one sentence for feeds and search engines")),
    Option("organisation", "", N_("the publishing body: footer, feed author, SMS source line"),
           example="organisation: 江城市公安局政治部"),
    Option("base_url", REQUIRED, N_("scheme and host of the intranet server, with no path"),
           example="base_url: http://xc.jcgaj.intra"),
    Option("base_path", "/", N_("sub-path the site is served under: folder names of letters, digits, '-', '_', '.' "
                                      "and '~'"),
           example="base_path: /publicity/"),
    Option("language", "zh-CN", N_("language of the content and of messages: zh-CN (Chinese) or en (English)"),
           example="language: zh-CN"),
    Option("timezone", "Asia/Shanghai", N_("time zone for dates written without one"),
           example="timezone: Asia/Shanghai"),
    Option("theme", "default", N_("theme folder under themes/; the default theme fills in what it lacks"),
           example="theme: jiangcheng"),
    Option("content_dir", "content", N_("folder holding stories/, pages/, campaigns/ and images/")),
    Option("output_dir", "public", N_("where the public site is written; --output overrides it; a --drafts "
                                      "build goes to <output_dir>-drafts beside it")),
    Option("reports_dir", "reports", N_("where internal reports are written; never inside (or around) output_dir")),
    Option("page_size", 10, N_("stories per listing page"), "int", 1, 500),
    Option("home_latest", 8, N_("latest stories on the home page"), "int", 0, 100),
    Option("listing_style", "cards", N_("how listing pages show their stories: cards (picture, summary) or list "
                                        "(the dense title-and-date list of government sites)"),
           "choice", choices=("cards", "list"), example="listing_style: list"),
    Option("search", True, N_("site search: a search page, a search box in the header and the index files under "
                              "search/; false for none of them"), "bool", example="search: false"),
    Option("summary_length", 120, N_("characters in a summary derived from the body"), "int", 20, 1000),
    Option("reading_speed", 400, N_("Chinese characters read per minute, for the reading time"), "int", 50, 5000),
    Option("vetting_valid_days", 365, N_("days a vetting clearance stays valid, counted to the build date"),
           "int", 1, 3650),
    Option("units", REQUIRED, N_("the unit tree: key → {name, type, children}"), "mapping",
           example="units: {jcgaj: {name: 江城市公安局, children: {jiangbei: 江北分局}}}"),
    Option("fields", REQUIRED, N_("fields (警种/行业): key → display name, in display order"), "mapping",
           example="fields: {jiaojing: 交警, xingzhen: 刑侦}"),
    Option("levels", {}, N_("display names for the five levels, e.g. {district: 县区级}"), "mapping",
           shown_default=N_("built in")),
    Option("feeds", {}, N_("feed settings (below)"), "mapping", shown_default=N_("see below")),
    Option("sms", {}, N_("SMS settings (below)"), "mapping", shown_default=N_("see below")),
    Option("editions", {}, N_("further editions of the site, e.g. an internet edition for outside publicity: name → "
                              "{base_url, base_path, output_dir, title_suffix, external} (below)"), "mapping",
           shown_default=N_("none")),
    Option("deploy", {}, N_("publishing to the web server: deploy, rollback, nginx-conf (below)"), "mapping",
           shown_default=N_("see below")),
    Option("images", {}, N_("how photos are published: web sizes, size limit, press copies (below)"), "mapping",
           shown_default=N_("see below")),
    Option("quotas", None, N_("yearly selection targets (年内选树); without it: district → city, city → provincial"),
           "list", example="quotas: [{unit_type: district, level: city, min: 1}]", shown_default=N_("built in")),
    Option("public_numbers", [], N_("phone numbers that may appear in public text (public duty lines); every "
                                    "other mobile or ID number in public text stops the build"), "list",
           example='public_numbers: ["0511-85551234"]', shown_default=N_("none")),
    Option("csv_headers", "chinese", N_("headers and yes/no values of the CSV files (SMS, reports): chinese for "
                                        "people using Excel, english for scripts and integrations"),
           "choice", choices=("chinese", "english")),
    Option("press_contact", "", N_("press contact shown to newsrooms on the media page (public text: a phone "
                                   "number in it must be listed in public_numbers)"),
           example='press_contact: "市局政治部宣传处 0511-85551234"'),
)

FEED_FAMILIES = ("all", "field", "unit", "level", "campaign", "tag")

FEED_OPTIONS: tuple[Option, ...] = (
    Option("families", list(FEED_FAMILIES), N_("which feeds exist"), "list",
           example="families: [all, field, unit]"),
    Option("items", 50, N_("items per feed"), "int", 1, 500),
    Option("tags", [], N_("tags that get a feed of their own when the tag family is on; '*' for every tag"),
           "list", example="tags: [见义勇为, 枫桥经验]"),
    Option("source", "来源：{organisation}", N_("source line appended to each item; may use {organisation} {site} "
                                              "{title} {url}")),
    Option("guid_prefix", "", N_("GUID = prefix + story id; never change it once feeds are public (default: "
                                 "tag:<host>,2025:)"), example='guid_prefix: "tag:xc.jcgaj.intra,2025:"'),
    Option("tombstone_days", 90, N_("days a withdrawn story is announced to newsrooms, counted from its withdrawal: "
                                    "a tombstone (RFC 6721) in every Atom feed and an item in the withdrawals "
                                    "feeds"), "int", 1, 3650),
    Option("publish_time", "12:00", N_("time of day feeds give a story dated without one (HH:MM, site time), so "
                                       "that a newsroom system storing UTC never shows the day before; the story "
                                       "is still published from the start of its day"),
           example='publish_time: "09:00"'),
)

SMS_OPTIONS: tuple[Option, ...] = (
    Option("signature", "", N_("SMS signature without 【】, 2 to 12 characters"), example="signature: 江城公安"),
    Option("write_signature", True, N_("false when the SMS platform adds the signature itself"), "bool"),
    Option("max_segments", 1, N_("billed segments a story's SMS may take"), "int", 1, 7),
    Option("link", False, N_("append the story's address to each SMS"), "bool"),
    Option("suffix", "", N_("one line appended to each SMS, e.g. 回T退订")),
    Option("csv_bom", True, N_("write a BOM in the SMS CSV so that Excel opens it as UTF-8"), "bool"),
    Option("digest_days", 7, N_("days the default digest covers"), "int", 1, 366),
    Option("counting", "platform", N_("how characters are counted: platform (mainland SMS platforms, 70/67) or "
                                      "carrier (GSM 03.38, 160/153 for plain Latin text)"),
           "choice", choices=("platform", "carrier")),
)

EDITION_OPTIONS: tuple[Option, ...] = (
    Option("base_url", REQUIRED, N_("scheme and host the edition is served from"),
           example="base_url: https://www.jcgaj.gov.cn"),
    Option("base_path", "/", N_("sub-path the edition is served under: folder names of letters, digits, '-', '_', "
                                      "'.' and '~'"),
           example="base_path: /xianjin/"),
    Option("output_dir", REQUIRED, N_("where the edition is written (a folder of its own)"),
           example="output_dir: public-internet"),
    Option("title_suffix", "", N_("added to the site title in this edition")),
    Option("external", False, N_("true: an edition for outside the force; only stories, pages and campaigns with "
                                 "an external: clearance are in it, and no intranet address may appear in it"),
           "bool"),
)

DEPLOY_OPTIONS: tuple[Option, ...] = (
    Option("target", "", N_("where deploy and rollback go when no TARGET is given: a folder on this machine or "
                            "user@host:/path on the web server (ssh and rsync)"),
           example="target: web@xc.jcgaj.intra:/srv/publicity"),
    Option("keep", 5, N_("releases kept on the server for rollback (the current one always stays)"), "int", 1, 100),
    Option("reload", "", N_("command run after a deploy or rollback that changed the withdrawn addresses, so that "
                            "nginx answers them with 410 at once (on the server, for a user@host target)"),
           example='reload: "sudo systemctl reload nginx"'),
)


IMAGE_OPTIONS: tuple[Option, ...] = (
    Option("widths", [480, 960, 1600], N_("widths in pixels of the web sizes made of every photo (in its own format "
                                          "and WebP); never wider than the photo itself"), "list",
           example="widths: [480, 960, 1600]"),
    Option("max_bytes", 8388608, N_("a photo file larger than this (bytes) is warned about"), "int", 100000,
           200000000),
    Option("press_width", 2560, N_("largest width of the press download offered to newsrooms (press/<id>.jpg)"),
           "int", 800, 8000),
    Option("quality", 82, N_("JPEG quality of the web sizes"), "int", 40, 95),
    Option("webp_quality", 78, N_("WebP quality of the web sizes"), "int", 40, 95),
    Option("press_quality", 92, N_("JPEG quality of the press download"), "int", 60, 98),
    Option("max_megapixels", 60, N_("images with more pixels than this (millions) are refused: a decompression "
                                    "bomb could exhaust the memory"), "int", 1, 89),
)


@dataclass(frozen=True)
class Field:
    """One front-matter field of a story, page or campaign."""

    name: str
    help: str  # English message id: what to write (the `new` templates' comment)
    kind: str = "text"  # text | date | choice | list | mapping | bool | number
    required: str = ""  # "" (optional), "yes", or an English id saying when it is needed
    accepted: str = ""  # English message id: what would be accepted
    example: str = ""  # a value that would be accepted (YAML, not translated)


STORY: tuple[Field, ...] = (
    Field("id", N_("stable unique id; never change it (feeds use it)"), required="yes",
          accepted=N_("letters, digits, '-', '_' and '.'; 2 to 64 characters; unique across all stories"),
          example="jc-2026-001"),
    Field("title", N_("headline of the story"), required="yes", accepted=N_("one line of text"),
          example="守护一方平安的老片警"),
    Field("slug", N_("URL name (pinyin); do not change it once published"),
          accepted=N_("lower-case letters, digits and '-'; without it the pinyin of the title is used, so editing "
                      "the title would move the page"), example="shou-hu-yi-fang"),
    Field("name", N_("the exemplar: a person's name, or a collective's full name"), required="yes",
          accepted=N_("a person's name, or the full name of a unit"), example="王建国"),
    Field("kind", N_("individual or collective"), "choice", required="yes",
          accepted=N_("individual or collective (or 个人 / 集体)"), example="individual"),
    Field("unit", N_("owning unit"), required="yes",
          accepted=N_("a unit key or name from the unit tree in site_config.yaml"), example="binjiang"),
    Field("field", N_("field (警种/行业)"), required="yes",
          accepted=N_("a field key or name from site_config.yaml"), example="jiaojing"),
    Field("level", N_("level of the exemplar"), "choice", required="yes",
          accepted=N_("national, ministry, provincial, city or district (or 国家级/部级/省级/市级/区县级)"),
          example="district"),
    Field("date", N_("publication date; a later date publishes it when that day comes"), "date", required="yes",
          accepted=N_("YYYY-MM-DD (2026-3-18, 2026/3/18 or 2026.3.18 too), YYYY-MM-DD HH:MM or 2026年3月18日; the "
                       "site's time zone applies"),
          example="2026-03-18"),
    Field("updated", N_("date of the last real change to the content"), "date",
          accepted=N_("a date, as for date"), example="2026-04-01"),
    Field("withdrawn_date", N_("when the story was withdrawn (with status: withdrawn); newsrooms are told from "
                               "then (without it: updated, else date)"), "date",
          accepted=N_("a date, as for date"), example="2026-10-20"),
    Field("status", N_("where the exemplar stands"), "choice", required="yes",
          accepted=N_("seedling, cultivating, recommended, approved, commended or withdrawn (or 苗子/培养/推荐/审批/"
                      "表彰/撤销)"), example="seedling"),
    Field("vetting", N_("the discipline-inspection clearance; without it nothing is published"), "mapping",
          required=N_("to publish"),
          accepted=N_("cleared_by, date and ref, each one line of text; a blank or placeholder value holds the "
                      "story back"), example="{cleared_by: 市局纪委, date: 2026-03-10, ref: 江纪审〔2026〕12号}"),
    Field("approved_by", N_("who approved the selection"), required=N_("for approved and commended"),
          accepted=N_("text"), example="区委、区政府"),
    Field("approved_date", N_("when it was approved"), "date", accepted=N_("a date, as for date"),
          example="2026-03-01"),
    Field("summary", N_("one or two sentences for listings, feeds and SMS (empty: taken from the body)"),
          accepted=N_("text")),
    Field("sms", N_("the SMS text (empty: made from the summary; do not write 【】)"),
          accepted=N_("one line of text (no line break of any kind, no tab)")),
    Field("tags", N_("tags"), "list", accepted=N_("a list of words"), example="[见义勇为, 枫桥经验]"),
    Field("campaigns", N_("learning campaigns (file names under content/campaigns/)"), "list",
          accepted=N_("a list of campaign file names"), example="[xue-xi-2026]"),
    Field("featured", N_("true: shown prominently on the home page"), "bool", accepted=N_("true or false"),
          example="false"),
    Field("exemplar_of", N_("id of an earlier story about the same exemplar (a follow-up story)"),
          accepted=N_("a story id"), example="jc-2025-007"),
    Field("stays_public", N_("true: stays public when another story about the same exemplar is withdrawn "
                             "(usually leave it out)"), "bool", accepted=N_("true or false"), example="true"),
    Field("images", N_("images: - {src: images/xxx.jpg, caption: caption, alt: what the image shows, credit: "
                       "photographer}"), "list",
          accepted=N_("a list of {src, caption, alt, credit}; src under content/images/ (JPEG, PNG, GIF, WebP or "
                      "HEIC); credit (摄影) is shown in the caption and in feeds")),
    Field("honors", N_("honours: - {title: honour, by: awarded by, date: YYYY-MM-DD}"), "list",
          accepted=N_("a list of {title, by, date}")),
    Field("author", N_("author(s) or correspondent(s) (作者/通讯员): shown on the page and in feeds"), "list",
          accepted=N_("a name, or a list of names"), example="[李明, 张华]"),
    Field("external", N_("clearance for outside publicity (外宣): without it the story stays in the intranet "
                         "edition only"), "mapping",
          accepted=N_("approved_by and date"), example="{approved_by: 市局宣传处, date: 2026-04-15}"),
    Field("private", N_("never published: family, ID number, phone, assessments, notes"), "mapping",
          accepted=N_("a mapping; everything in it stays private")),
)

PAGE: tuple[Field, ...] = (
    Field("title", N_("page title"), required="yes", accepted=N_("one line of text"), example="关于本站"),
    Field("slug", N_("URL name (default: the file name)"), accepted=N_("lower-case letters, digits and '-'"),
          example="about"),
    Field("summary", N_("one sentence"), accepted=N_("text")),
    Field("menu", N_("position in the main menu; without it the page is not in the menu"), "number",
          accepted=N_("a whole number"), example="3"),
    Field("date", N_("date (optional)"), "date", accepted=N_("a date, as for date"), example="2026-01-01"),
    Field("external", N_("clearance for outside publicity (外宣): without it it stays in the intranet "
                         "edition only"), "mapping",
          accepted=N_("approved_by and date"), example="{approved_by: 市局宣传处, date: 2026-04-15}"),
)

CAMPAIGN: tuple[Field, ...] = (
    Field("title", N_("name of the learning campaign"), required="yes", accepted=N_("one line of text"),
          example="向王建国同志学习"),
    Field("slug", N_("URL name (default: the file name)"), accepted=N_("lower-case letters, digits and '-'"),
          example="xue-xi-2026"),
    Field("summary", N_("one sentence"), accepted=N_("text")),
    Field("date", N_("start date"), "date", required="yes", accepted=N_("a date, as for date"),
          example="2026-03-01"),
    Field("until", N_("end date"), "date", accepted=N_("a date, as for date"), example="2026-12-31"),
    Field("decision", N_("the learning decision (学习决定), e.g. its document number"), accepted=N_("text"),
          example="江公党〔2026〕1号"),
    Field("exemplars", N_("ids of the stories in the campaign (stories can also name the campaign)"), "list",
          accepted=N_("a list of story ids"), example="[jc-2026-001]"),
    Field("external", N_("clearance for outside publicity (外宣): without it it stays in the intranet "
                         "edition only"), "mapping",
          accepted=N_("approved_by and date"), example="{approved_by: 市局宣传处, date: 2026-04-15}"),
)

VETTING_FIELDS = ("cleared_by", "date", "ref")
IMAGE_FIELDS = ("src", "caption", "alt", "credit")
HONOR_FIELDS = ("title", "by", "date")
ASSESSMENT_FIELDS = ("date", "result", "by", "notes")


def by_name(declared: Iterable[Field]) -> dict[str, Field]:
    return {f.name: f for f in declared}


def options_by_name(declared: Iterable[Option]) -> dict[str, Option]:
    return {o.name: o for o in declared}


# ---- documentation tables (tools/docs.py writes them; tests check them) -------------------------

def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def options_table(options: Iterable[Option], zh: Mapping[str, str]) -> str:
    rows = ["| option | default | 说明 | meaning |", "|---|---|---|---|"]
    for o in options:
        default = o.default_text()
        shown = default if default in ("required", "built in", "see below", "none") else f"`{default}`"
        rows.append(f"| `{o.name}` | {shown} | {_cell(zh.get(o.help, o.help))} | {_cell(o.help)} |")
    return "\n".join(rows)


def fields_table(fields: Iterable[Field], zh: Mapping[str, str]) -> str:
    rows = ["| field | required | 说明 | accepted |", "|---|---|---|---|"]
    for f in fields:
        req = {"": "no", "yes": "yes"}.get(f.required, f.required)
        rows.append(f"| `{f.name}` | {_cell(req)} | {_cell(zh.get(f.help, f.help))} | {_cell(f.accepted)} |")
    return "\n".join(rows)
