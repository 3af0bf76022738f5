//! Setting up a gateway run: locating the `sluice` binary (building it once with cargo),
//! [`run_cli`] for one-shot commands, free ports, `{{placeholder}}` config templating, unique
//! temp files and a tiny YAML scalar lookup.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Ports handed to gateways and dead-port tests come from below the kernel's ephemeral range
/// (32768–60999 on Linux), which `bind(:0)` and outgoing connections draw from: a mock, an
/// OTLP receiver or a client socket of a parallel test can then never take a port between
/// our pick and the gateway's bind.
const RESERVED_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A port on 127.0.0.1 that is free and reserved for this test process: no other test process
/// (nextest runs one per test) can be handed it while this one lives, because each pick holds
/// an advisory lock on `<tmp>/sluice-test-ports/<port>.lock` until the process exits. Without
/// this, two tests could pick the same free port at once, and one gateway's `/readyz` check
/// could be answered by the other test's process on that port.
pub fn free_port() -> u16 {
    static HELD: std::sync::Mutex<Vec<std::fs::File>> = std::sync::Mutex::new(Vec::new());
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join("sluice-test-ports");
    std::fs::create_dir_all(&dir).expect("create the port lock directory");
    let span = u64::from(RESERVED_PORTS.end - RESERVED_PORTS.start);
    // Processes start at different points of the range, so they rarely contend for a lock.
    let start = u64::from(std::process::id()) * 7919;
    for _ in 0..span {
        let n = (start + NEXT.fetch_add(1, Ordering::Relaxed)) % span;
        let port = RESERVED_PORTS.start + n as u16;
        let Ok(file) = std::fs::File::create(dir.join(format!("{port}.lock"))) else {
            continue;
        };
        if file.try_lock().is_err() || TcpListener::bind(("127.0.0.1", port)).is_err() {
            continue;
        }
        HELD.lock().unwrap_or_else(|e| e.into_inner()).push(file);
        return port;
    }
    panic!("no free port left in {RESERVED_PORTS:?}");
}

/// Two distinct free ports, for a gateway's listener (`bind:`) and admin (`adminAddr:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    pub listener: u16,
    pub admin: u16,
}

impl Default for Ports {
    fn default() -> Self {
        Ports::new()
    }
}

impl Ports {
    /// Picks two distinct free ports, reserved as [`free_port`] reserves them.
    pub fn new() -> Ports {
        Ports {
            listener: free_port(),
            admin: free_port(),
        }
    }

    /// `127.0.0.1:<listener>`
    pub fn listener_addr(&self) -> String {
        format!("127.0.0.1:{}", self.listener)
    }

    /// `127.0.0.1:<admin>`
    pub fn admin_addr(&self) -> String {
        format!("127.0.0.1:{}", self.admin)
    }

    /// [`render`]s `template` with `{{admin}}` and `{{listener}}` set to these ports and
    /// the rest from `vars`.
    pub fn render(&self, template: &str, vars: &[(&str, &str)]) -> String {
        let (admin, listener) = (self.admin_addr(), self.listener_addr());
        let mut all = vec![("admin", admin.as_str()), ("listener", listener.as_str())];
        all.extend_from_slice(vars);
        render(template, &all)
    }
}

/// Replaces every `{{name}}` in `template` with its value; panics if a `{{name}}` is left.
pub fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{{{k}}}}}"), v);
    }
    let mut rest = out.as_str();
    while let Some(i) = rest.find("{{") {
        let after = &rest[i + 2..];
        if let Some(j) = after.find("}}") {
            let name = &after[..j];
            if !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            {
                panic!("render: placeholder {{{{{name}}}}} has no value in:\n{out}");
            }
        }
        rest = after;
    }
    out
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests crate has a parent directory")
        .to_path_buf()
}

/// A config template (placeholders for [`crate::Ports::render`]) with the admin listener and
/// one listener whose one route sends everything to backend `b`, whose keys after its name
/// are `backend` (each line indented four spaces).
pub fn one_backend(backend: &str) -> String {
    format!(
        "config:\n  adminAddr: {{{{admin}}}}\nlisteners:\n  - name: http\n    bind: {{{{listener}}}}\n    \
         routes: [{{name: r, match: {{pathPrefix: /}}, backend: b}}]\nbackends:\n  - name: b\n{backend}"
    )
}

