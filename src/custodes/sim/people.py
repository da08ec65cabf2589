"""People: customers (with realistic contact data) and employees (org chart, offices, shifts).

Region convention: ``region`` is always an ISO 3166-2 subdivision code — the customer's state,
province or equivalent (``US-CA``, ``GB-SCT``, ``DE-BY``, ``CN-GD``, ``JP-13``) and, for
employees, the location of their office (``US-WA``, ``IE-D``, ``IN-KA``, ``PH-00``). The first
two letters are the country, so a coarser grouping (EU, NA, APAC) can always be derived.

Names come from Faker, but Faker is only asked for a few hundred names per locale (built once,
kept with their real frequency); customers are then composed from those pools with the
simulation's own random stream. That keeps 20,000 customers well under a second.
"""

from __future__ import annotations

import random
import string
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import phonenumbers
from faker import Faker

from custodes.marketplace.models import EMPLOYEE_ROLES
from custodes.sim.config import DAY, Picker, SimConfig, largest_remainder, seconds, stream

ROLES = EMPLOYEE_ROLES

# ---------------------------------------------------------------------------------------------
# Geography
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Country:
    code: str
    weight: float
    utc_offset: float  # standard time, hours; used for diurnal patterns only
    languages: tuple[tuple[str, float], ...]
    # (ISO 3166-2 code, weight, phone prefixes for that subdivision, or () for country-wide)
    regions: tuple[tuple[str, float, tuple[str, ...]], ...]
    phone_prefixes: tuple[str, ...]  # national-number prefixes of mobile numbers
    phone_length: int  # national-number length (digits)
    email_domains: tuple[tuple[str, float], ...]
    region_offsets: tuple[tuple[str, float], ...] = ()


