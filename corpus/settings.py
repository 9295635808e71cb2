"""One settings object, read only at the entry points (CLI, app factory); plain values are passed down."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LAWSEARCH_", extra="ignore")

    data_dir: Path = Field(Path("./data"), description="Where the embedded index, models and audit log live")
    qdrant_url: str | None = Field(None, description="Qdrant server or cluster URL; unset = embedded Qdrant Edge")
    qdrant_api_key: SecretStr | None = None
    collection: str = "articles"

    # Dense retrieval: unset = the offline static Chinese embedder trained by `lawsearch train`;
    # a sentence-transformers model name or path (e.g. BAAI/bge-small-zh-v1.5) when the deployment has one.
    embedding_model: str | None = None
    training_questions: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    # The compact character encoder (`lawsearch train-encoder`): a model folder, a second dense vector beside the
    # static one. Unset = the committed model when its card marks it as the default; "none" = off.
    encoder_model: str | None = None
    encoder_threads: int = Field(2, ge=1)

    # Build the dense HNSW graph after a bulk load of ≥ 5,000 points (Qdrant Edge has no background optimizer), in a
    # child process (service.children). Measured on the main job's index (150,120 points, quiet 2 cores): ≈ 2.5 min
    # once, the ingest's largest process unchanged (3.04 GB; 4.0 GB when built in the ingesting process); `bench
    # search` p50 23.8 → 18.1 ms, p95 28.0 → 20.3 ms; the top 10 of 297 of 300 STARD and 37 of 45 Xuzhou dev
    # questions identical (all 300 and 42 the same articles), the dev sets' scores unchanged.
    optimize_after_ingest: bool = True
    # The deployment's own region (a city or province, as the texts name it: 徐州市). Its local texts, and those of
    # its province, are ranked like national law when a question names no region; other places' local texts are
    # down-weighted. Empty = no home region (every local text down-weighted).
    home_region: str | None = "徐州市"
    # For violation questions, put the penalty article next to the duty it punishes (links are attached either way).
    violation_rerank: bool = True
    # Users' feedback on results ("this answered my question" / "none of these") is kept this many days (questions
    # can hold personal data); 0 = kept until deleted.
    feedback_retention_days: int = Field(180, ge=0)

    # Ingest limits (hostile files): enforced per file.
    max_file_mb: int = 50
    max_unzipped_mb: int = 200
    max_pdf_pages: int = 2000
    ocr_enabled: bool = True
    ocr_max_pages: int = 200

    llm_base_url: str | None = None
    llm_model: str = "qwen2.5-7b-instruct"
    llm_api_key: SecretStr | None = None

    api_keys: dict[str, str] = Field(default_factory=dict, description='{"key": "admin"|"reader"}')
    cors_origins: list[str] = Field(default_factory=list)
    max_upload_mb: int = 20
    max_upload_files: int = 20
    # Bodies of every other request (the /api/ask JSON): larger ones get 413 before they are read.
    max_body_kb: int = Field(64, ge=0, description="0 = no cap")
    # Requests per minute and client (its API key, else its address), token bucket; 0 = off. "heavy" is POST
    # /api/ask and the admin routes. Reads are off by default: `lawsearch bench http` sends its whole budget from
    # one address (any read limit below it measures the limiter, not the server); set it for exposed servers.
    rate_limit_per_minute: int = Field(0, ge=0)
    rate_limit_heavy_per_minute: int = Field(60, ge=0)

    @field_validator("training_questions", mode="before")
    @classmethod
    def _split_paths(cls, v):
        if isinstance(v, str):
            return [Path(p) for p in v.replace(",", ":").split(":") if p.strip()]
        return v

    @field_validator("api_keys")
    @classmethod
    def _roles(cls, v: dict[str, str]) -> dict[str, str]:
        bad = {k: r for k, r in v.items() if r not in ("admin", "reader")}
        if bad:
            raise ValueError(f"LAWSEARCH_API_KEYS: role must be 'admin' or 'reader', got {sorted(set(bad.values()))}")
        return v
