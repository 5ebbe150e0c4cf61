# syntax=docker/dockerfile:1
# Two images from one file: `docker build --target api` and `--target worker`.
# Each installs docflow's wheel (not an editable checkout) with the pins of constraints.txt
# into /opt/docflow and runs as an unprivileged user. The API image holds no CrewAI,
# onnxruntime or embedded servers (pyproject.toml's extras); migrations run from it.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY docflow docflow
COPY api api
COPY workflows workflows
COPY activities activities
COPY worker worker
COPY migrations migrations
RUN python -m pip wheel --no-deps --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS api-packages
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY constraints.txt /tmp/constraints.txt
RUN --mount=from=build,source=/wheels,target=/wheels \
    python -m venv /opt/docflow \
 && /opt/docflow/bin/pip install --constraint /tmp/constraints.txt /wheels/docflow-*.whl

FROM ${PYTHON_IMAGE} AS worker-packages
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY constraints.txt /tmp/constraints.txt
RUN --mount=from=build,source=/wheels,target=/wheels \
    python -m venv /opt/docflow \
 && wheel="$(ls /wheels/docflow-*.whl)" \
 && /opt/docflow/bin/pip install --constraint /tmp/constraints.txt "docflow[worker] @ file://${wheel}"

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 docflow \
 && useradd --system --uid 10001 --gid docflow --create-home --home-dir /home/docflow docflow
ENV PATH=/opt/docflow/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    DOCFLOW_DATA_DIR=/home/docflow/data \
    DOCFLOW_ENV=production
WORKDIR /home/docflow
USER 10001:10001

FROM runtime AS api
COPY --from=api-packages /opt/docflow /opt/docflow
ENV DOCFLOW_HOST=0.0.0.0 DOCFLOW_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=6 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"]
CMD ["docflow", "api"]

FROM runtime AS worker
COPY --from=worker-packages /opt/docflow /opt/docflow
ENV CREWAI_DISABLE_TELEMETRY=true CREWAI_TRACING_ENABLED=false CREWAI_DISABLE_VERSION_CHECK=true \
    CREWAI_STORAGE_DIR=/home/docflow/data/crewai
CMD ["docflow", "worker"]