COUNTRIES: tuple[Country, ...] = (
    Country(
        "US",
        30,
        -5,
        (("en-US", 87), ("es-US", 13)),
        (
            ("US-CA", 39, ("213", "310", "408", "415", "510", "619", "714", "818", "916", "949")),
            ("US-TX", 30, ("210", "214", "281", "469", "512", "713", "817")),
            ("US-FL", 22, ("305", "407", "561", "727", "813", "904", "954")),
            ("US-NY", 20, ("212", "347", "516", "585", "631", "646", "718", "917")),
            ("US-PA", 13, ("215", "267", "412", "610", "717")),
            ("US-IL", 12.5, ("217", "312", "630", "773", "847")),
            ("US-OH", 11.8, ("216", "330", "419", "513", "614")),
            ("US-GA", 11, ("404", "470", "678", "770", "912")),
            ("US-NC", 10.7, ("336", "704", "910", "919", "980")),
            ("US-MI", 10, ("248", "313", "517", "586", "616", "734")),
            ("US-NJ", 9.3, ("201", "732", "856", "908", "973")),
            ("US-VA", 8.7, ("571", "703", "757", "804")),
            ("US-WA", 7.8, ("206", "253", "360", "425", "509")),
            ("US-AZ", 7.4, ("480", "520", "602", "623")),
            ("US-MA", 7, ("413", "508", "617", "781", "978")),
            ("US-TN", 7, ("423", "615", "865", "901")),
            ("US-IN", 6.8, ("219", "260", "317", "812")),
            ("US-MO", 6.2, ("314", "417", "636", "816")),
            ("US-MD", 6.2, ("240", "301", "410", "443")),
            ("US-WI", 5.9, ("262", "414", "608", "920")),
            ("US-CO", 5.8, ("303", "719", "720", "970")),
            ("US-MN", 5.7, ("612", "651", "763", "952")),
            ("US-OR", 4.2, ("503", "541", "971")),
        ),
        (),
        10,
        (
            ("gmail.com", 45),
            ("yahoo.com", 14),
            ("icloud.com", 10),
            ("hotmail.com", 9),
            ("outlook.com", 8),
            ("aol.com", 4),
            ("comcast.net", 3),
            ("att.net", 2),
            ("verizon.net", 1),
        ),
        (
            ("US-CA", -8),
            ("US-WA", -8),
            ("US-OR", -8),
            ("US-AZ", -7),
            ("US-CO", -7),
            ("US-TX", -6),
            ("US-IL", -6),
            ("US-MN", -6),
            ("US-MO", -6),
            ("US-WI", -6),
            ("US-TN", -6),
        ),
    ),
    Country(
        "CA",
        5,
        -5,
        (("en-CA", 100),),
        (
            ("CA-ON", 14.2, ("416", "437", "519", "613", "647", "905")),
            ("CA-QC", 8.6, ("418", "438", "450", "514", "819")),
            ("CA-BC", 5.2, ("250", "604", "778")),
            ("CA-AB", 4.4, ("403", "587", "780")),
            ("CA-MB", 1.4, ("204",)),
            ("CA-NS", 1.0, ("902",)),
        ),
        (),
        10,
        (
            ("gmail.com", 45),
            ("hotmail.com", 15),
            ("yahoo.ca", 10),
            ("outlook.com", 8),
            ("icloud.com", 8),
            ("shaw.ca", 5),
            ("rogers.com", 5),
            ("videotron.ca", 3),
        ),
        (("CA-BC", -8), ("CA-AB", -7), ("CA-MB", -6), ("CA-NS", -4)),
    ),
    Country(
        "MX",
        3,
        -6,
        (("es-MX", 100),),
        (
            ("MX-MEX", 17, ("55", "722")),
            ("MX-CMX", 9.2, ("55",)),
            ("MX-JAL", 8.3, ("33",)),
            ("MX-PUE", 6.6, ("222",)),
            ("MX-GUA", 6.2, ("477",)),
            ("MX-NLE", 5.8, ("81",)),
        ),
        (),
        10,
        (
            ("gmail.com", 45),
            ("hotmail.com", 30),
            ("outlook.com", 10),
            ("yahoo.com.mx", 10),
            ("prodigy.net.mx", 5),
        ),
    ),
    Country(
        "BR",
        5,
        -3,
        (("pt-BR", 100),),
        (
            ("BR-SP", 46, ("119", "159", "199")),
            ("BR-MG", 21, ("319", "349")),
            ("BR-RJ", 17, ("219", "249")),
            ("BR-BA", 15, ("719", "739")),
            ("BR-PR", 11.5, ("419", "439")),
            ("BR-RS", 11.4, ("519", "549")),
        ),
        (),
        11,
        (
            ("gmail.com", 50),
            ("hotmail.com", 20),
            ("yahoo.com.br", 10),
            ("outlook.com", 8),
            ("uol.com.br", 6),
            ("bol.com.br", 6),
        ),
    ),
    Country(
        "GB",
        10,
        0,
        (("en-GB", 100),),
        (("GB-ENG", 56.5, ()), ("GB-SCT", 5.5, ()), ("GB-WLS", 3.1, ()), ("GB-NIR", 1.9, ())),
        ("74", "75", "77", "78", "79"),
        10,
        (
            ("gmail.com", 35),
            ("hotmail.co.uk", 15),
            ("yahoo.co.uk", 12),
            ("outlook.com", 10),
            ("btinternet.com", 8),
            ("icloud.com", 8),
            ("sky.com", 6),
            ("live.co.uk", 6),
        ),
    ),
    Country(
        "DE",
        9,
        1,
        (("de-DE", 100),),
        (
            ("DE-NW", 17.9, ()),
            ("DE-BY", 13.1, ()),
            ("DE-BW", 11.1, ()),
            ("DE-NI", 8, ()),
            ("DE-HE", 6.3, ()),
            ("DE-SN", 4, ()),
            ("DE-BE", 3.7, ()),
            ("DE-HH", 1.9, ()),
        ),
        ("151", "152", "160", "162", "170", "171", "172", "173", "175", "176", "177", "178", "179"),
        11,
        (
            ("gmail.com", 25),
            ("gmx.de", 25),
            ("web.de", 25),
            ("t-online.de", 12),
            ("outlook.de", 5),
            ("yahoo.de", 4),
            ("posteo.de", 2),
            ("icloud.com", 2),
        ),
    ),
    Country(
        "FR",
        7,
        1,
        (("fr-FR", 100),),
        (
            ("FR-IDF", 12.3, ()),
            ("FR-ARA", 8, ()),
            ("FR-NAQ", 6, ()),
            ("FR-HDF", 6, ()),
            ("FR-OCC", 5.9, ()),
            ("FR-GES", 5.5, ()),
            ("FR-PAC", 5.1, ()),
            ("FR-PDL", 3.8, ()),
            ("FR-BRE", 3.4, ()),
            ("FR-NOR", 3.3, ()),
        ),
        ("6", "7"),
        9,
        (
            ("gmail.com", 35),
            ("orange.fr", 18),
            ("hotmail.fr", 12),
            ("free.fr", 10),
            ("yahoo.fr", 8),
            ("laposte.net", 6),
            ("sfr.fr", 6),
            ("outlook.fr", 5),
        ),
    ),
    Country(
        "ES",
        5,
        1,
        (("es-ES", 100),),
        (
            ("ES-AN", 8.5, ()),
            ("ES-CT", 7.7, ()),
            ("ES-MD", 6.8, ()),
            ("ES-VC", 5.1, ()),
            ("ES-GA", 2.7, ()),
            ("ES-PV", 2.2, ()),
        ),
        ("6", "7"),
        9,
        (
            ("gmail.com", 45),
            ("hotmail.com", 20),
            ("yahoo.es", 10),
            ("hotmail.es", 8),
            ("outlook.es", 8),
            ("telefonica.net", 5),
            ("icloud.com", 4),
        ),
    ),
    Country(
        "IT",
        4,
        1,
        (("it-IT", 100),),
        (
            ("IT-25", 10, ()),
            ("IT-62", 5.7, ()),
            ("IT-72", 5.6, ()),
            ("IT-34", 4.9, ()),
            ("IT-82", 4.8, ()),
            ("IT-45", 4.4, ()),
            ("IT-21", 4.2, ()),
        ),
        ("32", "33", "34", "35", "36", "38", "39"),
        10,
        (
            ("gmail.com", 35),
            ("libero.it", 20),
            ("hotmail.it", 12),
            ("yahoo.it", 10),
            ("virgilio.it", 8),
            ("alice.it", 6),
            ("tiscali.it", 5),
            ("outlook.it", 4),
        ),
    ),
    Country(
        "NL",
        3,
        1,
        (("nl-NL", 100),),
        (
            ("NL-ZH", 3.8, ()),
            ("NL-NH", 2.9, ()),
            ("NL-NB", 2.6, ()),
            ("NL-GE", 2.1, ()),
            ("NL-UT", 1.4, ()),
        ),
        ("6",),
        9,
        (
            ("gmail.com", 40),
            ("hotmail.com", 15),
            ("ziggo.nl", 12),
            ("outlook.com", 10),
            ("kpnmail.nl", 10),
            ("live.nl", 8),
            ("icloud.com", 5),
        ),
    ),
    Country(
        "CN",
        6,
        8,
        (("zh-CN", 100),),
        (
            ("CN-GD", 12.6, ()),
            ("CN-SD", 10.2, ()),
            ("CN-JS", 8.5, ()),
            ("CN-SC", 8.4, ()),
            ("CN-ZJ", 6.5, ()),
            ("CN-SH", 2.5, ()),
            ("CN-BJ", 2.2, ()),
        ),
        (
            "130",
            "131",
            "135",
            "136",
            "138",
            "139",
            "150",
            "152",
            "158",
            "159",
            "176",
            "177",
            "186",
            "188",
            "189",
        ),
        11,
        (
            ("qq.com", 45),
            ("163.com", 25),
            ("126.com", 12),
            ("sina.com", 8),
            ("foxmail.com", 5),
            ("gmail.com", 5),
        ),
    ),
    Country(
        "JP",
        5,
        9,
        (("ja-JP", 100),),
        (
            ("JP-13", 14, ()),
            ("JP-14", 9.2, ()),
            ("JP-27", 8.8, ()),
            ("JP-23", 7.5, ()),
            ("JP-11", 7.3, ()),
            ("JP-01", 5.2, ()),
            ("JP-40", 5.1, ()),
        ),
        ("70", "80", "90"),
        10,
        (
            ("gmail.com", 30),
            ("yahoo.co.jp", 25),
            ("docomo.ne.jp", 15),
            ("icloud.com", 12),
            ("ezweb.ne.jp", 10),
            ("softbank.ne.jp", 8),
        ),
    ),
    Country(
        "IN",
        6,
        5.5,
        (("en-IN", 80), ("hi-IN", 20)),
        (
            ("IN-MH", 20, ()),
            ("IN-KA", 15, ()),
            ("IN-DL", 12, ()),
            ("IN-TN", 12, ()),
            ("IN-UP", 10, ()),
            ("IN-TG", 10, ()),
            ("IN-GJ", 9, ()),
            ("IN-WB", 8, ()),
        ),
        ("6", "7", "8", "9"),
        10,
        (
            ("gmail.com", 70),
            ("yahoo.co.in", 10),
            ("rediffmail.com", 8),
            ("outlook.com", 7),
            ("hotmail.com", 5),
        ),
    ),
    Country(
        "AU",
        3,
        10,
        (("en-AU", 100),),
        (("AU-NSW", 8.2, ()), ("AU-VIC", 6.7, ()), ("AU-QLD", 5.3, ()), ("AU-WA", 2.8, ())),
        ("4",),
        9,
        (
            ("gmail.com", 40),
            ("bigpond.com", 15),
            ("hotmail.com", 12),
            ("outlook.com", 10),
            ("icloud.com", 10),
            ("optusnet.com.au", 8),
            ("yahoo.com.au", 5),
        ),
        (("AU-WA", 8),),
    ),
)

