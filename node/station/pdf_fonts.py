"""Fonts for the station's printed records (the FIR copy, the registers), and the text fitted
to them: which TrueType/OpenType files this machine has, Malayalam drawn properly, and text a
reader can copy back out of the PDF.

Fonts: a Malayalam font found on the machine (Manjari, Noto Sans/Serif Malayalam, Rachana, Meera,
Gayathri, AnjaliOldLipi; Debian's fonts-smc-* and fonts-noto-* packages) is embedded beside
DejaVu Sans, and each character is drawn with the first font that has it. With uharfbuzz
installed (a dependency), fpdf2 shapes Malayalam with HarfBuzz: conjuncts become the font's
ligatures and the vowel signs written before a consonant (െ േ ൈ, the first half of ൊ ോ ൌ) are
drawn before it, while the text stays in its stored (logical) order. Without uharfbuzz the
signs are moved by hand (`visual_order_malayalam`), which reads correctly but copies out
reordered. With no Malayalam font, Malayalam text is transliterated to Latin; with no TrueType
font at all, the PDF core font Helvetica is used. No input makes a PDF fail: a character no
font has prints as "?".

Copying text back out: a PDF maps each drawn glyph to text through the font's ToUnicode table.
HarfBuzz may draw one syllable as several glyphs (കേ is the sign's glyph, then KA's); fpdf2
gives the syllable's text to the first glyph and leaves the others unmapped, and readers then
invent a character for each of them. `ShapedTextOutput` maps those glyphs to no text, so the
syllable copies out exactly as it was written (tests/node/station/test_register_export.py).

This module draws nothing and reads no record: it must never import the web layer, so that
the command line prints registers without it.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from fpdf import FPDF
from fpdf.fonts import TTFFont
from fpdf.output import OutputProducer
from fpdf.syntax import PDFContentStream

from node.records.names import transliterate_malayalam

__all__ = [
    "FontSet",
    "ShapedTextOutput",
    "TextFitter",
    "cache_shaped_widths",
    "coverage",
    "find_fonts",
    "setup_fonts",
    "shaping_available",
    "text_pieces",
    "visual_order_malayalam",
]

log = logging.getLogger(__name__)

FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local/share/fonts",
    Path.home() / ".fonts",
)
# Malayalam fonts in order of preference, by file name (regular, bold).
MALAYALAM_FONTS: tuple[tuple[str, str], ...] = (
    ("Manjari-Regular", "Manjari-Bold"),
    ("NotoSansMalayalam-Regular", "NotoSansMalayalam-Bold"),
    ("NotoSansMalayalamUI-Regular", "NotoSansMalayalamUI-Bold"),
    ("NotoSerifMalayalam-Regular", "NotoSerifMalayalam-Bold"),
    ("Rachana-Regular", "Rachana-Bold"),
    ("Rachana", "Rachana-Bold"),
    ("Meera-Regular", "Meera-Bold"),
    ("Meera", "Meera-Bold"),
    ("Gayathri-Regular", "Gayathri-Bold"),
    ("AnjaliOldLipi-Regular", "AnjaliOldLipi-Bold"),
    ("AnjaliOldLipi", "AnjaliOldLipi-Bold"),
)
LATIN_FONTS: tuple[tuple[str, str], ...] = (
    ("DejaVuSans", "DejaVuSans-Bold"),
    ("LiberationSans-Regular", "LiberationSans-Bold"),
    ("NotoSans-Regular", "NotoSans-Bold"),
)
FONT_SUFFIXES = (".ttf", ".otf")

# Characters the core font lacks, written the way a typed form would.
_PLAIN = {
    "₹": "Rs.",
    "—": "-",
    "–": "-",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "…": "...",
    "•": "*",
    "\u00a0": " ",
}
_ZERO_WIDTH = {"\u200b", "\u200c", "\u200d", "\ufeff"}
_ML_CONSONANT = re.compile(r"[\u0d15-\u0d39]")
_ML_VIRAMA = "\u0d4d"
_ML_PRE_BASE = {"\u0d46", "\u0d47", "\u0d48"}
# Two-part vowel signs: (part before the syllable, part after).
_ML_TWO_PART = {
    "\u0d4a": ("\u0d46", "\u0d3e"),
    "\u0d4b": ("\u0d47", "\u0d3e"),
    "\u0d4c": ("\u0d46", "\u0d57"),
}
_ML_RUN = re.compile(r"[\u0d00-\u0d7f\u200c\u200d]+")


# -- fonts -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FontSet:
    """The TrueType/OpenType files a copy is drawn with; all None means the PDF core font."""

    regular: Path | None = None
    bold: Path | None = None
    malayalam: Path | None = None
    malayalam_bold: Path | None = None

    @property
    def has_malayalam(self) -> bool:
        return self.malayalam is not None

    @classmethod
    def core(cls) -> FontSet:
        """No embedded font: Helvetica, Latin-1 only (Malayalam is transliterated)."""
        return cls()


def _font_files(dirs: Iterable[Path]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in dirs:
        if not folder.is_dir():
            continue
        for root, _subdirs, files in os.walk(folder):
            for name in sorted(files):
                stem, suffix = os.path.splitext(name)
                if suffix.lower() in FONT_SUFFIXES:
                    found.setdefault(stem, Path(root) / name)
    return found


def _pick(files: dict[str, Path], names: Sequence[tuple[str, str]]) -> tuple[Path, Path] | None:
    for regular, bold in names:
        if regular in files:
            return files[regular], files.get(bold, files[regular])
    return None


def find_fonts(dirs: Iterable[Path] | None = None) -> FontSet:
    """The fonts this machine has for printed records (the default search is done once)."""
    if dirs is None:
        return _default_fonts()
    files = _font_files(dirs)
    latin = _pick(files, LATIN_FONTS)
    malayalam = _pick(files, MALAYALAM_FONTS)
    return FontSet(
        regular=latin[0] if latin else None,
        bold=latin[1] if latin else None,
        malayalam=malayalam[0] if malayalam else None,
        malayalam_bold=malayalam[1] if malayalam else None,
    )


@functools.cache
def _default_fonts() -> FontSet:
    fonts = find_fonts(FONT_DIRS)
    if not fonts.has_malayalam:
        log.warning(
            "no Malayalam font found (install fonts-smc-manjari): FIR copies and registers "
            "transliterate Malayalam text to Latin letters"
        )
    return fonts


@functools.cache
def coverage(path: Path) -> frozenset[int]:
    """The code points the font at `path` has glyphs for."""
    with TTFont(str(path), lazy=True) as font:
        cmap = font.getBestCmap() or {}
        return frozenset(cmap)


@functools.cache
def shaping_available() -> bool:
    """Whether uharfbuzz (fpdf2's shaping engine) is installed."""
    return importlib.util.find_spec("uharfbuzz") is not None


def visual_order_malayalam(text: str) -> str:
    """Reorders Malayalam vowel signs drawn before their syllable, for unshaped output.

    The script stores "കേ" as KA + EE sign, but the sign is drawn first: without a shaping
    engine the sign (or the first part of a two-part sign) is moved before the consonant
    cluster it belongs to. Text without such signs comes back unchanged.
    """
    if not any(ch in _ML_PRE_BASE or ch in _ML_TWO_PART for ch in text):
        return text
    out: list[str] = []
    cluster_start = 0
    for ch in text:
        if _ML_CONSONANT.match(ch):
            joined = len(out) >= 1 and out[-1] == _ML_VIRAMA
            if not joined:
                cluster_start = len(out)
            out.append(ch)
        elif ch in _ML_PRE_BASE:
            out.insert(cluster_start, ch)
        elif ch in _ML_TWO_PART:
            before, after = _ML_TWO_PART[ch]
            out.insert(cluster_start, before)
            out.append(after)
        else:
            out.append(ch)
    return "".join(out)


class TextFitter:
    """Fits text to the fonts at hand: transliterates, reorders or replaces what cannot show."""

    def __init__(self, fonts: FontSet, shaping: bool) -> None:
        self.fonts = fonts
        self.core = fonts.regular is None and fonts.malayalam is None
        self.shaping = shaping and fonts.has_malayalam
        covered: set[int] = set()
        for path in (fonts.regular, fonts.malayalam):
            if path is not None:
                covered |= coverage(path)
        self.covered = frozenset(covered)

    def fit(self, text: str) -> str:
        """`text` as the fonts can draw it (never fails: a character no font has is "?")."""
        if not self.fonts.has_malayalam:
            text = _ML_RUN.sub(lambda m: transliterate_malayalam(m[0]).capitalize(), text)
        elif not self.shaping:
            text = visual_order_malayalam(text)
        if self.core:
            text = "".join(_PLAIN.get(ch, ch) for ch in text if ch not in _ZERO_WIDTH)
            return text.encode("latin-1", "replace").decode("latin-1")
        out: list[str] = []
        for ch in text:
            if ch in "\n\t" or ord(ch) in self.covered:
                out.append(ch)
            elif ch in _ZERO_WIDTH:
                continue
            else:
                out.append(_PLAIN.get(ch, "?"))
        return "".join(out)


# -- the document ----------------------------------------------------------------------------


def setup_fonts(pdf: FPDF, fonts: FontSet, fitter: TextFitter) -> str:
    """Adds the fonts to `pdf` (Malayalam as the fallback of the Latin font) and returns the
    family to draw with, regular and bold ("helvetica" when there is no TrueType font)."""
    if fitter.core:
        return "helvetica"
    family = "cctns"
    fallbacks: list[str] = []
    if fonts.regular is not None:
        pdf.add_font(family, "", str(fonts.regular))
        pdf.add_font(family, "B", str(fonts.bold or fonts.regular))
        if fonts.malayalam is not None:
            pdf.add_font("cctns-ml", "", str(fonts.malayalam))
            pdf.add_font("cctns-ml", "B", str(fonts.malayalam_bold or fonts.malayalam))
            fallbacks.append("cctns-ml")
    elif fonts.malayalam is not None:
        pdf.add_font(family, "", str(fonts.malayalam))
        pdf.add_font(family, "B", str(fonts.malayalam_bold or fonts.malayalam))
    if fallbacks:
        pdf.set_fallback_fonts(fallbacks, exact_match=False)
    return family


def text_pieces(text: str, most: int) -> list[str]:
    """`text` in pieces of at most `most` characters, cut after a line break or a space where
    there is one in the piece's second half (fpdf2 never breaks a table row across pages, so
    a long value goes on in rows of its own)."""
    pieces: list[str] = []
    while len(text) > most:
        cut = max(text.rfind("\n", most // 2, most), text.rfind(" ", most // 2, most))
        cut = cut + 1 if cut > 0 else most
        pieces.append(text[:cut].rstrip())
        text = text[cut:]
    pieces.append(text)
    return pieces


# -- measuring shaped text ------------------------------------------------------------------------

# A word, or a run of spaces: shaping never joins glyphs across a space.
_WORD = re.compile(r"\S+|\s+")
_MOST_CACHED = 200_000


def cache_shaped_widths(pdf: FPDF) -> None:
    """Makes the widths of shaped text cheap to measure on `pdf`'s TrueType fonts (call it once
    the fonts are added).

    fpdf2 finds where a line breaks by shaping the line's text again for every character it
    adds (HarfBuzz on ever longer prefixes), and measures each table cell twice: a register of
    2,000 rows took minutes. A shaped width is the sum of its words' widths (glyphs join only
    within a word), so each font measures text word by word, each word shaped once per font
    and size (with fpdf2's default shaping settings, which every caller here uses). `TTFFont`
    has slots and no room for a cache of its own: the fonts become `_WordWidthFont`, which adds
    no state, and the words are kept in `_WORD_WIDTHS`."""
    for font in pdf.fonts.values():
        if type(font) is TTFFont:
            font.__class__ = _WordWidthFont


# Keyed by font file, word and size: the registers shape with fpdf2's default settings
# (`set_text_shaping(True)`), the only ones this module's callers use.
_WORD_WIDTHS: dict[tuple[str, str, float], tuple[int, float]] = {}


class _WordWidthFont(TTFFont):
    """A TrueType font whose shaped text is measured word by word (`cache_shaped_widths`)."""

    __slots__ = ()

    def get_text_width(
        self, text: str, font_size_pt: float, text_shaping_params: dict[str, Any] | None
    ) -> tuple[int, float]:
        if not text_shaping_params:
            return super().get_text_width(text, font_size_pt, text_shaping_params)
        font = str(self.ttffile)
        glyphs, width = 0, 0.0
        for word in _WORD.findall(text):
            key = (font, word, font_size_pt)
            found = _WORD_WIDTHS.get(key)
            if found is None:
                if len(_WORD_WIDTHS) >= _MOST_CACHED:
                    _WORD_WIDTHS.clear()
                found = super().get_text_width(word, font_size_pt, text_shaping_params)
                _WORD_WIDTHS[key] = found
            glyphs += found[0]
            width += found[1]
        return glyphs, width


# -- text that copies out as written ---------------------------------------------------------------

_END_CMAP = b"endcmap"


class ShapedTextOutput(OutputProducer):
    """fpdf2's output, with the glyphs a shaped syllable draws after its first mapped to no text
    in each font's ToUnicode table (an empty destination string, `<>`), so that a reader
    extracts the syllable once and in its stored order. Pass it to `FPDF.output(
    output_producer_class=ShapedTextOutput)`; unshaped text has no such glyphs and is left as
    fpdf2 writes it."""

    def _add_fonts(self, *args: Any, **kwargs: Any) -> Any:
        font_objs = super()._add_fonts(*args, **kwargs)
        for font in self.fpdf.fonts.values():
            if not isinstance(font, TTFFont):
                continue
            codes = sorted(
                code
                for glyph, code in font.subset.items()
                if glyph is not None and isinstance(glyph.unicode, tuple) and not glyph.unicode
            )
            to_unicode = getattr(font_objs.get(font.i), "to_unicode", None)
            if codes and isinstance(to_unicode, PDFContentStream):
                _map_to_nothing(to_unicode, codes)
        return font_objs


def _map_to_nothing(cmap: PDFContentStream, codes: list[int]) -> None:
    """Adds `<code> <>` entries (in blocks of at most 100, Adobe Technical Note #5014) to a
    ToUnicode CMap stream, compressed or not."""
    compressed = cmap.filter is not None
    contents = cmap.content_stream()
    text = zlib.decompress(contents) if compressed else bytes(contents)
    blocks = b"".join(
        f"{len(chunk)} beginbfchar\n".encode()
        + b"".join(f"<{code:04X}> <>\n".encode() for code in chunk)
        + b"endbfchar\n"
        for chunk in (codes[i : i + 100] for i in range(0, len(codes), 100))
    )
    at = text.rfind(_END_CMAP)
    if at < 0:
        return
    text = text[:at] + blocks + text[at:]
    cmap._contents = zlib.compress(text) if compressed else text
    cmap.length = len(cmap._contents)
