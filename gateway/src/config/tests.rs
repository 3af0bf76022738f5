//! Config errors: each names its YAML path; secrets never appear in them.

use super::load_str;

fn errors(yaml: &str) -> Vec<String> {
    match load_str(yaml) {
        Ok(_) => panic!("config should be rejected:\n{yaml}"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

const GOOD: &str = r#"
name: edge
config:
  adminAddr: 127.0.0.1:15000
  gracePeriod: 5s
listeners:
  - name: http
    bind: 0.0.0.0:8080
    routes:
      - name: google
        match: {pathPrefix: /gemini}
        backend: google
      - name: both
        match: {path: /exact}
        backends: [google, mock]
backends:
  - name: google
    provider: gemini
    model: gemini-1.5-flash-latest
    apiVersion: v1beta
    apiKey: inline-key
  - name: mock
    provider: mock
"#;

#[test]
fn a_good_config_loads_into_resolved_types() {
    let c = load_str(GOOD).unwrap();
    assert_eq!(c.name, "edge");
    assert_eq!(c.grace_period, std::time::Duration::from_secs(5));
    let routes = &c.listeners[0].routes;
    assert_eq!(routes[0].backends[0].name, "google");
    assert_eq!(routes[1].backends.len(), 2);
    let google = &routes[0].backends[0];
    let up = google.upstream.as_ref().unwrap();
    assert_eq!(
        (up.host.as_str(), up.port, up.tls),
        ("generativelanguage.googleapis.com", 443, true)
    );
    assert_eq!(google.api_key.as_ref().unwrap().expose(), "inline-key");
    assert!(
        routes[1].backends[1].upstream.is_none(),
        "mock calls no upstream"
    );
    // Debug output of the whole config never shows the key.
    assert!(!format!("{c:?}").contains("inline-key"));
    // Unset, one worker thread per CPU available.
    let cpus = std::thread::available_parallelism().unwrap().get();
    assert_eq!(c.worker_threads, cpus);
    let pinned = GOOD.replacen("config:\n", "config:\n  workerThreads: 3\n", 1);
    assert_eq!(load_str(&pinned).unwrap().worker_threads, 3);
    let gzip = GOOD.replacen(
        "config:\n",
        "config:\n  tracing: {otlpEndpoint: 'http://127.0.0.1:4317', compression: gzip}\n",
        1,
    );
    assert!(load_str(&gzip).unwrap().tracing.unwrap().gzip);
}

#[test]
fn unknown_keys_name_their_path() {
    let e = errors("listeners:\n  - bind: 127.0.0.1:1\n    routes:\n      - match: {prefix: /x}\n        backend: b\n");
    assert!(
        e[0].starts_with("listeners[0].routes[0].match.prefix: unknown field `prefix`"),
        "{e:?}"
    );
    // And, the unknown key set aside, what the match then lacks.
    assert!(
        e[1].starts_with("listeners[0].routes[0].match: expected exactly one of pathPrefix, path"),
        "{e:?}"
    );
    let e = errors(
        "config:\n  tracing:\n    otlpEndpoint: http://x:1\n    sampling: 1\nlisteners: []\n",
    );
    assert!(
        e[0].starts_with("config.tracing.sampling: unknown field"),
        "{e:?}"
    );
}

#[test]
fn every_problem_is_reported_in_one_go() {
    // Two unknown keys and an unknown provider: all three, not only the first.
    let e = errors(
        "config:\n  bogus: 1\nlisteners:\n  - bind: 127.0.0.1:1\n    routes:\n      - match: {pathPrefix: /x}\n        backend: g\n        colour: red\nbackends:\n  - name: g\n    provider: gemni\n",
    );
    assert_eq!(e.len(), 3, "{e:?}");
    assert!(
        e[0].starts_with("config.bogus: unknown field `bogus`"),
        "{e:?}"
    );
    assert!(
        e[1].starts_with("listeners[0].routes[0].colour: unknown field `colour`"),
        "{e:?}"
    );
    assert!(
        e[2].starts_with("backends[0].provider: unknown provider \"gemni\""),
        "{e:?}"
    );
    // A mistyped value is reported with the unknown keys, but what depends on it is not
    // checked further.
    let e = errors(
        "config:\n  gracePeriod: [1]\n  bogus: 1\nlisteners:\n  - bind: 127.0.0.1:1\nbackends:\n  - name: g\n    provider: gemni\n",
    );
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(
        e[0].starts_with("config.gracePeriod: invalid type"),
        "{e:?}"
    );
    assert!(e[1].starts_with("config.bogus: unknown field"), "{e:?}");
}

#[test]
fn unknown_provider_lists_the_known_ones() {
    let e =
        errors("listeners:\n  - bind: 127.0.0.1:1\nbackends:\n  - name: g\n    provider: gemni\n");
    assert_eq!(
        e,
        ["backends[0].provider: unknown provider \"gemni\"; expected one of openai, gemini, anthropic, vertex, bedrock, azure, mock, groq, mistral, deepseek, together, fireworks, openrouter, xai, ollama, vllm"]
    );
}

#[test]
fn unset_env_vars_are_reported_with_everything_else() {
    let e = errors(
        "listeners:\n  - bind: nowhere\n    routes:\n      - match: {pathPrefix: /a}\n        backend: missing\nbackends:\n  - name: g\n    provider: gemini\n    apiKey: ${SLUICE_TEST_SURELY_UNSET}\n  - name: h\n    provider: openai\n    apiKey: {env: SLUICE_TEST_ALSO_UNSET}\n",
    );
    assert!(
        e.contains(
            &"backends[0].apiKey: environment variable SLUICE_TEST_SURELY_UNSET is not set"
                .to_string()
        ),
        "{e:?}"
    );
    assert!(
        e.contains(
            &"backends[1].apiKey.env: environment variable SLUICE_TEST_ALSO_UNSET is not set"
                .to_string()
        ),
        "{e:?}"
    );
    assert!(
        e.contains(
            &"listeners[0].bind: \"nowhere\" is not an address like 0.0.0.0:8080".to_string()
        ),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|l| l.starts_with("listeners[0].routes[0].backend: unknown backend \"missing\"")),
        "{e:?}"
    );
}

#[test]
fn bad_values_name_their_paths() {
    let e = errors(
        "config:\n  adminAddr: localhost\n  gracePeriod: soon\n  tracing:\n    otlpEndpoint: grpc://x\n    otlpProtocol: udp\n    compression: zip\n    randomSampling: 2\n    fields:\n      add:\n        a: 'llm.(('\n        b: 3\n  logging:\n    format: xml\nlisteners:\n  - bind: 127.0.0.1:1\n    routes:\n      - match: {pathPrefix: /a, path: /b}\n        backend: x\nbackends:\n  - name: x\n    provider: openai\n    baseUrl: ftp://nope\n    apiVersion: v1\n  - name: x\n    provider: mock\n",
    );
    let starts = [
        "config.adminAddr: ",
        "config.gracePeriod: invalid duration",
        "config.tracing.otlpEndpoint: ",
        "config.tracing.otlpProtocol: unknown protocol \"udp\"",
        "config.tracing.compression: unknown compression \"zip\"",
        "config.tracing.randomSampling: ratio 2 is not between",
        "config.tracing.fields.add.a: invalid CEL expression",
        "config.tracing.fields.add.b: expected a CEL expression",
        "config.logging.format: unknown format \"xml\"",
        "listeners[0].routes[0].match: expected exactly one of pathPrefix, path",
        "backends[0].baseUrl: ",
        "backends[0].apiVersion: not used by provider openai",
        "backends[1].name: duplicate backend name \"x\"",
    ];
    for s in starts {
        assert!(e.iter().any(|l| l.starts_with(s)), "missing {s:?} in {e:?}");
    }
}

#[test]
fn a_secret_of_the_wrong_type_is_not_quoted() {
    let yaml = GOOD.replacen(
        "config:\n",
        "config:\n  tracing:\n    otlpEndpoint: http://127.0.0.1:4317\n    headers: {authorization: 987654321}\n",
        1,
    );
    let e = errors(&yaml);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0] == "config.tracing.headers.authorization: invalid type: integer <redacted>, expected a string",
        "{e:?}"
    );
    assert!(!e[0].contains("987654321"), "{e:?}");
}

