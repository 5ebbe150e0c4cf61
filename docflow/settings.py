"""One settings object, read from the environment (12-factor).

A configured URL means "use that server"; an absent one means "start the embedded one"
(see ``docflow.embedded``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Published defaults, accepted in development only (docflow.startup, docflow.auth.tokens).
PLACEHOLDER_JWT_SECRET = "docflow-dev-secret-change-me-0123456789abcdef"
DEV_DB_APP_PASSWORD = "docflow_app"


class Settings(BaseSettings):
    # An empty variable counts as unset (compose passes `${VAR:-}` through as "").
    model_config = SettingsConfigDict(env_prefix="DOCFLOW_", extra="ignore", env_ignore_empty=True)

    data_dir: Path = Field(default=Path(".docflow"))
    host: str = "127.0.0.1"
    port: int = 8000

    # Conventional names, no DOCFLOW_ prefix.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "DOCFLOW_DATABASE_URL")
    )
    # Owner/superuser connection used only for migrations and bootstrap; never by the app.
    database_admin_url: str | None = None
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "DOCFLOW_REDIS_URL")
    )
    qdrant_url: str | None = Field(
        default=None, validation_alias=AliasChoices("QDRANT_URL", "DOCFLOW_QDRANT_URL")
    )
    temporal_address: str | None = Field(
        default=None, validation_alias=AliasChoices("TEMPORAL_ADDRESS", "DOCFLOW_TEMPORAL_ADDRESS")
    )
    # Absent: the envconfig profile's namespace, else "default" (docflow.temporal).
    temporal_namespace: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "DOCFLOW_TEMPORAL_NAMESPACE"),
    )
    task_queue: str = "docflow"
    # The task queues a `docflow worker` polls (worker.main): "agents" (workflows, agent
    # steps, scoring, export), "memory" (project memory), or "all". With Qdrant's local mode
    # run one "memory" (or "all") worker; with QDRANT_URL any number of "all" workers.
    worker_queues: Literal["all", "agents", "memory"] = "all"

    # Embedded stack ports (only used when the matching URL is absent).
    embedded_temporal_port: int = 7233
    embedded_temporal_ui_port: int = 8233
    embedded_postgres_port: int = 55432
    embedded_redis_port: int = 56379
    embedded_temporal_http_port: int = 7243
    embedded_temporal_metrics_port: int = 7244
    embedded_llm_port: int = 8081
    # Qdrant local-mode folder when QDRANT_URL is absent (default: <data_dir>/qdrant).
    qdrant_path: Path | None = None

    # The role the application connects as: NOSUPERUSER NOBYPASSRLS.
    db_app_role: str = "docflow_app"
    db_app_password: SecretStr = SecretStr(DEV_DB_APP_PASSWORD)
    db_name: str = "docflow"

    # LLM: "offline" is the deterministic writer; "openai" is any OpenAI-compatible endpoint;
    # "local" is llama.cpp's server on llm_model_path, started by docflow dev / demo when
    # llm_base_url is absent (docflow.embedded).
    llm_provider: Literal["offline", "openai", "local"] = "offline"
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str = "gpt-4o-mini"
    llm_model_path: Path | None = None  # a GGUF file, for llm_provider="local"
    # Simulated latency of the offline writer per section call, for demos and crash tests.
    llm_offline_latency_ms: int = 0
    # OpenAI-compatible provider (docflow.agents.openai_chat): replies stream; a request
    # waits llm_first_token_timeout_s for its first token and llm_idle_timeout_s between
    # tokens, then it is closed; Temporal is the only retry layer.
    llm_stream: bool = True
    llm_first_token_timeout_s: float = Field(default=600.0, gt=0)
    llm_idle_timeout_s: float = Field(default=60.0, gt=0)
    llm_connect_timeout_s: float = Field(default=10.0, gt=0)
    llm_temperature: float | None = None
    # Sections of one step written at once (a local server runs one at a time anyway).
    llm_concurrency: int = Field(default=2, ge=1, le=32)
    # Characters of each accepted upstream document a prompt carries.
    llm_upstream_chars: int = Field(default=6000, ge=500)
    # Per-role model, JSON: {"architecture": "gpt-4o"} (step or agent name -> model);
    # steps not named use llm_model.
    llm_models_by_role: dict[str, str] = Field(default_factory=dict)
    # Corrective re-asks after a reply that does not fill a section's contract; after
    # llm_contract_attempts activity attempts that all ended so, the step fails for good.
    llm_json_repair_attempts: int = Field(default=1, ge=0, le=5)
    llm_contract_attempts: int = Field(default=3, ge=1)
    # Context size the embedded llama.cpp server is started with (tokens).
    llm_context_size: int = Field(default=8192, ge=2048)
    # Circuit breaker per (base URL, model): opens after N consecutive provider failures,
    # lets one trial call through after the reset time.
    llm_breaker_failures: int = 5
    llm_breaker_reset_s: float = 30.0

    # Project-memory embeddings, one model for writing and querying: "local" is
    # all-MiniLM-L6-v2 int8 ONNX shipped in a wheel; "openai" is any OpenAI-compatible
    # /v1/embeddings endpoint (embedding_base_url ends in /v1).
    embedding_provider: Literal["local", "openai"] = "local"
    embedding_base_url: str | None = None
    embedding_api_key: SecretStr | None = None
    embedding_model: str = "text-embedding-3-small"

    # "development" allows the built-in placeholder secrets; anything else refuses them.
    environment: Literal["development", "staging", "production"] = Field(
        default="development", validation_alias=AliasChoices("DOCFLOW_ENV")
    )

    # Encryption at rest (docflow.storage.crypto): the master key that wraps each tenant's
    # data key, 32 bytes base64; older ones while a rotation is under way. Without one,
    # values are stored as given (development only; docflow dev and demo make one).
    master_key: SecretStr | None = None
    previous_master_keys: str = ""  # comma-separated

    # Auth: the built-in token issuer (HS256) for local users ...
    jwt_secret: SecretStr = SecretStr(PLACEHOLDER_JWT_SECRET)
    jwt_issuer: str = "docflow"
    jwt_audience: str = "docflow-api"
    access_token_ttl_s: int = 900
    # A session ends this long after its last renewal (docflow.auth.refresh).
    refresh_token_ttl_s: int = 8 * 3600
    # ... and/or an external identity provider, verified through its JWKS.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    # Signed, expiring export download links.
    download_token_ttl_s: int = 600

    # Rate limits (requests per minute), enforced atomically in Redis.
    rate_limit_global_per_min: int = 6000
    rate_limit_tenant_per_min: int = 1200
    rate_limit_project_per_min: int = 600
    rate_limit_auth_per_min: int = 20
    max_request_bytes: int = 1_000_000
    # PostgreSQL connections each API or worker process keeps (as many again when busy).
    db_pool_size: int = Field(default=20, ge=1, le=100)

    # Progress over SSE: keep-alive ping interval, and how often the one poller of a run
    # looks without being told (a history long-poll wakes it whenever the run changes).
    sse_ping_s: float = 15.0
    sse_poll_s: float = 5.0

    # Quality gate (docflow.quality): readability of a document's prose (textstat, offline)
    # is held to these limits once it has at least quality_readability_min_words words; a
    # version with error findings goes back to its agent at most quality_max_revisions
    # times before the gate opens. Summaries carry the first quality_top_findings findings.
    quality_min_flesch_reading_ease: float = 30.0
    quality_max_fk_grade: float = 14.0
    quality_readability_min_words: int = 100
    quality_max_revisions: int = 2
    quality_top_findings: int = 5

    # Quotas per tenant (0 = unlimited): tokens per calendar month (UTC), runs at once.
    quota_llm_tokens_per_month: int = 0
    quota_embedding_tokens_per_month: int = 0
    max_concurrent_runs_per_tenant: int = 5

    otel_traces_exporter: str = Field(
        default="none", validation_alias=AliasChoices("OTEL_TRACES_EXPORTER")
    )  # none | console | otlp (endpoint from the standard OTEL_EXPORTER_OTLP_* variables)
    otel_service_name: str = Field(
        default="docflow", validation_alias=AliasChoices("OTEL_SERVICE_NAME")
    )

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.embedded_temporal_port}"

    @property
    def app_database_url(self) -> str:
        """DATABASE_URL, or the embedded PostgreSQL that `docflow dev` runs (app role)."""
        return self.database_url or (
            f"postgresql+asyncpg://{self.db_app_role}:{self.db_app_password.get_secret_value()}"
            f"@127.0.0.1:{self.embedded_postgres_port}/{self.db_name}"
        )

    @property
    def qdrant_local_path(self) -> Path:
        return self.qdrant_path or self.data_dir / "qdrant"

    @property
    def temporal_ui_url(self) -> str:
        return f"http://127.0.0.1:{self.embedded_temporal_ui_port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