COUNTRY_BY_CODE = {c.code: c for c in COUNTRIES}

# Region-specific language mixes (otherwise the country's mix applies).
LANGUAGE_OVERRIDES: dict[str, tuple[tuple[str, float], ...]] = {
    "CA-QC": (("fr-CA", 80), ("en-CA", 20)),
    "ES-CT": (("ca-ES", 30), ("es-ES", 70)),
}

# Which Faker locale names a speaker of each language.
NAME_LOCALE = {
    "en-US": "en_US",
    "es-US": "es_MX",
    "en-CA": "en_CA",
    "fr-CA": "fr_CA",
    "es-MX": "es_MX",
    "pt-BR": "pt_BR",
    "en-GB": "en_GB",
    "de-DE": "de_DE",
    "fr-FR": "fr_FR",
    "es-ES": "es_ES",
    "ca-ES": "es_ES",
    "it-IT": "it_IT",
    "nl-NL": "nl_NL",
    "zh-CN": "zh_CN",
    "ja-JP": "ja_JP",
    "en-IN": "en_IN",
    "hi-IN": "en_IN",
    "en-AU": "en_AU",
}

# Some customers' names come from another locale than their language suggests.
NAME_MIX: dict[str, tuple[tuple[str, float], ...]] = {
    "GB": (("en_IN", 0.06), ("pl_PL", 0.03)),
    "DE": (("tr_TR", 0.05), ("pl_PL", 0.03)),
    "US": (("en_IN", 0.02),),
    "CA": (("en_IN", 0.04),),
    "AU": (("en_IN", 0.03),),
}