#[test]
fn secrets_from_files_are_read_and_trimmed() {
    let path = std::env::temp_dir().join(format!("sluice-key-{}", std::process::id()));
    std::fs::write(&path, "file-key\n").unwrap();
    let yaml = format!(
        "listeners:\n  - bind: 127.0.0.1:1\nbackends:\n  - name: g\n    provider: gemini\n    apiKey: {{file: {}}}\n",
        path.display()
    );
    let c = load_str(&yaml).unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(c.backends[0].api_key.as_ref().unwrap().expose(), "file-key");
    let e = errors("listeners:\n  - bind: 127.0.0.1:1\nbackends:\n  - name: g\n    provider: gemini\n    apiKey: {file: /nonexistent/key}\n");
    assert!(
        e[0].starts_with("backends[0].apiKey.file: cannot read /nonexistent/key"),
        "{e:?}"
    );
}

#[test]
fn the_embedded_demo_is_valid() {
    let c = load_str(super::DEMO_CONFIG).unwrap();
    assert_eq!(c.listeners[0].bind, "127.0.0.1:8080");
    assert_eq!(c.backends[0].provider, sluice_providers::ProviderKind::Mock);
}

#[test]
fn route_aliases_apply_unless_the_backend_pins_a_model() {
    let c = load_str(
        "listeners:\n  - bind: 127.0.0.1:1\n    routes:\n      - match: {pathPrefix: /}\n        backends: [free, pinned]\n        models: {gpt-4o: gemini-2.0-flash}\nbackends:\n  - name: free\n    provider: gemini\n    apiKey: k\n  - name: pinned\n    provider: gemini\n    apiKey: k\n    model: gemini-1.5-pro\n",
    )
    .unwrap();
    let route = &c.listeners[0].routes[0];
    let (free, pinned) = (&route.backends[0], &route.backends[1]);
    assert_eq!(route.model_for(free, "gpt-4o"), "gemini-2.0-flash");
    assert_eq!(route.model_for(free, "other"), "other");
    assert_eq!(route.model_for(pinned, "gpt-4o"), "gemini-1.5-pro");
}

