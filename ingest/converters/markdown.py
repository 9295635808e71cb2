"""Markdown (LawRefBook layout and files with YAML front matter): heading markers off, metadata out."""
from __future__ import annotations

import re

import yaml

from .textutil import clean_line

_FRONT_RE = re.compile(r"\A\s*---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_COMMENT_RE = re.compile(r"<!--.*?-->", re.S)
_EMPHASIS_RE = re.compile(r"(\*\*|__)(.+?)\1")
_SIMPLE_KV_RE = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$")
_HR_RE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")


def _scalar(v) -> str:
    if v is None:
        return ""
    return str(v).strip()


def _tiny_parse(block: str) -> dict:
    """Fallback for front matter that YAML rejects: flat `key: value` lines, quotes stripped."""
    out = {}
    for line in block.splitlines():
        m = _SIMPLE_KV_RE.match(line.strip())
        if m:
            val = m.group(2).strip()
            if len(val) >= 2 and val[0] == val[-1] and val[0] in "\"'":
                val = val[1:-1]
            out[m.group(1)] = val
    return out


def split_front_matter(text: str) -> tuple[dict, str, list[str]]:
    """Return (metadata, body, warnings). Metadata values are flat strings."""
    warnings: list[str] = []
    m = _FRONT_RE.match(text)
    if not m:
        return {}, text, warnings
    block = m.group(1)
    meta: dict = {}
    try:
        loaded = yaml.safe_load(block)
        if isinstance(loaded, dict):
            meta = {str(k): _scalar(v) for k, v in loaded.items() if not isinstance(v, (dict, list))}
        else:
            meta = _tiny_parse(block)
    except (yaml.YAMLError, ValueError, RecursionError) as e:  # ValueError: a date like 2024-02-30
        warnings.append(f"front matter 不是合法 YAML，已按 key: value 解析（{type(e).__name__}）")
        meta = _tiny_parse(block)
    return meta, text[m.end():], warnings


def markdown_to_lines(body: str) -> list[str]:
    """Heading markers off (`## 第一章 总则` → `第一章 总则`), comments and rules dropped, one line per paragraph."""
    body = _COMMENT_RE.sub("\n", body.replace("\r\n", "\n").replace("\r", "\n"))
    lines: list[str] = []
    for raw in body.split("\n"):
        if _HR_RE.match(raw):
            continue
        m = _HEADING_RE.match(raw)
        line = m.group(1) if m else raw
        if not m and line.lstrip().startswith(">"):
            line = line.lstrip()[1:]
        line = _EMPHASIS_RE.sub(r"\2", line)
        line = clean_line(line)
        if line.endswith("\\"):  # markdown hard line break
            line = line[:-1].rstrip()
        if line:
            lines.append(line)
    return lines


def convert_markdown(text: str) -> tuple[list[str], dict, list[str]]:
    meta, body, warnings = split_front_matter(text.lstrip("\ufeff"))
    return markdown_to_lines(body), meta, warnings
