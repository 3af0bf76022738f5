//! The objects → config mapping: the seed's objects, each provider, routes, secrets, and the
//! errors (each naming the object and the field).

use serde_json::{json, Value};

use super::assemble::{assemble, SecretMode};
use super::{detect, read_objects, translate_str};
use crate::config::{load_str, PathMatch};

/// The seed's objects (conf/kgateway-seed.yaml), with a literal key in the Secret.
fn seed() -> String {
    include_str!("../../../../conf/kgateway-seed.yaml")
        .replace("Authorization: $GOOGLE_KEY", "Authorization: seed-key-123")
}

/// The assembled tree (secrets resolved).
fn tree(yaml: &str) -> Value {
    let docs = detect(yaml).expect("objects").expect("YAML");
    let objects = read_objects(docs).expect("readable objects");
    match assemble(&objects, SecretMode::Resolve) {
        Ok(a) => a.tree,
        Err(e) => panic!("{}", super::ConfigErrors(e)),
    }
}

fn errors(yaml: &str) -> Vec<String> {
    match load_str(yaml) {
        Ok(_) => panic!("the objects should be refused:\n{yaml}"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

/// A Gateway `gw` in `ns`, one HTTP listener `http` on 8080 taking routes from all
/// namespaces, an HTTPRoute `r` for /x to Backend `b`, and `rest` (more documents).
fn with(backend_llm: &str, rest: &str) -> String {
    format!(
        r#"apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: gw, namespace: ns}}
spec:
  gatewayClassName: agentgateway
  listeners:
  - {{name: http, port: 8080, protocol: HTTP, allowedRoutes: {{namespaces: {{from: All}}}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: r, namespace: ns}}
spec:
  parentRefs: [{{name: gw}}]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: /x}}}}]
    backendRefs: [{{name: b, group: gateway.kgateway.dev, kind: Backend}}]
---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: Backend
metadata: {{name: b, namespace: ns}}
spec:
  type: AI
  ai:
    llm:
{backend_llm}
---
apiVersion: v1
kind: Secret
metadata: {{name: keys, namespace: ns}}
stringData: {{Authorization: "Bearer sk-from-secret"}}
{rest}"#
    )
}

#[test]
fn the_seed_objects_load_as_the_seed_config() {
    let c = load_str(&seed()).unwrap();
    assert_eq!(c.name, "kgateway-system/agentgateway");
    assert_eq!(c.listeners.len(), 1);
    let l = &c.listeners[0];
    assert_eq!((l.name.as_str(), l.bind.as_str()), ("http", "0.0.0.0:8080"));
    assert_eq!(l.routes.len(), 1);
    let r = &l.routes[0];
    assert_eq!(r.name, "kgateway-system/google");
    assert_eq!(r.matcher, PathMatch::Prefix("/gemini".into()));
    let b = &r.backends[0];
    assert_eq!(b.name, "kgateway-system/google");
    assert_eq!(b.provider.name(), "gemini");
    assert_eq!(b.model.as_deref(), Some("gemini-1.5-flash-latest"));
    assert_eq!(b.api_version.as_deref(), Some("v1beta"));
    assert_eq!(b.api_key.as_ref().map(|k| k.expose()), Some("seed-key-123"));
    let t = c.tracing.as_ref().expect("the ConfigMap's tracing block");
    assert_eq!(
        t.endpoint,
        "http://opentelemetry-collector-traces.telemetry.svc.cluster.local:4317"
    );
    // /config shows the tree, the key redacted.
    assert_eq!(c.redacted["backends"][0]["apiKey"], "<redacted>");
    assert!(!c.redacted.to_string().contains("seed-key-123"));
}

#[test]
fn the_seed_objects_make_the_hand_written_config() {
    let mut hand: Value =
        serde_saphyr::from_str(include_str!("../../../../conf/gemini.yaml")).unwrap();
    let got = tree(&seed());
    // The same config block, listener, route and backend; names are the objects'.
    hand["config"].as_object_mut().unwrap().remove("adminAddr");
    assert_eq!(
        got["config"]["tracing"]["fields"],
        hand["config"]["tracing"]["fields"]
    );
    assert_eq!(got["listeners"][0]["bind"], hand["listeners"][0]["bind"]);
    assert_eq!(
        got["listeners"][0]["routes"][0]["match"],
        json!({"pathPrefix": "/gemini"})
    );
    for key in ["provider", "model", "apiVersion"] {
        assert_eq!(got["backends"][0][key], hand["backends"][0][key], "{key}");
    }
}