#[test]
fn azure_takes_an_api_key_or_an_entra_token_not_both() {
    let base = "listeners:\n  - bind: 127.0.0.1:1\nbackends:\n  - name: a\n    provider: azure\n    model: dep\n    baseUrl: https://r.openai.azure.com\n";
    let c = load_str(&format!("{base}    entraToken: tok\n")).unwrap();
    assert!(matches!(
        c.backends[0].cloud,
        Some(super::runtime::Cloud::AzureEntra { .. })
    ));
    let e = errors(&format!("{base}    entraToken: tok\n    apiKey: k\n"));
    assert!(
        e[0].starts_with("backends[0]: provider azure takes one of apiKey"),
        "{e:?}"
    );
    let e = errors("listeners:\n  - bind: 127.0.0.1:1\nbackends:\n  - name: a\n    provider: azure\n    apiKey: k\n");
    assert!(
        e.iter()
            .any(|l| l.starts_with("backends[0].baseUrl: provider azure needs a baseUrl")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|l| l.starts_with("backends[0].model: provider azure needs the deployment name")),
        "{e:?}"
    );
    let e = errors("listeners:\n  - bind: 127.0.0.1:1\nbackends:\n  - name: g\n    provider: gemini\n    entraToken: t\n    region: x\n");
    assert!(
        e.contains(&"backends[0].entraToken: only for provider azure".to_string()),
        "{e:?}"
    );
    assert!(
        e.contains(&"backends[0].region: only for provider bedrock".to_string()),
        "{e:?}"
    );
}

