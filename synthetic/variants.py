"""Curated name-spelling tables: transliteration variants, native diacritics and ASCII folding.

Pure data plus small lookups, for noise functions that call them once per *distinct* value. Names
are matched whole and exactly as stored in the population (upper-case ASCII, as in the Census
name tables); callers that want token-level variants split the value themselves.

Why one person's name gets several spellings -- the sources behind :data:`TRANSLITERATION_SETS`:

- Korean: McCune-Reischauer (1939; South Korea's official system 1984-2000) vs the Revised
  Romanization of Korean (Ministry of Culture and Tourism, Proclamation No. 2000-8, 7 July 2000)
  vs customary passport spellings. Surnames were left out of the 2000 reform, so customary forms
  dominate (in 2007 passport applications 98.5% of holders of the surname 이 spelled it LEE, 1.0%
  YI; Wikipedia, "Lee (Korean surname)"), but agencies that romanize from Hangul produce RR or MR.
- Chinese: Hanyu Pinyin (PRC, 1958; ISO 7098) vs Wade-Giles (Taiwan and older US records; the
  Library of Congress used it until 2000) with its apostrophes and umlauts dropped, vs Cantonese
  (Hong Kong government romanization) and Hokkien/Teochew customary spellings of the same
  character.
- Cyrillic: BGN/PCGN (1947; initial E -> YE, -IY), ALA-LC, the ICAO Doc 9303 table adopted for
  Russian passports in the 2010s (IU, IA, -II), older French/German spellings (-OFF, -EI, OU)
  and English equivalents used in customary spellings (ALEXANDER).
- Arabic (and Persian, Urdu, Bengali renderings of Arabic names): there is no single standard in
  US records; passports follow national conventions (Egyptian G for jim, Maghreb French OU/CH),
  which ICAO describes as transcribed "on an ad-hoc basis" (TAG/MRTD/20-WP/17, 2011).
- Japanese: modified Hepburn drops the long-vowel macron (SATO); Japanese passports also allow OH
  for a long O (SATOH).
- German and Scandinavian letters: ICAO Doc 9303 Part 3 (machine-readable zone) transcribes
  Ä/Ö/Ü as AE/OE/UE and Ø as OE, while systems that simply drop diacritics give A/O/U/O.
- Hebrew, Ge'ez (Amharic/Tigrinya) and South Asian scripts: no standard romanization in US
  records; the sets list customary spellings (Israeli vs Ashkenazi, Italian-influenced Eritrean).

A set lists spellings under which *one person's* name is genuinely recorded by different
agencies, not merely similar names. Sets are not conditioned on the holder's origin: LEE has
Korean and Chinese variants although most US LEEs are neither, so callers that want realism
should gate by origin (e.g. the surname's ``pctapi``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

TRANSLITERATION_SETS: tuple[tuple[str, ...], ...] = (
    # --- Arabic given names and surnames: no single romanization standard in US records;
    # vowels (a/e/o/u), doubled consonants and long vowels (EE, OU) vary by issuing country.
    ("MOHAMMED", "MUHAMMAD", "MOHAMED", "MOHAMMAD", "MOHAMAD", "MUHAMMED", "MUHAMAD"),
    ("AHMED", "AHMAD"),
    ("HUSSEIN", "HUSSAIN", "HUSAIN", "HUSEIN"),
    ("ABDUL", "ABDEL", "ABDAL"),
    ("ABDULLAH", "ABDALLAH", "ABDULLA"),
    ("ABDULRAHMAN", "ABDELRAHMAN", "ABDURRAHMAN"),
    ("YOUSSEF", "YUSUF", "YOUSEF", "YOUSIF", "YOUSUF"),
    ("OMAR", "UMAR"),
    ("KHALED", "KHALID"),
    ("MUSTAFA", "MOSTAFA", "MUSTAPHA"),
    ("OSAMA", "USAMA"),
    ("FATIMA", "FATIMAH", "FATMA"),
    ("AISHA", "AYESHA", "AICHA", "AISHAH"),
    ("IBRAHIM", "EBRAHIM", "IBRAHEEM"),
    ("HASSAN", "HASAN"),
    # Somali orthography writes Mahmud as Maxamuud, anglicized MOHAMUD.
    ("MAHMOUD", "MAHMUD", "MAHMOOD", "MOHAMUD"),
    ("HAMID", "HAMEED"),
    ("RASHID", "RASHEED", "RACHID"),
    ("SAEED", "SAID", "SAIED"),
    ("KARIM", "KAREEM"),
    ("NASSER", "NASIR", "NASER"),
    # Egyptian Arabic pronounces jim as G.
    ("JAMAL", "GAMAL"),
    ("JAMIL", "JAMEEL", "GAMIL"),
    ("HAMZA", "HAMZAH"),
    ("ZAINAB", "ZEINAB", "ZAYNAB"),
    ("MARYAM", "MARIAM"),
    ("KHADIJA", "KHADIJAH"),
    ("AMINA", "AMINAH"),
    ("TARIQ", "TAREK", "TARIK", "TAREQ"),
    ("WALEED", "WALID"),
    ("SAMIR", "SAMEER"),
    ("YASSER", "YASIR", "YASER"),
    ("MOUSA", "MUSA", "MOUSSA"),
    ("SULEIMAN", "SULAIMAN", "SULAYMAN"),
    ("KHALIL", "KHALEEL"),
    ("NOUR", "NOOR", "NUR"),
    # --- Persian: same letters, Persian vowel values (HOSSEIN for Husayn), Q/GH for qaf.
    ("HOSSEIN", "HOSEIN", "HUSSEIN"),
    ("HOSSEINI", "HUSSEINI"),
    ("MEHDI", "MAHDI"),
    ("JAVAD", "JAWAD"),
    ("REZAEI", "REZAIE", "REZAEE", "REZAI"),
    ("GHASEMI", "GHASSEMI"),
    # --- South Asian (Bengali, Hindi, Urdu): no standard romanization; customary spellings.
    (
        "CHOUDHURY",
        "CHOWDHURY",
        "CHAUDHARY",
        "CHAUDHRY",
        "CHAUDHURI",
        "CHOUDHARY",
        "CHAUDHARI",
        "CHOWDHARY",
    ),
    ("HOSSAIN", "HOSSEN", "HUSSAIN"),
    ("MUKHERJEE", "MUKHERJI", "MUKERJEE", "MUKERJI"),
    ("CHATTERJEE", "CHATTERJI"),
    ("BANERJEE", "BANERJI"),
    ("GANGULY", "GANGULI"),
    ("BHATTACHARYA", "BHATTACHARYYA", "BHATTACHARJEE"),
    ("CHAKRABORTY", "CHAKRABARTI", "CHAKRAVARTY", "CHAKRAVARTI", "CHAKRABARTY"),
    ("QURESHI", "QURAISHI", "KURESHI"),
    ("RAHMAN", "REHMAN"),
    ("SIDDIQUI", "SIDDIQI", "SIDDIQUE"),
    ("SRIVASTAVA", "SRIVASTAV", "SHRIVASTAVA"),
    # --- Korean surnames: customary vs McCune-Reischauer vs Revised Romanization (2000) vs
    # North Korean (initial R). One-letter spellings (RR "I" for 이, "O" for 오) are left out: in
    # a name field they are indistinguishable from an initial, so OH has no safe variant.
    ("LEE", "YI", "RHEE", "RI"),
    ("KIM", "GIM"),
    ("PARK", "PAK", "BAK"),
    ("CHOI", "CHOE"),
    ("JUNG", "CHUNG", "JEONG", "CHONG"),
    ("KANG", "GANG"),
    ("CHO", "JO"),
    ("YOON", "YUN"),
    ("SHIN", "SIN"),
    ("LIM", "IM", "RIM"),
    ("SEO", "SUH"),
    ("AHN", "AN"),
    ("JEON", "JUN", "CHUN"),
    ("JANG", "CHANG"),
    ("MOON", "MUN"),
    ("KWON", "GWON"),
    ("KOO", "KU", "GU"),
    ("BAEK", "PAIK", "PAEK"),
    ("KO", "KOH", "GO"),
    ("HEO", "HUH", "HUR"),
    ("YOO", "YU", "RYU"),  # 유, and 류 whose initial R South Koreans often drop
    ("BAE", "PAE"),
    ("NOH", "ROH"),
    ("SON", "SOHN"),
    ("KWAK", "GWAK"),
    ("SUNG", "SEONG"),
    ("HYUN", "HYEON"),
    ("SHIM", "SIM"),
    ("UM", "UHM", "EOM"),
    ("BYUN", "BYEON"),
    ("HAM", "HAHM"),
    # --- Chinese surnames: Hanyu Pinyin vs Wade-Giles vs Cantonese / Hokkien customary forms.
    # One Latin spelling can stand for several characters (WONG for 王 and 黃), so a spelling may
    # sit in more than one set.
    ("ZHANG", "CHANG", "CHEUNG"),  # 張
    ("CHEN", "CHAN", "TAN"),  # 陳: Cantonese CHAN, Hokkien TAN
    ("WANG", "WONG"),  # 王
    ("LI", "LEE"),  # 李
    ("LIU", "LAU"),  # 劉
    ("HUANG", "WONG", "HWANG"),  # 黃
    ("ZHOU", "CHOU", "CHOW", "CHAU"),  # 周
    ("WU", "NG", "GOH"),  # 吳: Cantonese NG, Hokkien GOH
    ("XU", "HSU", "TSUI"),  # 徐
    ("XU", "HSU", "HUI"),  # 許
    ("LIN", "LAM", "LIM"),  # 林: Cantonese LAM, Hokkien LIM
    ("ZHAO", "CHAO", "CHIU"),  # 趙
    ("YANG", "YEUNG"),  # 楊
    ("ZHU", "CHU"),  # 朱
    ("GUO", "KUO", "KWOK"),  # 郭
    ("HE", "HO"),  # 何
    ("LUO", "LO", "LAW"),  # 羅
    ("GAO", "KAO", "KO"),  # 高
    ("ZHENG", "CHENG"),  # 鄭
    ("LIANG", "LEUNG"),  # 梁
    ("XIE", "HSIEH", "TSE"),  # 謝
    ("SONG", "SUNG"),  # 宋
    ("TANG", "TONG"),  # 唐
    ("DENG", "TENG", "TANG"),  # 鄧
    ("FENG", "FUNG"),  # 馮
    ("CAI", "TSAI", "CHOI", "CHUA"),  # 蔡
    ("JIANG", "CHIANG"),  # 蔣
    ("ZENG", "TSENG", "TSANG"),  # 曾
    ("XIAO", "HSIAO", "SIU"),  # 蕭
    ("QIU", "CHIU", "YAU"),  # 邱
    ("QIAN", "CHIEN"),  # 錢
    ("ZHONG", "CHUNG"),  # 鍾
    ("YE", "YEH", "YIP"),  # 葉
    ("ZHUANG", "CHUANG"),  # 莊
    ("PAN", "POON"),  # 潘
    ("DU", "TU"),  # 杜
    # --- Japanese: Hepburn without macrons vs the passport OH spelling of a long O.
    ("SATO", "SATOH"),
    ("ITO", "ITOH"),
    ("KATO", "KATOH"),
    ("SAITO", "SAITOH"),
    ("KONDO", "KONDOH"),
    ("ENDO", "ENDOH"),
    ("GOTO", "GOTOH"),
    ("OTA", "OHTA"),  # 太田
    ("ANDO", "ANDOH"),
    ("KUDO", "KUDOH"),
    # --- Russian / Ukrainian (Cyrillic): BGN/PCGN vs ICAO 2013 passports vs customary/French.
    ("ALEKSANDR", "ALEXANDER", "ALEXANDR", "ALEXANDRE"),
    ("SERGEI", "SERGEY", "SERGUEI"),
    ("DMITRI", "DMITRY", "DMITRIY", "DMITRII"),
    ("YURI", "YURY", "YURIY", "IURII"),
    ("TATIANA", "TATYANA"),
    ("NATALIA", "NATALYA", "NATALIYA"),
    ("ALEKSEI", "ALEXEI", "ALEKSEY", "ALEXEY"),
    ("YEKATERINA", "EKATERINA"),
    ("YEVGENIY", "YEVGENY", "EVGENY", "EVGENIY", "EVGENII"),
    ("YEVGENIYA", "EVGENIYA", "EVGENIA"),
    ("ANDREI", "ANDREY"),
    ("NIKOLAI", "NIKOLAY"),
    ("VALERI", "VALERY", "VALERIY"),
    ("VITALI", "VITALY", "VITALIY", "VITALII"),
    ("GENNADI", "GENNADY", "GENNADIY"),
    ("ANATOLI", "ANATOLY", "ANATOLIY"),
    ("VASILI", "VASILY", "VASILIY"),
    ("ARKADI", "ARKADY", "ARKADIY"),
    ("YULIA", "YULIYA", "IULIIA"),
    ("ELENA", "YELENA"),
    ("ANASTASIA", "ANASTASIYA"),
    ("LYUDMILA", "LUDMILA", "LIUDMILA"),
    ("OLESYA", "OLESIA"),
    ("KSENIA", "KSENIYA"),
    ("MAKSIM", "MAXIM"),
    ("ILYA", "ILIA"),
    ("YAROSLAV", "IAROSLAV"),
    ("IVANOV", "IVANOFF"),
    ("PETROV", "PETROFF"),
    ("SMIRNOV", "SMIRNOFF"),
    ("POPOV", "POPOFF"),
    ("VOLKOV", "VOLKOFF"),
    ("SOKOLOV", "SOKOLOFF"),
    ("ORLOV", "ORLOFF"),
    ("ROMANOV", "ROMANOFF"),
    ("ZAITSEV", "ZAYTSEV"),
    ("FEDOROV", "FEDOROFF"),
    ("YEGOROV", "EGOROV"),
    ("KOVALSKY", "KOVALSKI"),
    ("VISHNEVSKY", "VISHNEVSKIY"),
    # --- Hebrew / Yiddish: no US standard; het as CH or H, Israeli vs Ashkenazi vowels.
    ("CHAIM", "HAIM", "CHAYIM"),
    ("YITZCHAK", "YITZHAK", "ITZHAK", "YITZCHOK"),
    ("YAAKOV", "YAKOV", "YAACOV"),
    ("MENACHEM", "MENAHEM"),
    ("RIVKA", "RIVKAH"),
    ("TZVI", "ZVI"),
    ("CHAVA", "HAVA"),
    ("YEHUDA", "YEHUDAH"),
    ("ELIYAHU", "ELIAHU"),
    # --- Ethiopian / Eritrean (Ge'ez script): no standard; Eritrean spellings are
    # Italian-influenced (C for K, GH for G).
    ("TEKLE", "TECLE"),
    ("GEBRE", "GHEBRE"),
    ("TEWOLDE", "TEWELDE"),
    # --- German and Scandinavian: ICAO Doc 9303 transcription (UE/OE/AE) vs dropped diacritics.
    ("MULLER", "MUELLER"),
    ("SCHRODER", "SCHROEDER"),
    ("KONIG", "KOENIG"),
    ("BOHM", "BOEHM"),
    ("GOTZ", "GOETZ"),
    ("KOHLER", "KOEHLER"),
    ("SCHAFER", "SCHAEFER"),
    ("JAGER", "JAEGER"),
    ("KRUGER", "KRUEGER"),
    ("MOLLER", "MOELLER"),
    ("FROHLICH", "FROEHLICH"),
    ("SCHUTZ", "SCHUETZ"),
    ("JURGEN", "JUERGEN"),
    ("GUNTHER", "GUENTHER"),
    ("BJORN", "BJOERN"),
    # --- Spanish / Portuguese: the same name spelled two ways in civil registries (-I/-Y,
    # -SS-/-S-, C/S, J/H); SOUZA keeps the spelling that the Portuguese (1911) and Brazilian
    # (1943) orthography reforms replaced with SOUSA.
    ("YESENIA", "YESSENIA"),
    ("ARACELI", "ARACELY"),
    ("NAYELI", "NAYELY"),
    ("MARICELA", "MARISELA"),
    ("YAJAIRA", "YAHAIRA"),
    ("SOUSA", "SOUZA"),
)
"""Sets of upper-case ASCII spellings under which one person's name is recorded by different
agencies. A spelling may appear in several sets (LEE is Korean and Chinese)."""

# Upper-case ASCII letters, optionally joined by single spaces, hyphens or apostrophes.
_SPELLING = re.compile(r"^[A-Z]+(?:[ '-][A-Z]+)*$")


def _check_sets(sets: tuple[tuple[str, ...], ...]) -> None:
    """Raise ValueError if a set is malformed (cheap: runs at import)."""
    for members in sets:
        bad = [s for s in members if not isinstance(s, str) or not _SPELLING.match(s)]
        if bad:
            raise ValueError(f"transliteration set {members}: not upper-case ASCII: {bad}")
        if len(set(members)) != len(members):
            raise ValueError(f"transliteration set {members}: duplicate spelling")
        if len(members) < 2:
            raise ValueError(f"transliteration set {members}: fewer than 2 spellings")


_check_sets(TRANSLITERATION_SETS)

# spelling -> indexes of the sets that contain it
_SETS_OF: dict[str, list[int]] = {}
for _i, _members in enumerate(TRANSLITERATION_SETS):
    for _name in _members:
        _SETS_OF.setdefault(_name, []).append(_i)
del _i, _members, _name


@lru_cache(maxsize=4096)
def _variants(name: str) -> tuple[str, ...]:
    others = {s for i in _SETS_OF.get(name, ()) for s in TRANSLITERATION_SETS[i]}
    others.discard(name)
    return tuple(sorted(others))


def transliteration_variants(name: str) -> tuple[str, ...]:
    """Other spellings of ``name``: the other members of every set that contains it, sorted.

    ``name`` is matched whole and exactly (upper-case ASCII). Returns ``()`` for a name in no set
    and for non-str input (``None``, NaN). Results are cached, so the same tuple comes back.
    """
    # Type check outside the cache: unhashable input must not raise.
    if not isinstance(name, str):
        return ()
    return _variants(name)


# ASCII name -> native spelling, as an agency that keeps diacritics records it. Only names whose
# ASCII form almost always stands for one native spelling are listed: Vietnamese HUNG (Hùng or
# Hưng), DUNG (Dũng or Dung) and THUY (Thủy or Thúy) are ambiguous and left out, as are names
# common without diacritics in another language (Italian LUCIA, English MARTIN).
ACCENTED_FORMS: Mapping[str, str] = MappingProxyType(
    {
        # Spanish surnames (Real Academia Española accentuation)
        "ACUNA": "ACUÑA",
        "ALARCON": "ALARCÓN",
        "ALVAREZ": "ÁLVAREZ",
        "AVILA": "ÁVILA",
        "AVILES": "AVILÉS",
        "BANUELOS": "BAÑUELOS",
        "BARRAGAN": "BARRAGÁN",
        "BELTRAN": "BELTRÁN",
        "BENITEZ": "BENÍTEZ",
        "BRISENO": "BRISEÑO",
        "CALDERON": "CALDERÓN",
        "CARDENAS": "CÁRDENAS",
        "CASTANEDA": "CASTAÑEDA",
        "CHACON": "CHACÓN",
        "CHAVEZ": "CHÁVEZ",
        "COLON": "COLÓN",
        "CORTES": "CORTÉS",
        "DAVILA": "DÁVILA",
        "DIAZ": "DÍAZ",
        "DOMINGUEZ": "DOMÍNGUEZ",
        "DURAN": "DURÁN",
        "FERNANDEZ": "FERNÁNDEZ",
        "GALVAN": "GALVÁN",
        "GALVEZ": "GÁLVEZ",
        "GARCIA": "GARCÍA",
        "GOMEZ": "GÓMEZ",
        "GONZALEZ": "GONZÁLEZ",
        "GUTIERREZ": "GUTIÉRREZ",
        "GUZMAN": "GUZMÁN",
        "HERNANDEZ": "HERNÁNDEZ",
        "IBANEZ": "IBÁÑEZ",
        "JIMENEZ": "JIMÉNEZ",
        "JUAREZ": "JUÁREZ",
        "LOPEZ": "LÓPEZ",
        "MARQUEZ": "MÁRQUEZ",
        "MARTINEZ": "MARTÍNEZ",
        "MEJIA": "MEJÍA",
        "MENDEZ": "MÉNDEZ",
        "MUNIZ": "MUÑIZ",
        "MUNOZ": "MUÑOZ",
        "NUNEZ": "NÚÑEZ",
        "ORDONEZ": "ORDÓÑEZ",
        "PATINO": "PATIÑO",
        "PENA": "PEÑA",
        "PEREZ": "PÉREZ",
        "QUINONES": "QUIÑONES",
        "QUINONEZ": "QUIÑÓNEZ",
        "RAMIREZ": "RAMÍREZ",
        "RINCON": "RINCÓN",
        "RIOS": "RÍOS",
        "RODRIGUEZ": "RODRÍGUEZ",
        "SANCHEZ": "SÁNCHEZ",
        "SOLIS": "SOLÍS",
        "SUAREZ": "SUÁREZ",
        "TELLEZ": "TÉLLEZ",
        "TREVINO": "TREVIÑO",
        "VALDES": "VALDÉS",
        "VASQUEZ": "VÁSQUEZ",
        "VAZQUEZ": "VÁZQUEZ",
        "VELASQUEZ": "VELÁSQUEZ",
        "VELAZQUEZ": "VELÁZQUEZ",
        "YANEZ": "YÁÑEZ",
        "ZUNIGA": "ZÚÑIGA",
        # Spanish given names
        "ANDRES": "ANDRÉS",
        "ASUNCION": "ASUNCIÓN",
        "CONCEPCION": "CONCEPCIÓN",
        "EFREN": "EFRÉN",
        "HECTOR": "HÉCTOR",
        "JESUS": "JESÚS",
        "JOAQUIN": "JOAQUÍN",
        "JOSE": "JOSÉ",
        "JOSUE": "JOSUÉ",
        "MARIA": "MARÍA",
        "MATIAS": "MATÍAS",
        "MOISES": "MOISÉS",
        "RAMON": "RAMÓN",
        "RAUL": "RAÚL",
        "ROCIO": "ROCÍO",
        "RUBEN": "RUBÉN",
        "TOMAS": "TOMÁS",
        # Portuguese
        "BRANDAO": "BRANDÃO",
        "CONCEICAO": "CONCEIÇÃO",
        "FALCAO": "FALCÃO",
        "GONCALVES": "GONÇALVES",
        "GUIMARAES": "GUIMARÃES",
        "JOAO": "JOÃO",
        "MAGALHAES": "MAGALHÃES",
        "MARCIO": "MÁRCIO",
        "SEBASTIAO": "SEBASTIÃO",
        "SIMOES": "SIMÕES",
        # Vietnamese surnames (quốc ngữ; Đ does not fold under NFKD, see ASCII_FOLD)
        "BUI": "BÙI",
        "DANG": "ĐẶNG",
        "DIEP": "DIỆP",
        "DINH": "ĐINH",
        "DO": "ĐỖ",
        "DOAN": "ĐOÀN",
        "DUONG": "DƯƠNG",
        "HO": "HỒ",
        "HOANG": "HOÀNG",
        "HUYNH": "HUỲNH",
        "KIEU": "KIỀU",
        "LE": "LÊ",
        "LUONG": "LƯƠNG",
        "LUU": "LƯU",
        "LY": "LÝ",
        "NGO": "NGÔ",
        "NGUYEN": "NGUYỄN",
        "PHAM": "PHẠM",
        "QUACH": "QUÁCH",
        "THACH": "THẠCH",
        "TRAN": "TRẦN",
        "TRIEU": "TRIỆU",
        "TRINH": "TRỊNH",
        "TRUONG": "TRƯƠNG",
        "VO": "VÕ",
        "VU": "VŨ",
        "VUONG": "VƯƠNG",
        # Vietnamese given and middle names
        "CUONG": "CƯỜNG",
        "DAT": "ĐẠT",
        "DUC": "ĐỨC",
        "HIEU": "HIẾU",
        "HUONG": "HƯƠNG",
        "KHANH": "KHÁNH",
        "NGOC": "NGỌC",
        "PHUC": "PHÚC",
        "PHUONG": "PHƯƠNG",
        "QUYNH": "QUỲNH",
        "THAO": "THẢO",
        "THI": "THỊ",
        "TUAN": "TUẤN",
        "VAN": "VĂN",
        # German
        "BOHM": "BÖHM",
        "FROHLICH": "FRÖHLICH",
        "GOTZ": "GÖTZ",
        "JAGER": "JÄGER",
        "JURGEN": "JÜRGEN",
        "KOHLER": "KÖHLER",
        "KONIG": "KÖNIG",
        "KRUGER": "KRÜGER",
        "MULLER": "MÜLLER",
        "SCHAFER": "SCHÄFER",
        "SCHRODER": "SCHRÖDER",
        # French
        "AMELIE": "AMÉLIE",
        "BENOIT": "BENOÎT",
        "CELINE": "CÉLINE",
        "FRANCOIS": "FRANÇOIS",
        "FRANCOISE": "FRANÇOISE",
        "GAETAN": "GAËTAN",
        "LEFEVRE": "LEFÈVRE",
        "RENE": "RENÉ",
        "STEPHANE": "STÉPHANE",
        # Danish / Norwegian (Ø does not fold under NFKD)
        "SOREN": "SØREN",
        # Polish (Ł does not fold under NFKD)
        "BOGUSLAW": "BOGUSŁAW",
        "BOZENA": "BOŻENA",
        "DABROWSKI": "DĄBROWSKI",
        "GRAZYNA": "GRAŻYNA",
        "JOZEF": "JÓZEF",
        "KOZLOWSKI": "KOZŁOWSKI",
        "KROL": "KRÓL",
        "LUKASZ": "ŁUKASZ",
        "MALGORZATA": "MAŁGORZATA",
        "PAWEL": "PAWEŁ",
        "PAWLOWSKI": "PAWŁOWSKI",
        "SLAWOMIR": "SŁAWOMIR",
        "STANISLAW": "STANISŁAW",
        "SZYMANSKI": "SZYMAŃSKI",
        "WISNIEWSKI": "WIŚNIEWSKI",
        "WLADYSLAW": "WŁADYSŁAW",
        "WOJCIK": "WÓJCIK",
        "WOZNIAK": "WOŹNIAK",
        "ZAJAC": "ZAJĄC",
        "ZIELINSKI": "ZIELIŃSKI",
        # Czech, Hungarian, Turkish
        "DVORAK": "DVOŘÁK",
        "HORVATH": "HORVÁTH",
        "KOVACS": "KOVÁCS",
        "NEMETH": "NÉMETH",
        "SZABO": "SZABÓ",
        "TOTH": "TÓTH",
        "CELIK": "ÇELIK",
        "OZDEMIR": "ÖZDEMIR",
        "OZTURK": "ÖZTÜRK",
        "SAHIN": "ŞAHIN",
    }
)
"""ASCII upper-case name -> its native spelling with diacritics (every value folds back to its
key under :func:`fold_to_ascii`)."""


def accented_form(name: str) -> str | None:
    """The native diacritic spelling of ``name`` (e.g. ``"NGUYEN"`` -> ``"NGUYỄN"``), else None.

    Returns None for names not in :data:`ACCENTED_FORMS` and for non-str input.
    """
    return ACCENTED_FORMS.get(name) if isinstance(name, str) else None


# Letters that NFKD does not decompose into an ASCII base letter plus combining marks, so
# ``normalize("NFKD", s).encode("ascii", "ignore")`` deletes them ("ĐẶNG" -> "ANG"). Replacements
# follow ICAO Doc 9303 Part 3 (section 6, transliteration of multinational Latin characters),
# except that Ø folds to the single letter O (as a diacritic-dropping system writes it; the OE
# transcription is a TRANSLITERATION_SETS variant). ß folds to "SS", not "ss": these tables hold
# upper-case names, where ß stands in for the rarely used capital ẞ (and str.upper gives "SS").
ASCII_FOLD: Mapping[str, str] = MappingProxyType(
    {
        "Đ": "D",  # Vietnamese, Serbo-Croatian
        "đ": "d",
        "Ð": "D",  # Icelandic eth (looks like Đ, different code point)
        "ð": "d",
        "Ł": "L",  # Polish
        "ł": "l",
        "Ø": "O",  # Danish, Norwegian
        "ø": "o",
        "ß": "SS",  # German
        "ẞ": "SS",
        "Æ": "AE",
        "æ": "ae",
        "Œ": "OE",
        "œ": "oe",
        "Þ": "TH",  # Icelandic thorn
        "þ": "th",
        "ı": "i",  # Turkish dotless i
        "Ħ": "H",  # Maltese
        "ħ": "h",
        "Ŧ": "T",  # Northern Sami
        "ŧ": "t",
        "Ə": "A",  # Azerbaijani schwa: passports write ƏLIYEV as ALIYEV
        "ə": "a",
    }
)
"""Characters that NFKD plus ASCII-ignore would delete, mapped to their ASCII replacement."""

ASCII_FOLD_TABLE: dict[int, str] = str.maketrans(dict(ASCII_FOLD))
"""``str.translate`` table for :data:`ASCII_FOLD` (also usable with pandas ``.str.translate``)."""


def fold_to_ascii(s: str) -> str:
    """``s`` reduced to ASCII: apply :data:`ASCII_FOLD`, decompose (NFKD), drop non-ASCII.

    ``"ĐẶNG"`` -> ``"DANG"``, ``"ŁUKASZ"`` -> ``"LUKASZ"``, ``"STRAẞE"`` -> ``"STRASSE"``.
    """
    # NFKD runs first so that accented forms of ASCII_FOLD letters (Ǿ = Ø + acute, Ǽ = Æ + acute)
    # are folded too; NFKD leaves the ASCII_FOLD letters themselves unchanged, so the order
    # does not matter for them.
    folded = unicodedata.normalize("NFKD", s).translate(ASCII_FOLD_TABLE)
    return folded.encode("ascii", "ignore").decode("ascii")


def _check_accented(forms: Mapping[str, str]) -> None:
    """Raise ValueError unless every key is upper-case ASCII and every value folds back to it."""
    for key, value in forms.items():
        if not _SPELLING.match(key) or value == key or fold_to_ascii(value) != key:
            raise ValueError(f"ACCENTED_FORMS[{key!r}] = {value!r} does not fold back to its key")


_check_accented(ACCENTED_FORMS)