# Shoppers are awake in the evening: relative weight of each local hour.
SHOPPER_HOURS = (
    1.0,
    0.6,
    0.4,
    0.3,
    0.3,
    0.4,
    0.8,
    1.5,
    2.2,
    2.8,
    3.2,
    3.4,
    3.6,
    3.4,
    3.3,
    3.3,
    3.4,
    3.6,
    3.9,
    4.3,
    4.6,
    4.4,
    3.4,
    2.0,
)
_HOUR_PICKER = Picker(list(enumerate(SHOPPER_HOURS)))


def local_time_on(rng: random.Random, when: datetime, utc_offset: float) -> datetime:
    """A shopper-hours instant on the local calendar day of ``when`` (returned in UTC)."""
    offset = timedelta(hours=utc_offset)
    local_day = (when + offset).date()
    hour = _HOUR_PICKER(rng)
    local = datetime(local_day.year, local_day.month, local_day.day, tzinfo=UTC)
    return local - offset + timedelta(hours=hour, seconds=rng.randrange(3600))


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------

_FOLD = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "ae",
        "ø": "o",
        "Ø": "o",
        "œ": "oe",
        "Œ": "oe",
        "ł": "l",
        "Ł": "l",
        "đ": "d",
        "Đ": "d",
        "ı": "i",
        "þ": "th",
    }
)
_SLUG_CHARS = frozenset(string.ascii_lowercase + string.digits)


def ascii_slug(text: str) -> str:
    """Lowercase ASCII letters and digits only: ``"Lüdenscheidt"`` → ``"ludenscheidt"``.

    Accents are dropped (``é`` → ``e``); letters without a decomposition (``ß``, ``ø``, ``ł``)
    are spelled out.
    """
    folded = unicodedata.normalize("NFKD", text.translate(_FOLD).lower())
    return "".join(ch for ch in folded if ch in _SLUG_CHARS)


