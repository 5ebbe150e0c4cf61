"""The deployment files stay true to the code: docker-compose.yml against the Compose
schema, the Kubernetes manifests against Kubernetes' own schemas (kubernetes-validate), and
both against the settings docflow reads. No Docker engine or cluster runs where CI does,
so these are the files' checks, not a deployment's (docs/operations.md)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from docflow.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
KUBE = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.33"
# What a production process cannot start without (docflow.startup).
REQUIRED = {
    "DOCFLOW_ENV",
    "DATABASE_URL",
    "REDIS_URL",
    "QDRANT_URL",
    "TEMPORAL_ADDRESS",
    "DOCFLOW_JWT_SECRET",
    "DOCFLOW_MASTER_KEY",
    "DOCFLOW_DB_APP_PASSWORD",
}
# Read by libraries on docflow's behalf: temporalio.envconfig and OpenTelemetry.
LIBRARY_PREFIXES = ("TEMPORAL_", "OTEL_")


def settings_variables() -> set[str]:
    """Every environment variable Settings reads."""
    names = set()
    for field, info in Settings.model_fields.items():
        choices = getattr(info.validation_alias, "choices", None)
        names |= {str(choice) for choice in choices} if choices else {f"DOCFLOW_{field.upper()}"}
    return names


def read_by_docflow(name: str) -> bool:
    return name in settings_variables() or name.startswith(LIBRARY_PREFIXES)


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def test_compose_file_fits_the_compose_schema() -> None:
    schema = json.loads((ROOT / "tests" / "vendor" / "compose-spec.json").read_text())
    document = compose()
    assert document.pop("name") == "docflow"  # top-level `name` came after this schema
    jsonschema.Draft201909Validator(schema).validate(document)


def test_compose_images_are_pinned_and_jobs_ordered() -> None:
    services = compose()["services"]
    for name, service in services.items():
        image = service.get("image", "")
        assert image, f"{name} has no image"
        tag = image.rsplit(":", 1)[-1]
        assert ":" in image and tag != "latest" and re.search(r"\d", tag), f"{name}: {image}"
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on unknown {needed}"
        assert "container_name" not in service  # would forbid --scale
    builds = {
        name: service["build"]["target"] for name, service in services.items() if "build" in service
    }
    assert set(builds.values()) == {"api", "worker"}
    long_running = {name for name, service in services.items() if "restart" in service}
    for name in long_running - {"worker", "jaeger", "otel-collector", "temporal-ui"}:
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
    assert services["worker"].get("ports") is None  # scales without host port clashes
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_compose_gives_docflow_every_setting_it_needs_from_env_file() -> None:
    services = compose()["services"]
    example = (ROOT / ".env.example").read_text()
    declared = {
        line.split("=", 1)[0] for line in example.splitlines() if re.match(r"^[A-Z_]+=", line)
    }
    for name in ("api", "worker", "migrate", "temporal-setup"):
        environment = services[name]["environment"]
        assert set(environment) >= REQUIRED, f"{name} lacks {REQUIRED - set(environment)}"
        assert environment["DOCFLOW_ENV"] == "production"
        unknown = [key for key in environment if not read_by_docflow(key)]
        assert unknown == [], f"{name} sets variables docflow does not read: {unknown}"
        for variable in (
            "DATABASE_URL",
            "REDIS_URL",
            "QDRANT_URL",
            "TEMPORAL_ADDRESS",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ):
            host = re.sub(r"^[a-z+]+://([^@/]*@)?", "", environment[variable]).split(":")[0]
            assert host in services, f"{name}: {variable} points at {host}, not a service"
    used = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE.read_text()))
    assert used <= declared, f"not in .env.example: {used - declared}"
    secrets = re.findall(r"\$\{([A-Z_]+):\?", COMPOSE.read_text())
    assert {"POSTGRES_PASSWORD", "DOCFLOW_JWT_SECRET", "DOCFLOW_MASTER_KEY"} <= set(secrets)
    for secret in secrets:
        assert re.search(rf"^{secret}=$", example, re.M), f"{secret} has a value in the example"


def test_dockerfile_images_are_non_root_and_installed_from_the_wheel() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    targets = re.findall(r"^FROM \S+ AS (\S+)$", dockerfile, re.M)
    assert {"api", "worker"} <= set(targets)
    assert "USER 10001" in dockerfile
    assert "-e " not in dockerfile and "--editable" not in dockerfile
    assert "--constraint /tmp/constraints.txt" in dockerfile
    api_stage = dockerfile.split("AS api-packages", 1)[1].split("FROM", 1)[0]
    assert "[worker]" not in api_stage


def manifests() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((KUBE / "kustomization.yaml").read_text())
    documents = []
    for resource in kustomization["resources"]:
        documents += [doc for doc in yaml.safe_load_all((KUBE / resource).read_text()) if doc]
    return documents


def test_kubernetes_manifests_fit_kubernetes_schemas() -> None:
    documents = manifests()
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    kinds = sorted({document["kind"] for document in documents})
    assert kinds == [
        "Deployment",
        "HorizontalPodAutoscaler",
        "Job",
        "Namespace",
        "NetworkPolicy",
        "Service",
    ]


def test_kubernetes_workloads_run_non_root_with_one_deployment_per_queue_kind() -> None:
    workloads = [doc for doc in manifests() if doc["kind"] in ("Deployment", "Job")]
    queues = {}
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod.get("initContainers", []) + pod["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            env = {item["name"]: item.get("value") for item in container.get("env", [])}
            assert all(read_by_docflow(name) for name in env)
            if "DOCFLOW_WORKER_QUEUES" in env:
                queues[workload["metadata"]["name"]] = env["DOCFLOW_WORKER_QUEUES"]
    assert sorted(queues.values()) == ["agents", "memory"]
    api = next(doc for doc in workloads if doc["metadata"]["name"] == "docflow-api")
    probe = api["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert probe["httpGet"]["path"] == "/readyz"


def test_kubernetes_configuration_names_only_settings_docflow_reads() -> None:
    names = set()
    for env_file in ("config.env", "secrets.env.example"):
        for line in (KUBE / env_file).read_text().splitlines():
            if re.match(r"^[A-Z_]+=", line):
                names.add(line.split("=", 1)[0])
    assert names >= REQUIRED
    assert [name for name in names if not read_by_docflow(name)] == []


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_renders_valid_resources(tmp_path: Path) -> None:
    rendered_dir = tmp_path / "kubernetes"
    shutil.copytree(KUBE, rendered_dir)
    shutil.copy(rendered_dir / "secrets.env.example", rendered_dir / "secrets.env")
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(rendered_dir)], capture_output=True, text=True, check=True
    ).stdout
    documents = [doc for doc in yaml.safe_load_all(rendered) if doc]
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        if document["kind"] != "Namespace":
            assert document["metadata"]["namespace"] == "docflow"
    assert {"ConfigMap", "Secret"} <= {document["kind"] for document in documents}
