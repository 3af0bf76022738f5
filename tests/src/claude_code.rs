//! Claude Code (npm `@anthropic-ai/claude-code`, the `claude` CLI) as a real client of the
//! gateway: `claude -p <prompt> --output-format json` with `ANTHROPIC_BASE_URL` pointing at a
//! route, offline (`CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`), in a fresh `HOME` and a
//! fresh working directory, with a bounded run time (killed on timeout).
//!
//! The binary comes from `$CLAUDE_BIN`, which `scripts/test.sh` sets after installing the
//! pinned version into `target/node-clients`. Without it the tests skip with a message, except
//! under CI (`CI=true`), where they fail, as the Redis tests do.
//!
//! The isolated, bounded run of a client CLI ([`isolated_command`], [`run_bounded`]) and
//! [`TempDir`] serve the Codex harness (`crate::codex`) too.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::task::JoinHandle;

use crate::setup::temp_path;

/// The version `scripts/test.sh` installs, and the one the fixtures were captured from.
pub const CLAUDE_CODE_VERSION: &str = "2.1.332";

/// The key Claude Code is given (`ANTHROPIC_API_KEY`): the gateway must not pass it on.
pub const CLIENT_KEY: &str = "sk-ant-claude-code-client-key-0001";

/// How long one Claude Code run may take (a run takes about 0.5 s on an idle machine).
pub const RUN_TIMEOUT: Duration = Duration::from_secs(90);

/// Whether `$CLAUDE_BIN` is set: when it is not, prints why the test skips and returns false,
/// or, under CI (`CI=true`), panics.
pub fn claude_available() -> bool {
    client_available(
        "CLAUDE_BIN",
        claude_bin,
        "./scripts/test.sh installs Claude Code and sets it",
    )
}

/// `$CLAUDE_BIN`; panics when it is not set or missing.
pub fn claude_bin() -> PathBuf {
    client_bin(
        "CLAUDE_BIN",
        "run ./scripts/test.sh, which installs Claude Code into target/node-clients and \
         exports CLAUDE_BIN, or set CLAUDE_BIN to a `claude` binary (version 2.1.332: npm i \
         @anthropic-ai/claude-code@2.1.332)",
    )
}

/// Whether the client CLI's variable `var` (`CLAUDE_BIN`, `CODEX_BIN`) is set: when it is
/// not, prints why the test skips (`setter`: what sets it) and returns false, or, under CI
/// (`CI=true`), panics through `bin` (the client's [`client_bin`]).
pub fn client_available(var: &str, bin: fn() -> PathBuf, setter: &str) -> bool {
    if std::env::var_os(var).is_some_and(|b| !b.is_empty()) {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        bin();
    }
    eprintln!("skipped: {var} is not set ({setter})");
    false
}

/// The client CLI binary `$var` names; panics with `hint` (how to get one) when it is not set
/// or missing.
pub fn client_bin(var: &str, hint: &str) -> PathBuf {
    let Some(bin) = std::env::var_os(var).filter(|b| !b.is_empty()) else {
        panic!("{var} is not set: {hint}");
    };
    let bin = PathBuf::from(bin);
    assert!(
        bin.is_file(),
        "{var}={} does not exist: {hint}",
        bin.display()
    );
    bin
}

/// A directory removed (with its content) on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let path = temp_path(prefix, "d");
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A client CLI's process, ended: see [`run_bounded`].
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// Whether it ran past the timeout and was killed.
    pub timed_out: bool,
}

