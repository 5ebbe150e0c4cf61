FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt alembic.ini ./
COPY docflow docflow
COPY api api
COPY workflows workflows
COPY activities activities
COPY worker worker
COPY migrations migrations
RUN pip install --no-cache-dir -U pip && pip install --no-cache-dir -c constraints.txt -e .
ENV CREWAI_DISABLE_TELEMETRY=true CREWAI_TRACING_ENABLED=false CREWAI_DISABLE_VERSION_CHECK=true