const LIMITS: &str = r#"
config:
  maxMessages: 10
  maxStreamDuration: 2m
  requestReadTimeout: 5s
  limits:
    redis:
      url: redis://:hunter2@127.0.0.1:6379/0
      failMode: closed
      timeout: 20ms
listeners:
  - bind: 127.0.0.1:8080
    routes:
      - match: {pathPrefix: /}
        backend: mock
backends:
  - name: mock
    provider: mock
"#;

#[test]
fn redis_limits_and_input_limits_load() {
    use super::runtime::FailMode;
    let c = load_str(LIMITS).unwrap();
    let r = c.limits_redis.as_ref().unwrap();
    assert_eq!(r.fail_mode, FailMode::Closed);
    assert_eq!(r.prefix, "sluice:");
    assert_eq!(r.timeout, std::time::Duration::from_millis(20));
    assert_eq!(c.max_messages, 10);
    assert_eq!(c.max_stream_duration, std::time::Duration::from_secs(120));
    assert_eq!(c.request_read_timeout, std::time::Duration::from_secs(5));
    // The password shows nowhere: not in Debug, not in /config.
    assert!(!format!("{c:?}").contains("hunter2"));
    let shown = c.redacted.to_string();
    assert!(!shown.contains("hunter2"), "{shown}");
    assert_eq!(
        c.redacted["config"]["limits"]["redis"]["url"],
        "redis://<redacted>@127.0.0.1:6379/0"
    );
    // Defaults.
    let d = load_str(GOOD).unwrap();
    assert!(d.limits_redis.is_none());
    assert_eq!(d.max_messages, 2048);
    assert_eq!(d.max_stream_duration, std::time::Duration::from_secs(600));
    assert_eq!(d.request_read_timeout, std::time::Duration::from_secs(30));
}

#[test]
fn redis_limit_errors_name_their_path_and_hide_the_url() {
    let bad = LIMITS
        .replace("failMode: closed", "failMode: sometimes")
        .replace("timeout: 20ms", "timeout: soon")
        .replace("redis://:hunter2@", "http://:hunter2@");
    let errs = errors(&bad);
    assert!(
        errs.iter()
            .any(|e| e.starts_with("config.limits.redis.failMode: unknown fail mode")),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.starts_with("config.limits.redis.timeout: invalid duration")),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.starts_with("config.limits.redis.url:")),
        "{errs:?}"
    );
    assert!(!errs.iter().any(|e| e.contains("hunter2")), "{errs:?}");
    let unknown = LIMITS.replace("failMode: closed", "failmode: closed");
    let errs = errors(&unknown);
    assert!(
        errs.iter().any(|e| e.starts_with("config.limits.redis")),
        "{errs:?}"
    );
    let zero = LIMITS.replace("maxMessages: 10", "maxMessages: 0");
    assert!(errors(&zero)
        .iter()
        .any(|e| e.starts_with("config.maxMessages:")));
}

#[test]
fn yaml_1_1_boolean_words_stay_strings() {
    // `off` is the documented level; YAML 1.1 would read it (and on, yes, no, y, n) as a bool.
    let with_level = |level: &str| {
        format!("config:\n  logging:\n    level: {level}\nlisteners:\n  - bind: 127.0.0.1:8080\n    routes: []\n")
    };
    let c = load_str(&with_level("off")).unwrap();
    assert_eq!(c.logging.level, Some(log::LevelFilter::Off));
    let e = errors(&with_level("no"));
    assert_eq!(
        e,
        ["config.logging.level: unknown level \"no\"; expected one of debug, info, warn, error, off"]
    );
    // true and false are still booleans.
    let e = errors(&with_level("false"));
    assert!(
        e[0].starts_with("config.logging.level: invalid type: boolean `false`"),
        "{e:?}"
    );
}