/// `bin` set up to run isolated: in `cwd`, with a clean environment (nothing from ours but
/// `PATH`, so no proxy, key or setting of the machine leaks in) plus `HOME`, a `SHELL` and
/// `LANG`, no stdin, its output piped, killed when dropped. Add the client's own arguments
/// and variables after (`env_clear` would drop any set before).
pub fn isolated_command(bin: &Path, home: &Path, cwd: &Path) -> Command {
    let shell = if Path::new("/bin/bash").exists() {
        "/bin/bash"
    } else {
        "/bin/sh"
    };
    let mut cmd = Command::new(bin);
    cmd.current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("SHELL", shell)
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// Spawns `cmd` (as [`isolated_command`] makes it), reads its output while it runs, and waits
/// for it at most `timeout`, killing it past that; panics when it cannot be spawned.
pub async fn run_bounded(mut cmd: Command, timeout: Duration) -> Finished {
    let bin = cmd.as_std().get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("could not spawn {bin}: {e}"));
    fn read_all(mut pipe: impl AsyncRead + Send + Unpin + 'static) -> JoinHandle<String> {
        tokio::spawn(async move {
            let mut s = Vec::new();
            let _ = pipe.read_to_end(&mut s).await;
            String::from_utf8_lossy(&s).into_owned()
        })
    }
    let stdout = read_all(child.stdout.take().expect("stdout"));
    let stderr = read_all(child.stderr.take().expect("stderr"));
    let (status, timed_out) = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => (status, false),
        Err(_) => {
            let _ = child.kill().await;
            (child.wait().await, true)
        }
    };
    let status = status.unwrap_or_else(|e| panic!("wait for {bin}: {e}"));
    // Bounded: a grandchild (a tool's shell) could hold the pipes open.
    let collect = |h: JoinHandle<String>| async move {
        tokio::time::timeout(Duration::from_secs(5), h)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default()
    };
    Finished {
        status,
        stdout: collect(stdout).await,
        stderr: collect(stderr).await,
        timed_out,
    }
}

/// One Claude Code invocation; see [`ClaudeCode::run`].
#[derive(Debug, Clone)]
pub struct ClaudeCode {
    base_url: String,
    prompt: String,
    skip_permissions: bool,
    timeout: Duration,
}

/// A finished run: exit status, output and the parsed `--output-format json` object.
#[derive(Debug)]
pub struct ClaudeRun {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// The JSON object Claude Code printed, when stdout parses as one.
    pub output: Option<Value>,
}

impl ClaudeRun {
    /// Everything about the run, for failure messages.
    pub fn report(&self) -> String {
        format!(
            "claude exited with {}\n--- claude stdout ---\n{}\n--- claude stderr ---\n{}\n--- end ---",
            self.status, self.stdout, self.stderr
        )
    }

    /// The answer text (`result`); panics with the run's output unless the run succeeded.
    pub fn result(&self) -> &str {
        let out = self
            .output
            .as_ref()
            .unwrap_or_else(|| panic!("Claude Code printed no JSON object\n{}", self.report()));
        assert!(
            self.status.success() && out["is_error"] == Value::Bool(false),
            "Claude Code's run failed\n{}",
            self.report()
        );
        out["result"].as_str().unwrap_or_else(|| {
            panic!(
                "no `result` string in Claude Code's output\n{}",
                self.report()
            )
        })
    }

    /// The output's `usage` object (tokens summed over the run's model calls).
    pub fn usage(&self) -> &Value {
        &self.output.as_ref().expect("Claude Code's JSON output")["usage"]
    }
}

impl ClaudeCode {
    /// A run against `base_url` (`ANTHROPIC_BASE_URL`, e.g. `http://127.0.0.1:PORT/anthropic`).
    pub fn new(base_url: &str, prompt: &str) -> ClaudeCode {
        ClaudeCode {
            base_url: base_url.to_string(),
            prompt: prompt.to_string(),
            skip_permissions: false,
            timeout: RUN_TIMEOUT,
        }
    }

    /// Lets the model's tool calls run without asking (`--dangerously-skip-permissions`,
    /// with `IS_SANDBOX=1`, which Claude Code wants before it allows that as root).
    pub fn skip_permissions(mut self) -> ClaudeCode {
        self.skip_permissions = true;
        self
    }

