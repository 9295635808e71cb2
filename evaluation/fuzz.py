"""Fuzz harness for the ingest front end: `convert_file` + `ingest.metadata.build_regulation` on mutated real files.

    run_fuzz(seconds, seed, out_dir=None, *, corpus_dir=None, per_file_bound=30.0, ocr=False) -> dict
    python -m evaluation.fuzz --seconds 120 [--seed 1] [--out DIR] [--corpus ../shared/corpus] [--json]

Seeds are real files of every supported format (../shared/corpus/formats, real-files and a few xuzhou .md). Each
input is a mutation of a seed: truncation, byte flips, a wrong extension, a splice of two files, inserted NUL bytes,
invalid encodings, a huge single line, deeply nested HTML, DOCX with mutated/deeply nested XML, nested or oversized
zip members, or members whose declared size lies. Every input goes through the same calls as an ingest.

Outcome per input: "ok" or the LawSearchError code. A *crash* is any other exception (or a timeout past
`per_file_bound` seconds): the contract of the converters is that hostile input fails with an IngestError.
Crashing inputs are saved under ``out_dir/crashes/`` for reproduction when `out_dir` is given.
Memory: the highest resident set size sampled (every 5 ms) while converting each input, minus the RSS before it,
so a file that allocates a lot shows up even if it frees it again.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import resource
import signal
import sys
import tempfile
import threading
import time
import traceback
import zipfile
from dataclasses import dataclass
from pathlib import Path

from corpus.errors import LawSearchError

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
EXTS = [".pdf", ".docx", ".html", ".md", ".txt", ".htm", ""]
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


@dataclass
class Seed:
    name: str
    data: bytes
    ext: str


def load_seeds(corpus_dir: Path, *, max_md: int = 4) -> list[Seed]:
    seeds = []
    for sub in ("formats", "real-files"):
        d = corpus_dir / sub
        if d.is_dir():
            for f in sorted(d.iterdir()):
                if f.is_file() and f.suffix.lower() in (".pdf", ".docx", ".html", ".htm", ".md", ".txt"):
                    seeds.append(Seed(f"{sub}/{f.name}", f.read_bytes(), f.suffix.lower()))
    xz = corpus_dir / "xuzhou"
    if xz.is_dir():
        for f in sorted(xz.glob("*.md"))[:max_md]:
            seeds.append(Seed(f"xuzhou/{f.name}", f.read_bytes(), ".md"))
    return seeds


# ---- mutations: each takes (rnd, seed, seeds) and returns (bytes, extension) ------------------------------------
def m_truncate(rnd, s, _):
    return s.data[:rnd.randrange(1, max(2, len(s.data)))], s.ext


def m_byteflip(rnd, s, _):
    b = bytearray(s.data)
    for _ in range(rnd.choice([1, 2, 8, 64, 512])):
        i = rnd.randrange(len(b))
        b[i] = rnd.randrange(256)
    return bytes(b), s.ext


def m_wrong_ext(rnd, s, _):
    return s.data, rnd.choice([e for e in EXTS if e != s.ext])


def m_splice(rnd, s, seeds):
    o = rnd.choice(seeds)
    return s.data[:rnd.randrange(len(s.data))] + o.data[rnd.randrange(len(o.data)):], rnd.choice([s.ext, o.ext])


def m_nul(rnd, s, _):
    b = bytearray(s.data)
    for _ in range(rnd.choice([1, 10, 1000])):
        i = rnd.randrange(len(b) + 1)
        b[i:i] = b"\x00" * rnd.choice([1, 2, 64])
    return bytes(b), s.ext


def m_bad_encoding(rnd, s, _):
    junk = [b"\xff\xfe", b"\xc3\x28", b"\xe4\xb8", b"\x81\x30", b"\xa0\xa1", b"\xf0\x9f\x98", b"\xed\xa0\x80"]
    b = bytearray(s.data)
    for _ in range(rnd.choice([1, 20, 500])):
        i = rnd.randrange(len(b) + 1)
        b[i:i] = rnd.choice(junk)
    if rnd.random() < 0.3:  # the text re-encoded in an unexpected codec
        try:
            b = bytearray(bytes(b).decode("utf-8", "replace").encode(rnd.choice(["utf-16-le", "utf-16-be", "big5",
                                                                                  "utf-32"]), "replace"))
        except (LookupError, UnicodeError):
            pass
    return bytes(b), s.ext


def m_huge_line(rnd, s, _):
    n = rnd.choice([2**20, 4 * 2**20, 16 * 2**20])
    unit = rnd.choice(["第一条", "法", "a", "，", " ", "第", "<b>"]).encode("utf-8")
    line = unit * (n // len(unit))
    cut = rnd.randrange(len(s.data) + 1) if s.ext in (".md", ".txt", ".html") else 0
    if s.ext in (".md", ".txt", ".html"):
        return s.data[:cut] + line + s.data[cut:], s.ext
    return "某某条例\n第一条 ".encode() + line, rnd.choice([".txt", ".md"])


def m_deep_html(rnd, s, _):
    depth = rnd.choice([1000, 10000, 100000, 300000])
    tag = rnd.choice(["div", "p", "span", "table", "b", "ul"])
    body = (f"<{tag}>" * depth + "第一条 测试内容。" + f"</{tag}>" * (depth if rnd.random() < 0.5 else 0))
    return f"<html><head><meta charset='utf-8'></head><body>{body}</body></html>".encode(), rnd.choice(
        [".html", ".htm", ".md", ".txt"])


def _docx(members: dict[str, bytes], compress=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _docx_members(rnd, seeds) -> dict[str, bytes]:
    docs = [s for s in seeds if s.ext == ".docx"]
    if docs:
        try:
            with zipfile.ZipFile(io.BytesIO(rnd.choice(docs).data)) as z:
                return {n: z.read(n) for n in z.namelist()}
        except zipfile.BadZipFile:
            pass
    return {"word/document.xml": f'<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>第一条 内容。</w:t></w:r>'
                                 f'</w:p></w:body></w:document>'.encode()}


def m_docx_xml(rnd, s, seeds):
    """Mutate word/document.xml inside a valid zip (byte flips in compressed data rarely reach the XML)."""
    members = _docx_members(rnd, seeds)
    xml = members.get("word/document.xml", b"")
    how = rnd.choice(["flip", "truncate", "nest", "entity", "huge_run", "bad_ns"])
    if how == "flip" and xml:
        b = bytearray(xml)
        for _ in range(rnd.choice([1, 16, 256])):
            b[rnd.randrange(len(b))] = rnd.randrange(256)
        xml = bytes(b)
    elif how == "truncate" and xml:
        xml = xml[:rnd.randrange(len(xml))]
    elif how == "nest":
        depth = rnd.choice([1000, 100000])
        inner = "<w:p><w:r><w:t>第一条 内容。</w:t></w:r></w:p>"
        xml = (f'<w:document xmlns:w="{W_NS}"><w:body>' + "<w:tbl><w:tr><w:tc>" * depth + inner
               + "</w:tc></w:tr></w:tbl>" * depth + "</w:body></w:document>").encode()
    elif how == "entity":
        ents = '<!ENTITY a "第一条 内容内容内容内容">' + "".join(
            f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
        xml = (f'<?xml version="1.0"?><!DOCTYPE d [{ents}]><w:document xmlns:w="{W_NS}"><w:body><w:p><w:r>'
               f'<w:t>&j;</w:t></w:r></w:p></w:body></w:document>').encode()
    elif how == "huge_run":
        xml = (f'<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>第一条 ' + "法" * rnd.choice([10**5, 10**6])
               + "</w:t></w:r></w:p></w:body></w:document>").encode()
    else:
        xml = xml.replace(W_NS.encode(), b"urn:not-word")
    members["word/document.xml"] = xml
    return _docx(members), rnd.choice([".docx", ".docx", ".pdf", ""])


def m_zip_members(rnd, s, seeds):
    """Nested zips, many members, oversized (highly compressible) members, members lying about their size."""
    members = _docx_members(rnd, seeds)
    how = rnd.choice(["nested", "many", "oversized", "liar", "no_document", "stored_huge"])
    if how == "nested":
        inner = _docx(dict(members))
        for _ in range(rnd.choice([1, 5, 20])):
            inner = _docx({"word/document.xml": inner, "[Content_Types].xml": b"<Types/>"})
        members["word/document.xml"] = inner
        members["word/embeddings/nested.docx"] = inner
    elif how == "many":
        for i in range(rnd.choice([1000, 5000])):
            members[f"word/media/m{i}.bin"] = b"x"
    elif how == "oversized":
        target = rnd.choice(["word/media/big.bin", "word/document.xml"])
        if target == "word/document.xml":
            members[target] = members.get(target, b"")[:-40] + b" " * rnd.choice([50, 250]) * 2**20
        else:
            members[target] = b"\0" * rnd.choice([50, 250]) * 2**20
    elif how == "no_document":
        members.pop("word/document.xml", None)
    elif how == "stored_huge":
        return _docx({"word/document.xml": members.get("word/document.xml", b"") + b"<!-- " + b"a" * 2**22 + b"-->"},
                     zipfile.ZIP_STORED), ".docx"
    data = _docx(members)
    if how == "liar":
        b = bytearray(data)
        cd = b.rfind(b"PK\x01\x02", 0, b.rfind(b"word/document.xml"))
        if cd >= 0:
            b[cd + 24:cd + 28] = rnd.choice([1, 100, 2**31]).to_bytes(4, "little")
        data = bytes(b)
    return data, ".docx"


def m_pdf_structure(rnd, s, seeds):
    """Edit PDF syntax where it matters: object numbers, lengths, xref offsets, /Count, nesting of arrays."""
    pdfs = [x for x in seeds if x.ext == ".pdf"] or [s]
    b = rnd.choice(pdfs).data
    how = rnd.choice(["length", "count", "xref", "nest", "drop_eof", "kids_loop"])
    if how == "length":
        b = b.replace(b"/Length ", b"/Length 9" if rnd.random() < 0.5 else b"/Length -", rnd.choice([1, 5, 50]))
    elif how == "count":
        b = b.replace(b"/Count ", b"/Count 99999", 1)
    elif how == "xref":
        i = b.rfind(b"startxref")
        if i >= 0:
            b = b[:i] + b"startxref\n" + str(rnd.randrange(10**9)).encode() + b"\n%%EOF\n"
    elif how == "nest":
        depth = rnd.choice([1000, 50000])
        b = b.replace(b"/MediaBox", b"/Junk " + b"[" * depth + b"]" * depth + b" /MediaBox", 1)
    elif how == "drop_eof":
        b = b.replace(b"%%EOF", b"")
    else:
        b = b.replace(b"/Kids [", b"/Kids [1 0 R 2 0 R 3 0 R ", 1)
    return b, ".pdf"


def m_front_matter(rnd, s, seeds):
    """Hostile YAML front matter on a Markdown seed: alias bombs, deep nesting, unsafe tags, odd scalars."""
    mds = [x for x in seeds if x.ext == ".md"] or [s]
    body = rnd.choice(mds).data
    if body.startswith(b"---"):
        end = body.find(b"\n---", 3)
        body = body[end + 4:] if end > 0 else body
    how = rnd.choice(["alias_bomb", "deep", "tags", "scalars", "unclosed", "binary"])
    if how == "alias_bomb":
        y = 'a: &a ["哈","哈","哈","哈","哈","哈","哈","哈","哈"]\n' + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9))
        y += f"{rnd.choice(['title', 'office', 'publish', 'status', 'x'])}: *j\n"
    elif how == "deep":
        d = rnd.choice([100, 10000])
        y = "title: " + "[" * d + "x" + "]" * d + "\noffice: " + "{a: " * 100 + "b" + "}" * 100 + "\n"
    elif how == "tags":
        y = rnd.choice(["title: !!python/object/apply:os.system ['true']\n", "title: !!binary aGVsbG8=\n",
                        "title: !!timestamp 2001-13-99\n", "? [a, b]\n: c\ntitle: 某条例\n", "<<: *undefined\n"])
    elif how == "scalars":
        y = "\n".join(f"{k}: {rnd.choice(['~', '.nan', '1e999', '0x' + 'f' * 100, '2024-02-30', '-', '[]', '{}'])}"
                      for k in ("title", "office", "publish", "effective_date", "status", "id")) + "\n"
    elif how == "unclosed":
        y = "title: '某条例\noffice: \"x\n"
    else:
        y = os.urandom(rnd.choice([10, 1000])).decode("latin-1")
    return b"---\n" + y.encode("utf-8", "surrogateescape") + b"---\n" + body, rnd.choice([".md", ".md", ".txt"])


MUTATIONS = {
    "front_matter": m_front_matter,
    "truncate": m_truncate, "byteflip": m_byteflip, "wrong_ext": m_wrong_ext, "splice": m_splice, "nul": m_nul,
    "bad_encoding": m_bad_encoding, "huge_line": m_huge_line, "deep_html": m_deep_html, "docx_xml": m_docx_xml,
    "zip_members": m_zip_members, "pdf_structure": m_pdf_structure,
}


class _Timeout(BaseException):
    """Raised by SIGALRM inside a conversion that ran past the bound (BaseException: not swallowed as a failure)."""


def _alarm(_sig, _frame):
    raise _Timeout()


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # not Linux: the peak, which only ever grows
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _RssSampler:
    """Highest resident set size seen while a conversion runs (sampled every few ms in a thread)."""

    def __init__(self, interval: float = 0.005):
        self.interval = interval
        self.peak = 0.0
        self._stop = threading.Event()

    def __enter__(self):
        self.start = self.peak = _rss_mb()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, _rss_mb())

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, _rss_mb())

    @property
    def growth(self) -> float:
        return self.peak - self.start


def try_input(path: Path, *, limits, per_file_bound: float) -> tuple[str, str]:
    """One input through convert_file + build_regulation. Returns (outcome, error text for crashes)."""
    from ingest.converters import convert_file
    from ingest.metadata import build_regulation

    use_alarm = hasattr(signal, "SIGALRM") and os.name == "posix"
    if use_alarm:
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, per_file_bound)
    try:
        converted = convert_file(path, limits=limits)
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        build_regulation(converted, source_path=str(path), sha256=sha)
        return "ok", ""
    except LawSearchError as e:
        return e.code, ""
    except _Timeout:
        return "crash", f"timeout after {per_file_bound:.0f} s"
    except Exception as e:  # noqa: BLE001 - that is what we are looking for
        tb = traceback.format_exc().splitlines()
        return "crash", f"{type(e).__name__}: {str(e)[:300]} | {' / '.join(t.strip() for t in tb[-5:])}"
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


def run_fuzz(seconds: float, seed: int, out_dir: Path | None = None, *, corpus_dir: Path | None = None,
             per_file_bound: float = 30.0, ocr: bool = False, max_inputs: int | None = None,
             log=None) -> dict:
    """Fuzz for about `seconds` (the input running when time is up finishes). Returns a report dict:
    inputs, outcomes {code: n}, by_mutation {mutation: {code: n}}, crashes [..], max_seconds, max_rss_growth_mb,
    slowest {..}, seeds (names)."""
    from ingest.converters import ConvertLimits

    corpus_dir = Path(corpus_dir) if corpus_dir else DEFAULT_CORPUS
    seeds = load_seeds(corpus_dir)
    if not seeds:
        raise FileNotFoundError(f"no seed files under {corpus_dir}")
    # OCR of a scanned page costs seconds: off by default (scanned seeds still exercise the PDF parser).
    limits = ConvertLimits(ocr_enabled=ocr, ocr_max_pages=2, per_file_seconds=per_file_bound)
    rnd = random.Random(seed)
    names = sorted(MUTATIONS)
    outcomes: dict[str, int] = {}
    by_mutation: dict[str, dict[str, int]] = {}
    crashes = []
    max_s, max_rss, slowest, biggest = 0.0, 0.0, {}, {}
    n = 0
    crash_dir = Path(out_dir) / "crashes" if out_dir else None
    t_end = time.monotonic() + seconds
    with tempfile.TemporaryDirectory(prefix="lawsearch-fuzz-") as tmp:
        while time.monotonic() < t_end and (max_inputs is None or n < max_inputs):
            s = rnd.choice(seeds)
            mname = rnd.choice(names)
            data, ext = MUTATIONS[mname](rnd, s, seeds)
            path = Path(tmp) / f"in{n}{ext}"
            path.write_bytes(data)
            with _RssSampler() as rss:
                t0 = time.perf_counter()
                outcome, err = try_input(path, limits=limits, per_file_bound=per_file_bound)
                dt = time.perf_counter() - t0
            grow = rss.growth
            path.unlink()
            n += 1
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            by_mutation.setdefault(mname, {})
            by_mutation[mname][outcome] = by_mutation[mname].get(outcome, 0) + 1
            info = {"seed": s.name, "mutation": mname, "ext": ext, "bytes": len(data), "outcome": outcome,
                    "seconds": round(dt, 3), "rss_growth_mb": round(grow, 1)}
            if dt > max_s:
                max_s, slowest = dt, info
            if grow > max_rss:
                max_rss, biggest = grow, info
            if outcome == "crash":
                info["error"] = err
                if crash_dir:
                    crash_dir.mkdir(parents=True, exist_ok=True)
                    keep = crash_dir / f"crash-{len(crashes)}-{mname}{ext}"
                    keep.write_bytes(data)
                    info["saved"] = str(keep)
                crashes.append(info)
            if log:
                log(info)
    report = {"inputs": n, "seed": seed, "seconds": seconds, "per_file_bound": per_file_bound,
              "outcomes": dict(sorted(outcomes.items())), "by_mutation": dict(sorted(by_mutation.items())),
              "crashes": crashes, "max_seconds": round(max_s, 3), "slowest": slowest,
              "max_rss_growth_mb": round(max_rss, 1), "biggest": biggest, "seeds": [s.name for s in seeds]}
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / "fuzz-report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1),
                                                         encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evaluation.fuzz", description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="write fuzz-report.json and crashing inputs here")
    ap.add_argument("--corpus", help="seed corpus (default ../shared/corpus)")
    ap.add_argument("--per-file-bound", type=float, default=30.0)
    ap.add_argument("--ocr", action="store_true", help="let scanned pages go through OCR (slow)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    import logging

    logging.disable(logging.WARNING)
    log = (lambda i: print(json.dumps(i, ensure_ascii=False), file=sys.stderr)) if args.verbose else None
    r = run_fuzz(args.seconds, args.seed, Path(args.out) if args.out else None,
                 corpus_dir=Path(args.corpus) if args.corpus else None, per_file_bound=args.per_file_bound,
                 ocr=args.ocr, log=log)
    if args.json:
        print(json.dumps(r, ensure_ascii=False, indent=1))
    else:
        print(f"inputs {r['inputs']} in {r['seconds']:.0f} s (seed {r['seed']}); crashes {len(r['crashes'])}; "
              f"max {r['max_seconds']:.2f} s/file ({r['slowest'].get('mutation')} of {r['slowest'].get('seed')}); "
              f"max peak-RSS growth {r['max_rss_growth_mb']:.0f} MB ({r['biggest'].get('mutation')})")
        print("outcomes:", ", ".join(f"{k} {v}" for k, v in r["outcomes"].items()))
        for c in r["crashes"]:
            print(f"CRASH {c['mutation']} of {c['seed']} ({c['ext']}): {c['error']}")
    return 1 if r["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