# Common Chinese surnames and given names with their pinyin (Faker's zh_CN lists are unpaired).
_ZH_SURNAMES = (
    ("王", "wang", 7.2),
    ("李", "li", 7.0),
    ("张", "zhang", 6.7),
    ("刘", "liu", 5.4),
    ("陈", "chen", 4.6),
    ("杨", "yang", 3.1),
    ("黄", "huang", 2.5),
    ("赵", "zhao", 2.2),
    ("吴", "wu", 2.0),
    ("周", "zhou", 1.9),
    ("徐", "xu", 1.6),
    ("孙", "sun", 1.5),
    ("马", "ma", 1.5),
    ("朱", "zhu", 1.3),
    ("胡", "hu", 1.3),
    ("郭", "guo", 1.2),
    ("何", "he", 1.2),
    ("林", "lin", 1.1),
    ("高", "gao", 1.1),
    ("罗", "luo", 1.0),
    ("郑", "zheng", 1.0),
    ("梁", "liang", 0.9),
    ("谢", "xie", 0.8),
    ("宋", "song", 0.8),
    ("唐", "tang", 0.8),
    ("许", "xu", 0.7),
    ("邓", "deng", 0.7),
    ("冯", "feng", 0.7),
    ("韩", "han", 0.7),
    ("曹", "cao", 0.6),
)
_ZH_GIVEN_MALE = (
    ("伟", "wei"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("杰", "jie"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("刚", "gang"),
    ("平", "ping"),
    ("辉", "hui"),
    ("鹏", "peng"),
    ("浩", "hao"),
    ("宇", "yu"),
    ("俊杰", "junjie"),
    ("志强", "zhiqiang"),
    ("建华", "jianhua"),
    ("子轩", "zixuan"),
    ("浩然", "haoran"),
    ("晨", "chen"),
    ("博文", "bowen"),
    ("斌", "bin"),
)
_ZH_GIVEN_FEMALE = (
    ("芳", "fang"),
    ("娜", "na"),
    ("秀英", "xiuying"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("艳", "yan"),
    ("娟", "juan"),
    ("霞", "xia"),
    ("秀兰", "xiulan"),
    ("桂英", "guiying"),
    ("婷", "ting"),
    ("欣", "xin"),
    ("雪", "xue"),
    ("玲", "ling"),
    ("子涵", "zihan"),
    ("雨桐", "yutong"),
    ("梓萱", "zixuan"),
    ("慧", "hui"),
    ("颖", "ying"),
    ("佳怡", "jiayi"),
    ("倩", "qian"),
    ("琳", "lin"),
    ("晓燕", "xiaoyan"),
)
# Filipino surnames are mostly Spanish-derived; given names mostly English.
_PH_SURNAMES = (
    "Santos",
    "Reyes",
    "Cruz",
    "Bautista",
    "Ocampo",
    "Garcia",
    "Mendoza",
    "Torres",
    "Villanueva",
    "Ramos",
    "Aquino",
    "Castillo",
    "Dela Cruz",
    "Gonzales",
    "Flores",
    "Rivera",
    "Fernandez",
    "Lopez",
    "Navarro",
    "Salazar",
    "Mercado",
    "Aguilar",
    "Pascual",
    "Manalo",
    "Dizon",
    "Soriano",
    "Domingo",
    "Tolentino",
    "Valdez",
    "Lim",
)


@dataclass(frozen=True, slots=True)
class PersonName:
    display: str  # as written in customers.csv / employees.csv
    first: str  # ASCII slug, for e-mail addresses
    last: str


@dataclass(slots=True)
class _Pool:
    firsts: list[tuple[str, str]]  # (display, slug)
    lasts: list[tuple[str, str]]
    family_first: bool = False  # "王伟", "佐藤 春香"
    separator: str = " "


class NameBook:
    """Per-locale pools of first and last names, built lazily from seeded Faker instances."""

    POOL_FIRST = 240  # per gender
    POOL_LAST = 320

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._pools: dict[str, _Pool] = {}

    def _faker(self, locale: str) -> Faker:
        fake = Faker(locale)
        fake.seed_instance(f"{self._seed}:{locale}")
        return fake

    def _build(self, locale: str) -> _Pool:
        if locale == "zh_CN":
            rng = stream(self._seed, "names:zh_CN")
            sur = Picker([((c, p), w) for c, p, w in _ZH_SURNAMES])
            lasts = [sur(rng) for _ in range(self.POOL_LAST)]
            firsts = list(_ZH_GIVEN_MALE) + list(_ZH_GIVEN_FEMALE)
            return _Pool(firsts, lasts, family_first=True, separator="")
        if locale == "ja_JP":
            fake = self._faker(locale)
            firsts = []
            for _ in range(self.POOL_FIRST):
                for kanji, _kana, romaji in (
                    fake.first_name_male_pair(),
                    fake.first_name_female_pair(),
                ):
                    firsts.append((kanji, ascii_slug(romaji)))
            lasts = []
            for _ in range(self.POOL_LAST):
                kanji, _kana, romaji = fake.last_name_pair()
                lasts.append((kanji, ascii_slug(romaji)))
            return _Pool(firsts, lasts, family_first=True, separator=" ")
        if locale == "en_PH":
            fake = self._faker("en_US")
            firsts = [(n, ascii_slug(n)) for n in self._first_names(fake)]
            return _Pool(firsts, [(n, ascii_slug(n)) for n in _PH_SURNAMES])
        fake = self._faker(locale)
        firsts = [(n, ascii_slug(n)) for n in self._first_names(fake)]
        lasts = [(n, ascii_slug(n)) for n in (fake.last_name() for _ in range(self.POOL_LAST))]
        return _Pool(firsts, lasts)

    def _first_names(self, fake: Faker) -> list[str]:
        names = []
        for _ in range(self.POOL_FIRST):
            names.append(fake.first_name_male())
            names.append(fake.first_name_female())
        return names

    def person(self, rng: random.Random, locale: str) -> PersonName:
        pool = self._pools.get(locale)
        if pool is None:
            pool = self._pools[locale] = self._build(locale)
        first, first_slug = rng.choice(pool.firsts)
        last, last_slug = rng.choice(pool.lasts)
        display = f"{last}{pool.separator}{first}" if pool.family_first else f"{first} {last}"
        return PersonName(display, first_slug or "user", last_slug or "x")


# ---------------------------------------------------------------------------------------------
# Contact data
# ---------------------------------------------------------------------------------------------


def _email_local(rng: random.Random, name: PersonName, domain: str) -> str:
    a, b = name.first, name.last
    if domain == "qq.com" and rng.random() < 0.5:
        return str(rng.randrange(10_000_000, 3_000_000_000))  # QQ numbers are common
    year = str(rng.randrange(1958, 2007))
    nn = f"{rng.randrange(1, 100):02d}"
    r = rng.random()
    if r < 0.24:
        return f"{a}.{b}"
    if r < 0.34:
        return f"{a}{b}"
    if r < 0.40:
        return f"{a}_{b}"
    if r < 0.52:
        return f"{a[0]}{b}"
    if r < 0.60:
        return f"{a}.{b}{nn}"
    if r < 0.68:
        return f"{a}{b}{year[2:] if rng.random() < 0.5 else year}"
    if r < 0.77:
        return f"{a}{nn}"
    if r < 0.82:
        return f"{b}.{a}"
    if r < 0.87:
        return f"{a}{b[0]}{nn}"
    if r < 0.92:
        return f"{b}{a[0]}"
    if r < 0.96:
        return f"{a}.{b[0]}"
    return f"{b}{year}"


class EmailMaker:
    """Lowercase addresses derived from a name, a number and a country-typical domain; unique."""

    def __init__(self) -> None:
        self._taken: set[str] = set()  # membership only, never iterated

    def make(self, rng: random.Random, name: PersonName, domain: str) -> str:
        local = _email_local(rng, name, domain)[:40].rstrip("._")
        address = f"{local}@{domain}"
        while address in self._taken:
            address = f"{local}{rng.randrange(2, 10_000)}@{domain}"
        self._taken.add(address)
        return address


class PhoneMaker:
    """E.164 mobile numbers that ``phonenumbers`` parses as valid for the country; unique."""

    MAX_TRIES = 200

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def make(self, rng: random.Random, country: Country, prefixes: tuple[str, ...]) -> str:
        prefixes = prefixes or country.phone_prefixes
        cc = phonenumbers.country_code_for_region(country.code)
        for _ in range(self.MAX_TRIES):
            prefix = rng.choice(prefixes)
            rest = country.phone_length - len(prefix)
            if country.code in ("US", "CA"):  # NANP: exchange code starts with 2-9
                digits = prefix + str(rng.randrange(2, 10)) + _digits(rng, rest - 1)
            else:
                digits = prefix + _digits(rng, rest)
            number = phonenumbers.PhoneNumber(country_code=cc, national_number=int(digits))
            if not phonenumbers.is_valid_number_for_region(number, country.code):
                continue
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            if e164 not in self._taken:
                self._taken.add(e164)
                return e164
        raise RuntimeError(f"could not generate a valid phone number for {country.code}")


def _digits(rng: random.Random, n: int) -> str:
    return str(rng.randrange(10**n)).zfill(n) if n > 0 else ""


# ---------------------------------------------------------------------------------------------
# Customers
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Customer:
    customer_id: str
    name: str
    email: str
    phone: str | None
    country: str
    region: str
    language: str
    created_at: datetime
    utc_offset: float = 0.0  # not written: for diurnal patterns
    order_rate: float = 0.0  # not written: expected orders per 30 days


def make_customers(config: SimConfig, names: NameBook) -> list[Customer]:
    """Customers who signed up over the six years before the window, ids in signup order."""
    rng = stream(config.seed, "customers")
    country_pick = Picker([(c, c.weight) for c in COUNTRIES])
    region_picks = {c.code: Picker([(r, w) for r, w, _ in c.regions]) for c in COUNTRIES}
    prefixes = {r: p for c in COUNTRIES for r, _, p in c.regions}
    offsets = {c.code: dict(c.region_offsets) for c in COUNTRIES}
    lang_picks = {c.code: Picker(list(c.languages)) for c in COUNTRIES}
    lang_picks.update({r: Picker(list(m)) for r, m in LANGUAGE_OVERRIDES.items()})
    domain_picks = {c.code: Picker(list(c.email_domains)) for c in COUNTRIES}
    emails, phones = EmailMaker(), PhoneMaker()
    history = 6 * 365 * 86400

    rows: list[Customer] = []
    for _ in range(config.customers):
        country = country_pick(rng)
        region = region_picks[country.code](rng)
        language = (lang_picks.get(region) or lang_picks[country.code])(rng)
        locale = NAME_LOCALE[language]
        for other, p in NAME_MIX.get(country.code, ()):
            if rng.random() < p:
                locale = other
                break
        name = names.person(rng, locale)
        email = emails.make(rng, name, domain_picks[country.code](rng))
        phone = phones.make(rng, country, prefixes[region]) if rng.random() < 0.94 else None
        offset = offsets[country.code].get(region, country.utc_offset)
        # Signups grow over time: more recent customers are more numerous.
        ago = seconds(3600 + history * rng.random() ** 1.7)
        created = local_time_on(rng, config.start - ago, offset)
        if created >= config.start:
            created -= DAY
        rate = 0.25 * rng.lognormvariate(0.0, 0.8)
        rows.append(
            Customer(
                "",
                name.display,
                email,
                phone,
                country.code,
                region,
                language,
                created,
                offset,
                rate,
            )
        )
    rows.sort(key=lambda c: c.created_at)  # stable: ties keep generation order
    for i, c in enumerate(rows, 1):
        c.customer_id = f"C{i:06d}"
    return rows


# ---------------------------------------------------------------------------------------------
# Employees
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Office:
    region: str
    utc_offset: float
    name_locales: tuple[tuple[str, float], ...]


OFFICES = {
    "US-WA": Office(
        "US-WA", -8, (("en_US", 0.75), ("en_IN", 0.12), ("es_MX", 0.08), ("zh_CN_latin", 0.05))
    ),
    "US-TX": Office("US-TX", -6, (("en_US", 0.7), ("es_MX", 0.25), ("en_IN", 0.05))),
    "IE-D": Office(
        "IE-D",
        0,
        (
            ("en_IE", 0.55),
            ("en_GB", 0.12),
            ("pl_PL", 0.1),
            ("es_ES", 0.08),
            ("fr_FR", 0.08),
            ("de_DE", 0.07),
        ),
    ),
    "DE-BE": Office("DE-BE", 1, (("de_DE", 0.85), ("pl_PL", 0.08), ("tr_TR", 0.07))),
    "IN-KA": Office("IN-KA", 5.5, (("en_IN", 1.0),)),
    "PH-00": Office("PH-00", 8, (("en_PH", 1.0),)),
}


@dataclass(frozen=True, slots=True)
class Team:
    name: str
    role: str
    weight: float
    offices: tuple[tuple[str, float], ...]
    queue: tuple[str, ...] = ()  # customer countries served (support teams)
    night_share: float = 0.0  # share of members on a night shift (PH-00 only)
    weekend_share: float = 0.0  # share of members whose rota includes the weekend


TEAMS = (
    Team(
        "support-na",
        "support_agent",
        22,
        (("US-TX", 0.6), ("PH-00", 0.4)),
        ("US", "CA", "MX", "BR"),
        night_share=1.0,
        weekend_share=0.3,
    ),
    Team(
        "support-emea",
        "support_agent",
        15,
        (("IE-D", 0.7), ("DE-BE", 0.3)),
        ("GB", "DE", "FR", "ES", "IT", "NL"),
        weekend_share=0.3,
    ),
    Team(
        "support-apac",
        "support_agent",
        11,
        (("IN-KA", 0.6), ("PH-00", 0.4)),
        ("CN", "JP", "IN", "AU"),
        weekend_share=0.3,
    ),
    Team("seller-support", "seller_support", 9, (("US-TX", 0.5), ("IE-D", 0.3), ("IN-KA", 0.2))),
    Team("trust-safety", "trust_safety", 9, (("IE-D", 0.6), ("US-WA", 0.4)), weekend_share=0.15),
    Team("data", "data_analyst", 7, (("US-WA", 0.6), ("IN-KA", 0.4))),
    Team("engineering", "engineer", 18, (("US-WA", 0.6), ("IN-KA", 0.4))),
    Team("privacy", "privacy_officer", 2, (("IE-D", 0.6), ("US-WA", 0.4))),
    Team("investigations", "investigator", 3, (("US-WA", 0.6), ("IE-D", 0.4))),
)
SQUAD_SIZE = 12  # members per first-line manager


@dataclass(slots=True)
class Employee:
    employee_id: str
    name: str
    role: str
    team: str
    manager_id: str | None
    hired_at: datetime
    left_at: datetime | None
    region: str
    # Not written: how this person works.
    utc_offset: float = 0.0
    shift_start: int = 9 * 60  # minutes after local midnight
    shift_minutes: int = 8 * 60 + 30
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0, local calendar
    night: bool = False
    queue: tuple[str, ...] = ()
    sellers: list[str] = field(default_factory=list)  # seller_support portfolio

    def active_at(self, t: datetime) -> bool:
        return self.hired_at <= t and (self.left_at is None or t < self.left_at)


_WEEKEND_ROTAS = ((2, 3, 4, 5, 6), (0, 1, 4, 5, 6), (0, 3, 4, 5, 6))


def make_employees(config: SimConfig, names: NameBook) -> list[Employee]:
    """An org chart: a head of operations, department heads, squad managers and members.

    Every team gets at least one member; teams with four or more people get a manager per
    squad of up to ``SQUAD_SIZE`` members and, with several squads, a department head.
    A few members joined during the window or left before or during it.
    """
    rng = stream(config.seed, "employees")
    sizes = [
        1 + extra
        for extra in largest_remainder(config.employees - 1 - len(TEAMS), [t.weight for t in TEAMS])
    ]
    staff: list[Employee] = []

    def hire(
        role: str,
        team: Team | None,
        team_name: str,
        manager: Employee | None,
        office_region: str,
        *,
        member: bool,
    ) -> Employee:
        office = OFFICES[office_region]
        locale = Picker(list(office.name_locales))(rng)
        if locale == "zh_CN_latin":  # Chinese names in Latin script, given name first
            n = names.person(rng, "zh_CN")
            display = f"{n.first.capitalize()} {n.last.capitalize()}"
        else:
            display = names.person(rng, locale).display
        years = 6 if member else 8
        hired = config.start - seconds(86400 * (30 + (365 * years - 30) * rng.random() ** 1.4))
        e = Employee(
            "",
            display,
            role,
            team_name,
            manager.employee_id if manager else None,
            _workday_morning(hired),
            None,
            office_region,
            utc_offset=office.utc_offset,
        )
        e.shift_start = rng.choice((7 * 60 + 30, 8 * 60, 8 * 60 + 30, 9 * 60, 9 * 60 + 30, 10 * 60))
        e.shift_minutes = rng.choice((8 * 60, 8 * 60 + 30, 9 * 60))
        if team is not None:
            e.queue = team.queue
            if office_region == "PH-00" and rng.random() < team.night_share * 0.5:
                e.night = True
                e.shift_start = rng.choice((21 * 60, 22 * 60, 23 * 60))
            if member and rng.random() < team.weekend_share:
                e.workdays = rng.choice(_WEEKEND_ROTAS)
        e.employee_id = f"E{len(staff) + 1:04d}"
        staff.append(e)
        return e

    top = hire("manager", None, "operations", None, "US-WA", member=False)
    for team, size in zip(TEAMS, sizes, strict=True):
        office_pick = Picker(list(team.offices))
        squads = 0 if size < 4 else -(-size // (SQUAD_SIZE + 1))
        head = top
        if squads >= 2:
            head = hire("manager", team, team.name, top, office_pick(rng), member=False)
            size -= 1
        members = size - squads
        squad_sizes = largest_remainder(members, [1] * max(squads, 1))
        for i, n in enumerate(squad_sizes):
            name = team.name if squads < 2 else f"{team.name}-{i + 1}"
            boss = head
            if squads:
                boss = hire("manager", team, name, head, office_pick(rng), member=False)
            for _ in range(n):
                hire(team.role, team, name, boss, office_pick(rng), member=True)

    _turnover(rng, config, staff)
    return staff


def _workday_morning(t: datetime) -> datetime:
    """Move a hire date to 09:00 UTC on a weekday (people start on working days)."""
    d: date = t.date()
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return datetime(d.year, d.month, d.day, 9, tzinfo=UTC)


def _turnover(rng: random.Random, config: SimConfig, staff: list[Employee]) -> None:
    """A few non-managers joined during the window; a few left before or during it.

    Only teams with at least three members of the role are touched, so every role keeps
    someone active throughout the window.
    """
    by_role: dict[str, int] = {}
    for e in staff:
        by_role[e.role] = by_role.get(e.role, 0) + 1
    for e in staff:
        if e.role == "manager" or by_role[e.role] < 3:
            continue
        r = rng.random()
        if r < 0.03:  # left before the window
            lo = e.hired_at + timedelta(days=60)
            if lo < config.start - DAY:
                e.left_at = _workday_morning(lo + (config.start - lo) * rng.random())
                if e.left_at >= config.start:
                    e.left_at = None
        elif r < 0.05 and config.days >= 10:  # leaves during the window
            e.left_at = _workday_morning(
                config.start + timedelta(days=5 + rng.randrange(config.days - 7))
            )
            if e.left_at >= config.end:
                e.left_at = None
        elif r < 0.07 and config.days >= 10:  # new hire
            e.hired_at = _workday_morning(
                config.start + timedelta(days=rng.randrange(config.days - 7))
            )
        if e.left_at is not None and e.left_at <= e.hired_at:
            e.left_at = None
        if e.left_at is not None or e.hired_at >= config.start:
            by_role[e.role] -= 1