    /// Runs Claude Code to completion with a clean environment (nothing from ours but `PATH`,
    /// so no proxy, key or setting of the machine leaks in) in a fresh `HOME` and working
    /// directory; kills it after the timeout and panics with its output.
    pub async fn run(self) -> ClaudeRun {
        let bin = claude_bin();
        let home = TempDir::new("sluice-claude-home");
        let cwd = TempDir::new("sluice-claude-cwd");
        let mut cmd = isolated_command(&bin, home.path(), cwd.path());
        cmd.arg("-p")
            .arg(&self.prompt)
            .args(["--output-format", "json"])
            .env("ANTHROPIC_BASE_URL", &self.base_url)
            .env("ANTHROPIC_API_KEY", CLIENT_KEY)
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            // An error answer fails the run at once instead of after minutes of retries.
            .env("CLAUDE_CODE_MAX_RETRIES", "0");
        if self.skip_permissions {
            cmd.arg("--dangerously-skip-permissions")
                .env("IS_SANDBOX", "1");
        }
        let end = run_bounded(cmd, self.timeout).await;
        let run = ClaudeRun {
            status: end.status,
            stdout: end.stdout,
            stderr: end.stderr,
            output: None,
        };
        if end.timed_out {
            panic!(
                "Claude Code did not finish within {:?} (killed)\n{}",
                self.timeout,
                run.report()
            );
        }
        let output = serde_json::from_str::<Value>(run.stdout.trim()).ok();
        ClaudeRun { output, ..run }
    }
}

// Reading Claude Code's requests (`POST /v1/messages?beta=true` bodies).

/// What Claude Code 2.1.332 sends, which makes it a demanding client: cache breakpoints in
/// `system`, adaptive thinking, context management, an effort, a `role: system` message inside
/// `messages`, its tools (Bash among them). Panics naming `whose` body lacks which.
pub fn assert_claude_code_shape(body: &Value, whose: &str) {
    let system = body["system"]
        .as_array()
        .unwrap_or_else(|| panic!("{whose}: no system blocks"));
    assert!(
        system
            .iter()
            .any(|b| b["cache_control"]["type"] == "ephemeral"),
        "{whose}: cache_control on a system block: {}",
        body["system"]
    );
    assert_eq!(body["thinking"]["type"], "adaptive", "{whose}: thinking");
    assert!(
        body["context_management"]["edits"]
            .as_array()
            .is_some_and(|e| !e.is_empty()),
        "{whose}: context_management {}",
        body["context_management"]
    );
    assert!(
        body["output_config"]["effort"].is_string(),
        "{whose}: output_config {}",
        body["output_config"]
    );
    let messages = body["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("{whose}: no messages"));
    assert!(
        messages.iter().any(|m| m["role"] == "system"),
        "{whose}: a role: system message inside messages"
    );
    assert!(
        tool_names(body).iter().any(|t| t == "Bash"),
        "{whose}: tools {:?}",
        tool_names(body)
    );
}

/// The names of the request's tools, in order.
pub fn tool_names(body: &Value) -> Vec<String> {
    body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect()
}

/// Every (non-blank) text of the system prompt: the `system` blocks, then the texts of the
/// `role: system` messages inside `messages`.
pub fn system_texts(body: &Value) -> Vec<String> {
    let mut out = match &body["system"] {
        Value::String(s) => vec![s.clone()],
        blocks => content_texts(blocks),
    };
    for m in body["messages"].as_array().into_iter().flatten() {
        if m["role"] == "system" {
            out.extend(content_texts(&m["content"]));
        }
    }
    out.retain(|t| !t.trim().is_empty());
    out
}

/// The texts of a content: a string, or a list of blocks / parts with `text`.
pub fn content_texts(content: &Value) -> Vec<String> {
    match content {
        Value::String(s) => vec![s.clone()],
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// `actual == expected`; otherwise panics with `what` and the top-level members that differ
/// (values cut at 300 characters: Claude Code's bodies are ~50 kB).
pub fn assert_same_json(actual: &Value, expected: &Value, what: &str) {
    if actual == expected {
        return;
    }
    let (Some(a), Some(e)) = (actual.as_object(), expected.as_object()) else {
        panic!("{what}: {actual} != {expected}");
    };
    let short = |v: Option<&Value>| {
        let s = v.map_or("<absent>".to_string(), Value::to_string);
        if s.chars().count() > 300 {
            format!("{}…", s.chars().take(300).collect::<String>())
        } else {
            s
        }
    };
    let mut keys: Vec<&String> = a.keys().chain(e.keys()).collect();
    keys.sort();
    keys.dedup();
    let diffs: Vec<String> = keys
        .into_iter()
        .filter(|k| a.get(*k) != e.get(*k))
        .map(|k| {
            format!(
                "  {k}: got {} / expected {}",
                short(a.get(k)),
                short(e.get(k))
            )
        })
        .collect();
    panic!("{what}: the bodies differ in\n{}", diffs.join("\n"));
}