#[test]
fn a_sluice_config_is_not_taken_for_objects() {
    assert!(detect(crate::config::DEMO_CONFIG).is_none());
    assert!(detect("name: x\nlisteners: []\n# kind apiVersion in a comment\n").is_none());
    assert!(detect(&seed()).is_some());
    // Broken YAML that is plainly objects is reported as YAML, not as a sluice config.
    let broken = seed().replace("  rules:", "  rules: [");
    let got = errors(&broken);
    assert_eq!(got.len(), 1);
    assert!(got[0].starts_with("invalid YAML: error: line "), "{got:?}");
    assert!(!got[0].contains("multiple YAML documents"), "{got:?}");
}

#[test]
fn a_token_is_not_quoted_in_errors() {
    let got = errors(&with(
        "      openai: {authToken: {kind: Inline, inline: 1234567890}}",
        "",
    ));
    assert_eq!(
        got,
        ["Backend ns/b: spec.ai.llm.openai.authToken.inline: expected a string"]
    );
}

#[test]
fn providers_map_to_backends() {
    let cases = [
        (
            "      openai: {model: gpt-4o-mini, authToken: {kind: SecretRef, secretRef: {name: keys}}}",
            json!({"name": "ns/b", "provider": "openai", "model": "gpt-4o-mini", "apiKey": "sk-from-secret"}),
        ),
        (
            "      anthropic: {model: claude-x, apiVersion: \"2023-06-01\", authToken: {kind: Inline, inline: k1}}",
            json!({"name": "ns/b", "provider": "anthropic", "model": "claude-x", "apiKey": "k1"}),
        ),
        (
            "      azureopenai: {endpoint: https://res.openai.azure.com/, deploymentName: dep, apiVersion: 2024-02-15-preview, authToken: {kind: Inline, inline: k2}}",
            json!({"name": "ns/b", "provider": "azure", "model": "dep", "apiVersion": "2024-02-15-preview", "baseUrl": "https://res.openai.azure.com", "apiKey": "k2"}),
        ),
        (
            "      vertexai: {model: gemini-2.0-flash, apiVersion: v1, projectId: p, location: us-east5, publisher: GOOGLE, authToken: {kind: Inline, inline: tok}}",
            json!({"name": "ns/b", "provider": "vertex", "model": "gemini-2.0-flash", "project": "p", "location": "us-east5", "apiKey": "tok"}),
        ),
        (
            "      bedrock: {model: anthropic.claude-3-haiku}",
            json!({"name": "ns/b", "provider": "bedrock", "model": "anthropic.claude-3-haiku", "region": "us-east-1"}),
        ),
        (
            "      gemini: {model: m, apiVersion: v1beta, authToken: {kind: Passthrough}}\n      host: 127.0.0.1\n      port: 9000",
            json!({"name": "ns/b", "provider": "gemini", "model": "m", "apiVersion": "v1beta", "baseUrl": "http://127.0.0.1:9000"}),
        ),
        (
            "      openai: {authToken: {kind: Inline, inline: k}}\n      host: llm.internal\n      port: 8000\n      path: {full: /openai/v1/chat/completions}",
            json!({"name": "ns/b", "provider": "openai", "apiKey": "k", "baseUrl": "http://llm.internal:8000/openai/v1"}),
        ),
        (
            "      anthropic: {authToken: {kind: Inline, inline: k}}\n      path: {full: /proxy/v1/messages}",
            json!({"name": "ns/b", "provider": "anthropic", "apiKey": "k", "baseUrl": "https://api.anthropic.com/proxy/v1"}),
        ),
        (
            "      openai: {authToken: {kind: Inline, inline: k}}\n      host: api.example.com\n      port: 443",
            json!({"name": "ns/b", "provider": "openai", "apiKey": "k", "baseUrl": "https://api.example.com"}),
        ),
    ];
    for (llm, want) in cases {
        let got = &tree(&with(llm, ""))["backends"][0];
        let mut got = got.clone();
        let mut want = want;
        // Key order is not the point here.
        got.as_object_mut().unwrap().sort_keys();
        want.as_object_mut().unwrap().sort_keys();
        assert_eq!(got, want, "{llm}");
    }
}

#[test]
fn secrets_from_data_strip_bearer_and_keep_dollars() {
    // base64("Bearer sk-$abc\n")
    let yaml = with(
        "      openai: {authToken: {kind: SecretRef, secretRef: {name: b64}}}",
        "---\napiVersion: v1\nkind: Secret\nmetadata: {name: b64, namespace: ns}\ndata: {Authorization: QmVhcmVyIHNrLSRhYmMK}\n",
    );
    let c = load_str(&yaml).unwrap();
    let key = c.backends[0].api_key.as_ref().unwrap();
    assert_eq!(key.expose(), "sk-$abc");
}

