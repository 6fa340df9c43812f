"""Text sets (reports/text/<lang>.yaml) and fonts (reports/fonts.yaml) of the clinician report."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import yaml
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from oncopanel import paths, settings
from oncopanel.errors import InputError, ValidationError


class Text:
    """Dotted look-up into a text set: ``t("labels.report_id")``, ``t("page", page=1, pages=3)``."""

    def __init__(self, data: dict):
        self.data = data

    def raw(self, key: str) -> Any:
        node: Any = self.data
        for part in key.split("."):
            node = node[part]
        return node

    def __call__(self, key: str, **fields: Any) -> str:
        value = self.raw(key)
        return str(value).format(**fields) if fields else str(value)

    def get(self, key: str, default: str) -> str:
        try:
            return self(key)
        except KeyError:
            return default


@functools.cache
def load_text(language: str) -> Text:
    problem = settings.language_problem(language, "report")
    if problem:
        raise InputError(problem[0])
    return Text(yaml.safe_load((paths.REPORTS / "text" / f"{language}.yaml").read_text(encoding="utf-8")))


def strings(node: Any) -> Iterator[str]:
    """Every string in a text set (values, not keys)."""
    if isinstance(node, dict):
        for v in node.values():
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)
    elif isinstance(node, str):
        yield node


@dataclass(frozen=True)
class Fonts:
    """Registered font names for one language, and the cmaps used to choose per character."""

    regular: str
    bold: str
    fallback: str
    regular_cmap: frozenset[int]
    fallback_cmap: frozenset[int]
    wrap: str | None = None  # reportlab wordWrap: "CJK" breaks between any two characters

    def markup(self, text: Any, bold: bool = False) -> str:
        """Escaped Paragraph markup; runs the main font cannot draw are set in the fallback font."""
        text = "" if text is None else str(text)
        main = self.bold if bold else self.regular
        out: list[str] = []
        run: list[str] = []
        run_fallback = False
        for ch in text:
            use_fallback = ord(ch) not in self.regular_cmap and ord(ch) in self.fallback_cmap and not ch.isspace()
            if use_fallback != run_fallback and run:
                out.append(_wrap("".join(run), self.fallback if run_fallback else None))
                run = []
            run_fallback = use_fallback
            run.append(ch)
        if run:
            out.append(_wrap("".join(run), self.fallback if run_fallback else None))
        body = "".join(out)
        return f'<font name="{main}">{body}</font>' if bold and self.bold != self.regular else body


def _wrap(text: str, font: str | None) -> str:
    text = escape(text)
    return f'<font name="{font}">{text}</font>' if font else text


def _font_file(entry: dict) -> Path | None:
    return next((Path(p) for p in entry["paths"] if Path(p).exists()), None)


@functools.cache
def _fonts_config() -> dict:
    """fonts.yaml checked by the settings layer; every language's fonts must be keys of `fonts`."""
    cfg = settings.report_fonts()
    known = cfg["fonts"]
    problems = [
        f"{paths.REPORTS / 'fonts.yaml'}: {where}: unknown font {key!r}{settings.hint(key, known, 'font')}"
        for where, key in [("default", cfg["default"])]
        + [(f"languages.{lang}.{role}", key) for lang, roles in cfg["languages"].items()
           for role, key in roles.items() if role != "wrap"]
        if key not in known
    ]
    if problems:
        raise ValidationError(problems)
    return cfg


@functools.cache
def _register(key: str) -> tuple[str, frozenset[int]]:
    """Register one font of fonts.yaml (or the default when its file is missing); its name and cmap."""
    cfg = _fonts_config()
    entry = cfg["fonts"][key]
    path = _font_file(entry)
    if path is None:
        if key == cfg["default"]:
            raise InputError(
                f"report font {key!r} not found at {entry['paths']}; install fonts-wqy-zenhei (scripts/setup.sh)"
            )
        return _register(cfg["default"])
    name = f"oncopanel-{key}"
    font = TTFont(name, str(path), subfontIndex=entry["subfont_index"])
    pdfmetrics.registerFont(font)
    return name, frozenset(font.face.charToGlyph)


@functools.cache
def fonts_for(language: str) -> Fonts:
    cfg = _fonts_config()["languages"][language]
    regular, regular_cmap = _register(cfg["regular"])
    bold, _ = _register(cfg["bold"])
    fallback, fallback_cmap = _register(cfg["fallback"])
    wrap = "CJK" if cfg["wrap"] == "characters" else None
    return Fonts(regular, bold, fallback, regular_cmap, fallback_cmap, wrap)


def missing_glyphs(language: str) -> set[str]:
    """Characters of a text set that neither the main nor the fallback font can draw (should be empty)."""
    f = fonts_for(language)
    text = "".join(strings(load_text(language).data))
    drawable = f.regular_cmap | f.fallback_cmap
    return {ch for ch in text if not ch.isspace() and ord(ch) not in drawable}
