"""One small error tree. Every error carries a stable code, a Chinese message for end users and a detail."""
from __future__ import annotations


class LawSearchError(Exception):
    """Base error. `code` is stable (clients switch on it); `message` is Chinese, for end users."""

    code = "error"
    http_status = 500

    def __init__(self, message: str, *, detail: str = "", path: str | None = None, code: str | None = None):
        self.message = message
        self.detail = detail
        self.path = path
        if code:
            self.code = code
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{where}{self.message}" + (f"（{self.detail}）" if self.detail else "")

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "detail": self.detail, "file": self.path}


class IngestError(LawSearchError):
    """A file could not be turned into a regulation. The rest of a batch goes on."""

    code = "ingest_error"
    http_status = 422


class UnsupportedFileType(IngestError):
    code = "unsupported_type"
    http_status = 415


class EmptyFile(IngestError):
    code = "empty_file"


class CorruptFile(IngestError):
    code = "corrupt_file"


class EncryptedFile(IngestError):
    code = "encrypted_file"


class FileTooLarge(IngestError):
    code = "file_too_large"
    http_status = 413


class NoArticlesFound(IngestError):
    code = "no_text"


class SearchError(LawSearchError):
    code = "search_error"
    http_status = 400


class InvalidFilter(SearchError):
    code = "invalid_filter"


class NotFound(LawSearchError):
    code = "not_found"
    http_status = 404


class AmbiguousTitle(SearchError):
    code = "ambiguous_title"
    http_status = 409

    def __init__(self, message: str, *, candidates: list[str], **kw):
        self.candidates = candidates
        super().__init__(message, detail="、".join(candidates), **kw)


class BackendUnavailable(LawSearchError):
    code = "backend_unavailable"
    http_status = 503


class ConfigError(LawSearchError):
    code = "config_error"