#[test]
fn priority_groups_make_a_failover_chain() {
    let llm = "    priorityGroups:\n    - providers: [{name: first, openai: {authToken: {kind: Inline, inline: a}}}]\n    - providers: [{name: second, anthropic: {authToken: {kind: Inline, inline: b}}}]";
    let yaml = with("", "").replace("    llm:\n\n", &format!("{llm}\n"));
    let t = tree(&yaml);
    assert_eq!(
        t["listeners"][0]["routes"][0]["backends"],
        json!(["ns/b/first", "ns/b/second"])
    );
    assert_eq!(t["backends"][1]["provider"], "anthropic");
}

#[test]
fn routes_rank_exact_then_longest_prefix() {
    let yaml = with(
        "      openai: {authToken: {kind: Inline, inline: k}}",
        r#"---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a-more, namespace: other}
spec:
  parentRefs: [{name: gw, namespace: ns, sectionName: http}]
  rules:
  - matches:
    - path: {type: PathPrefix, value: /x/longer}
    - path: {type: Exact, value: /x}
    - {}
    backendRefs: [{name: b, namespace: ns, group: gateway.kgateway.dev, kind: Backend}]
"#,
    );
    let routes: Vec<(String, String)> = tree(&yaml)["listeners"][0]["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let (k, v) = r["match"].as_object().unwrap().iter().next().unwrap();
            (
                r["name"].as_str().unwrap().to_string(),
                format!("{k}={}", v.as_str().unwrap()),
            )
        })
        .collect();
    let want = [
        ("other/a-more", "path=/x"),
        ("other/a-more", "pathPrefix=/x/longer"),
        ("ns/r", "pathPrefix=/x"),
        ("other/a-more", "pathPrefix=/"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(routes, want);
}

#[test]
fn translate_prints_no_secret() {
    let yaml = with(
        "      openai: {authToken: {kind: SecretRef, secretRef: {name: keys}}}",
        "",
    );
    let out = translate_str(&yaml, "objects.yaml").unwrap();
    assert!(!out.contains("sk-from-secret"), "{out}");
    assert!(
        out.contains("apiKey:\n      env: KEYS_AUTHORIZATION\n"),
        "{out}"
    );
    assert!(out.contains("# Not printed: Secret ns/keys key Authorization. Set the environment variable KEYS_AUTHORIZATION"), "{out}");
    // A `$VAR` reference is not a secret: it stays.
    let seed = include_str!("../../../../conf/kgateway-seed.yaml");
    let out = translate_str(seed, "seed.yaml").unwrap();
    assert!(out.contains("    apiKey: $GOOGLE_KEY\n"), "{out}");
    assert!(!out.contains("Not printed"), "{out}");
    // And it reads back as the tree the loader builds.
    let back: Value = serde_saphyr::from_str(&out).unwrap();
    let mut want = tree(&seed.replace("$GOOGLE_KEY", "$$GOOGLE_KEY"));
    want["backends"][0]["apiKey"] = json!("$GOOGLE_KEY");
    assert_eq!(back, want);
}

#[test]
fn what_sluice_cannot_honour_is_an_error_naming_object_and_field() {
    let ok_llm = "      openai: {authToken: {kind: SecretRef, secretRef: {name: keys}}}";
    let cases: Vec<(String, &str)> = vec![
        (
            with("      foo: {model: x}", ""),
            "Backend ns/b: spec.ai.llm.foo: unknown provider; expected one of openai, azureopenai, anthropic, gemini, vertexai, bedrock",
        ),
        (
            with("      openai: {authToken: {kind: SecretRef, secretRef: {name: gone}}}", ""),
            "Backend ns/b: spec.ai.llm.openai.authToken.secretRef.name: Secret ns/gone not found in the file",
        ),
        (
            with(ok_llm, "").replace("  - matches:", "  - filters: [{type: RequestHeaderModifier}]\n    matches:"),
            "HTTPRoute ns/r: spec.rules[0].filters: not supported by sluice",
        ),
        (
            with(ok_llm, "").replace("backendRefs: [{name: b,", "backendRefs: [{name: c, group: gateway.kgateway.dev, kind: Backend}, {name: b,"),
            "HTTPRoute ns/r: spec.rules[0].backendRefs: 2 backendRefs (a weighted split) not supported; one per rule (a Backend's priorityGroups give failover)",
        ),
        (
            with(ok_llm, "").replace("{name: b, group: gateway.kgateway.dev, kind: Backend}", "{name: svc, port: 80}"),
            "HTTPRoute ns/r: spec.rules[0].backendRefs[0]: Service not supported; sluice routes to kgateway Backends (group gateway.kgateway.dev, kind Backend)",
        ),
        (
            with(ok_llm, "").replace("protocol: HTTP,", "protocol: HTTPS,"),
            "Gateway ns/gw: spec.listeners[0].protocol: HTTPS not supported; sluice listeners are HTTP",
        ),
        (
            with(ok_llm, "").replace("parentRefs: [{name: gw}]", "parentRefs: [{name: other}]"),
            "HTTPRoute ns/r: spec.parentRefs[0].name: Gateway ns/other not found in the file",
        ),
        (
            with(ok_llm, "").replace("{namespaces: {from: All}}", "{namespaces: {from: Same}}").replace("metadata: {name: r, namespace: ns}", "metadata: {name: r, namespace: apps}").replace("[{name: gw}]", "[{name: gw, namespace: ns}]").replace("[{name: b, group", "[{name: b, namespace: ns, group"),
            "HTTPRoute apps/r: spec.parentRefs[0]: listener(s) http of Gateway ns/gw do not admit this route (allowedRoutes: HTTPRoute kinds, and namespaces from Same unless All)",
        ),
        (
            with(ok_llm, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: stray, namespace: ns}\ndata: {config.yaml: ''}\n"),
            "ConfigMap ns/stray: not used: no GatewayParameters of the Gateway names it in spec.kube.agentgateway.customConfigMapName",
        ),
        (
            with(ok_llm, "---\napiVersion: gateway.kgateway.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: t, namespace: ns}\nspec: {}\n"),
            "TrafficPolicy ns/t: apiVersion: kind TrafficPolicy (gateway.kgateway.dev/v1alpha1) not supported; sluice reads Gateway, HTTPRoute, Backend, GatewayParameters, ConfigMap and Secret",
        ),
        (
            with("      bedrock: {model: m, auth: {type: Secret}}", ""),
            "Backend ns/b: spec.ai.llm.bedrock.auth: not supported: sluice takes Bedrock's AWS credentials from the AWS default chain (environment, profiles, web identity, container credentials, instance metadata); name a source with auth in a sluice config",
        ),
        (
            with("      openai: {authToken: {kind: Inline, inline: k}}\n      path: {full: /v2/chat}", ""),
            "Backend ns/b: spec.ai.llm.path.full: \"/v2/chat\" not supported: for openai, sluice can only put a prefix before /v1/chat/completions",
        ),
        (
            with("      gemini: {model: m, authToken: {kind: Inline, inline: k}}\n      path: {full: /x}", ""),
            "Backend ns/b: spec.ai.llm.path.full: not supported for gemini: sluice builds this provider's paths itself",
        ),
        (
            with("      openai: {authToken: {kind: Inline, inline: k}}\n      authHeader: {prefix: Token}", ""),
            "Backend ns/b: spec.ai.llm.authHeader: not supported by sluice",
        ),
    ];
    for (yaml, want) in cases {
        let got = errors(&yaml);
        assert!(got.iter().any(|e| e == want), "want {want:?}, got {got:#?}");
    }
}

#[test]
fn loader_errors_are_traced_back_to_the_objects() {
    let seed = seed();
    let bad_cel = seed.replace(
        r#"gen_ai.system: "llm.provider""#,
        r#"gen_ai.system: "llm.provider(""#,
    );
    let got = errors(&bad_cel);
    assert!(
        got[0].starts_with(r#"ConfigMap kgateway-system/agent-gateway-config: data["config.yaml"].config.tracing.fields.add.gen_ai.system: invalid CEL expression"#),
        "{got:?}"
    );
    let unknown = seed.replace(
        "otlpProtocol: grpc",
        "otlpProtocol: grpc\n        statsAddr: x",
    );
    assert_eq!(
        errors(&unknown),
        [
            r#"ConfigMap kgateway-system/agent-gateway-config: data["config.yaml"].config.tracing.statsAddr: unknown field `statsAddr`, expected one of `otlpEndpoint`, `otlpProtocol`, `compression`, `headers`, `randomSampling`, `fields`"#
        ]
    );
    let unset = seed.replace("seed-key-123", "$SLUICE_TEST_SURELY_UNSET_VAR");
    assert_eq!(
        errors(&unset),
        ["Secret kgateway-system/google-secret: stringData.Authorization: environment variable SLUICE_TEST_SURELY_UNSET_VAR is not set"]
    );
    let azure = with("      azureopenai: {endpoint: 'res.openai.azure.com:nope', deploymentName: d, authToken: {kind: Inline, inline: k}}", "");
    let got = errors(&azure);
    assert!(
        got[0].starts_with("Backend ns/b: spec.ai.llm.azureopenai.endpoint: "),
        "{got:?}"
    );
}

#[test]
fn a_list_is_read_item_by_item() {
    let items: Vec<Value> = detect(&seed()).unwrap().unwrap();
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
    let text = serde_json::to_string(&list).unwrap();
    let c = load_str(&text).unwrap();
    assert_eq!(c.listeners[0].routes[0].name, "kgateway-system/google");
}
