"""``python -m api``: serve the API with uvicorn on DOCFLOW_HOST:DOCFLOW_PORT."""

import uvicorn

from api.app import create_app
from docflow.startup import load_settings, preflight

settings = load_settings()
preflight(settings, redis=True)
uvicorn.run(
    create_app(settings),
    host=settings.host,
    port=settings.port,
    log_level="info",
    timeout_graceful_shutdown=5,  # open SSE streams must not hold a shutdown for long
)