/// The text of a provider fixture, `providers/tests/fixtures/<path>`.
pub fn provider_fixture(path: &str) -> String {
    let full = workspace_dir().join("providers/tests/fixtures").join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// A JSON provider fixture, `providers/tests/fixtures/<path>`, parsed.
pub fn provider_fixture_json(path: &str) -> serde_json::Value {
    serde_json::from_str(&provider_fixture(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `$CARGO_TARGET_DIR` (relative to the workspace if relative), else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => workspace_dir().join(d),
        _ => workspace_dir().join("target"),
    }
}

/// The `sluice` binary: `$SLUICE_BIN` if set; else built once per test process with
/// `cargo build -p sluice-gateway --bin sluice` and taken from `<target>/debug/sluice`.
pub fn sluice_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("SLUICE_BIN").filter(|p| !p.is_empty()) {
            return PathBuf::from(p);
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = std::process::Command::new(&cargo);
        build
            .args(["build", "-p", "sluice-gateway", "--bin", "sluice"])
            .current_dir(workspace_dir());
        // The test runner's environment (CARGO_MANIFEST_DIR, CARGO_PKG_*, NEXTEST_*, the
        // library path) is not the shell's: build scripts that watch variables would see them
        // change between this build and the next `cargo test`, and rebuild each time.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            let from_runner = (name.starts_with("CARGO_")
                && !["CARGO_HOME", "CARGO_TARGET_DIR"].contains(&name.as_ref())
                && !name.starts_with("CARGO_BUILD_")
                && !name.starts_with("CARGO_PROFILE_")
                && !name.starts_with("CARGO_REGISTRIES_")
                && !name.starts_with("CARGO_NET_")
                && !name.starts_with("CARGO_HTTP_")
                && !name.starts_with("CARGO_TERM_"))
                || name.starts_with("NEXTEST")
                || name == "LD_LIBRARY_PATH"
                || name == "OUT_DIR"
                || name == "RUST_TEST_THREADS";
            if from_runner {
                build.env_remove(name.as_ref());
            }
        }
        let out = build
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("could not run {cargo:?} build: {e}"));
        if !out.status.success() {
            panic!(
                "`cargo build -p sluice-gateway --bin sluice` failed ({}):\n{}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let bin = target_dir().join("debug").join("sluice");
        assert!(
            bin.exists(),
            "built sluice but {} does not exist",
            bin.display()
        );
        bin
    })
    .clone()
}

/// Runs `sluice <args>` to completion (e.g. `["check", "-c", path]`, `["--version"]`).
pub fn run_cli(args: &[&str]) -> Output {
    run_cli_env(args, &[])
}

/// Runs `sluice <args>` with extra environment variables.
pub fn run_cli_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let bin = sluice_bin();
    std::process::Command::new(&bin)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("could not run {}: {e}", bin.display()))
}

/// A file in the temp dir with a name unique to this process and call.
pub fn temp_path(prefix: &str, ext: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("{prefix}-{}-{n}-{nanos}.{ext}", std::process::id()))
}

/// Writes a config file atomically (temp file + rename), so a file watcher never sees half.
pub(crate) fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()));
    std::fs::rename(&tmp, path).unwrap_or_else(|e| panic!("rename to {}: {e}", path.display()));
}

/// The value of the first `key: value` line in a YAML text (quotes and comments stripped).
pub fn yaml_scalar(yaml: &str, key: &str) -> Option<String> {
    let prefix = format!("{key}:");
    yaml.lines().find_map(|line| {
        let t = line.trim_start();
        let t = t.strip_prefix("- ").map(str::trim_start).unwrap_or(t);
        let v = t.strip_prefix(&prefix)?;
        let v = v.split(" #").next().unwrap_or_default().trim();
        let v = v.trim_matches(|c| c == '"' || c == '\'');
        (!v.is_empty()).then(|| v.to_string())
    })
}

/// `0.0.0.0:P` / `[::]:P` → `127.0.0.1:P` / `[::1]:P`, for connecting.
pub(crate) fn connectable(addr: &str) -> String {
    if let Some(p) = addr.strip_prefix("0.0.0.0:") {
        format!("127.0.0.1:{p}")
    } else if let Some(p) = addr.strip_prefix("[::]:") {
        format!("[::1]:{p}")
    } else {
        addr.to_string()
    }
}
