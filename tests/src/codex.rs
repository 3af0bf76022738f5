//! OpenAI's Codex CLI (npm `@openai/codex`, the `codex` binary) as a real client of the
//! gateway: `codex exec --json -o <file> <prompt>` with a custom Responses provider whose
//! `base_url` is a sluice route, offline (plugins and analytics off), in a fresh `CODEX_HOME`,
//! `HOME` and working directory, with a bounded run time (killed on timeout).
//!
//! The binary comes from `$CODEX_BIN`, which `scripts/test.sh` sets after installing the
//! pinned version into `target/node-clients`. Without it the tests skip with a message, except
//! under CI (`CI=true`), where they fail. What Codex sends and needs back is written down with
//! the captures in `providers/tests/fixtures/codex/README.md`.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use serde_json::Value;

use crate::claude_code::{client_available, client_bin, isolated_command, run_bounded, TempDir};

/// The version `scripts/test.sh` installs, and the one the fixtures were captured from.
pub const CODEX_VERSION: &str = "0.171.0";

/// The model Codex is told to use: one of its catalogue with the classic `tools` list (its
/// default, `gpt-6.2-sol`, sends its tools as an `additional_tools` input item instead).
pub const CODEX_MODEL: &str = "gpt-5.5";

/// The key Codex is given (`GW_API_KEY`, sent as `Bearer`): the gateway must not pass it on.
pub const CLIENT_KEY: &str = "sk-codex-client-key-0001";

/// How long one Codex run may take (a run takes about 0.3 s on an idle machine).
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// Whether `$CODEX_BIN` is set: when it is not, prints why the test skips and returns false,
/// or, under CI (`CI=true`), panics.
pub fn codex_available() -> bool {
    client_available(
        "CODEX_BIN",
        codex_bin,
        "./scripts/test.sh installs Codex CLI and sets it",
    )
}

/// `$CODEX_BIN`; panics when it is not set or missing.
pub fn codex_bin() -> PathBuf {
    client_bin(
        "CODEX_BIN",
        "run ./scripts/test.sh, which installs Codex CLI into target/node-clients and exports \
         CODEX_BIN, or set CODEX_BIN to a `codex` binary (version 0.171.0: npm i \
         @openai/codex@0.171.0)",
    )
}

/// One Codex invocation; see [`Codex::run`].
#[derive(Debug, Clone)]
pub struct Codex {
    base_url: String,
    prompt: String,
    model: String,
    full_access: bool,
    /// Extra `-c key=value` and `--disable feature` arguments.
    extra_args: Vec<String>,
    timeout: Duration,
}

/// A finished run: exit status, output, the `--json` events and the last message.
#[derive(Debug)]
pub struct CodexRun {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// The JSONL events `--json` printed (`thread.started`, `item.completed`,
    /// `turn.completed`, `error`, ...), the lines that parse.
    pub events: Vec<Value>,
    /// What `--output-last-message` wrote, when it wrote anything.
    pub last_message: Option<String>,
    /// The working directory Codex ran in (kept until the run is dropped), where its
    /// commands and patches left their files.
    pub workdir: TempDir,
}

impl CodexRun {
    /// Everything about the run, for failure messages.
    pub fn report(&self) -> String {
        format!(
            "codex exited with {}\n--- codex stdout ---\n{}\n--- codex stderr ---\n{}\n--- end ---",
            self.status, self.stdout, self.stderr
        )
    }

    /// Codex's final message; panics with the run's output unless the run succeeded.
    pub fn final_message(&self) -> &str {
        assert!(
            self.status.success() && self.turn_completed().is_some(),
            "Codex's run failed\n{}",
            self.report()
        );
        self.last_message
            .as_deref()
            .unwrap_or_else(|| panic!("Codex wrote no last message\n{}", self.report()))
            .trim_end()
    }

    /// The `turn.completed` event, if the turn completed.
    pub fn turn_completed(&self) -> Option<&Value> {
        self.events.iter().find(|e| e["type"] == "turn.completed")
    }

    /// The turn's `usage` (`input_tokens`, `cached_input_tokens`, `output_tokens`, ...),
    /// summed over its model calls.
    pub fn usage(&self) -> &Value {
        &self
            .turn_completed()
            .unwrap_or_else(|| panic!("no turn.completed\n{}", self.report()))["usage"]
    }

    /// `(input_tokens, cached_input_tokens, output_tokens)` of [`CodexRun::usage`].
    pub fn token_counts(&self) -> (u64, u64, u64) {
        let u = self.usage();
        let n = |k: &str| {
            u[k].as_u64()
                .unwrap_or_else(|| panic!("no {k} in Codex's usage {u}\n{}", self.report()))
        };
        (
            n("input_tokens"),
            n("cached_input_tokens"),
            n("output_tokens"),
        )
    }

    /// The completed items of a `type` (`agent_message`, `command_execution`, ...).
    pub fn items(&self, kind: &str) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| e["type"] == "item.completed" && e["item"]["type"] == kind)
            .map(|e| &e["item"])
            .collect()
    }
}

impl Codex {
    /// A run against `base_url` (the provider's `base_url`, e.g.
    /// `http://127.0.0.1:PORT/codex/v1`: Codex calls `{base_url}/responses`).
    pub fn new(base_url: &str, prompt: &str) -> Codex {
        Codex {
            base_url: base_url.to_string(),
            prompt: prompt.to_string(),
            model: CODEX_MODEL.to_string(),
            full_access: false,
            extra_args: Vec::new(),
            timeout: RUN_TIMEOUT,
        }
    }

    /// The model Codex names (default [`CODEX_MODEL`]).
    pub fn model(mut self, model: &str) -> Codex {
        self.model = model.to_string();
        self
    }

    /// Lets the model's commands run without asking and outside Codex's sandbox
    /// (`--dangerously-bypass-approvals-and-sandbox`): the tests are about the gateway, not
    /// Codex's bubblewrap sandbox, which a container may not allow.
    pub fn full_access(mut self) -> Codex {
        self.full_access = true;
        self
    }

    /// No hosted `web_search` (`web_search = "disabled"`): OpenAI runs it, and a route to
    /// another provider refuses it (with a 400 that says so). Codex's other tools (its
    /// functions, the free-form `apply_patch`, the `multi_agent_v1` namespace, `tool_search`)
    /// are mapped there.
    pub fn without_web_search(mut self) -> Codex {
        self.extra_args
            .extend(["-c", "web_search=\"disabled\""].map(String::from));
        self
    }

    /// The `config.toml`: the provider, no retries (an error answer fails the run at once),
    /// a bounded wait for a stalled stream.
    fn config_toml(&self) -> String {
        format!(
            "model = \"{model}\"\nmodel_provider = \"gw\"\n\n[model_providers.gw]\n\
             name = \"gw\"\nbase_url = \"{base_url}\"\nenv_key = \"GW_API_KEY\"\n\
             wire_api = \"responses\"\nrequest_max_retries = 0\nstream_max_retries = 0\n\
             stream_idle_timeout_ms = 30000\n",
            model = self.model,
            base_url = self.base_url,
        )
    }

    /// Runs Codex to completion with a clean environment (nothing from ours but `PATH`, so no
    /// proxy, key or setting of the machine leaks in) in a fresh `CODEX_HOME`, `HOME` and
    /// working directory; kills it after the timeout and panics with its output.
    pub async fn run(self) -> CodexRun {
        let bin = codex_bin();
        let home = TempDir::new("sluice-codex-home");
        let codex_home = home.path().join(".codex");
        let cwd = TempDir::new("sluice-codex-cwd");
        std::fs::create_dir_all(&codex_home).expect("create CODEX_HOME");
        std::fs::write(codex_home.join("config.toml"), self.config_toml()).expect("config.toml");
        let last_message = home.path().join("last-message.txt");
        let mut cmd = isolated_command(&bin, home.path(), cwd.path());
        cmd.args([
            "exec",
            "--skip-git-repo-check",
            "--json",
            "--color",
            "never",
        ])
        // Nothing but the provider: no plugin sync, no analytics upload.
        .args(["--disable", "plugins", "--disable", "remote_plugin"])
        .args(["-c", "analytics.enabled=false"])
        .arg("--output-last-message")
        .arg(&last_message)
        .env("CODEX_HOME", &codex_home)
        .env("GW_API_KEY", CLIENT_KEY);
        if self.full_access {
            cmd.arg("--dangerously-bypass-approvals-and-sandbox");
        }
        cmd.args(&self.extra_args);
        // Last, after `--`: the prompt is never read as an option.
        cmd.arg("--").arg(&self.prompt);
        let end = run_bounded(cmd, self.timeout).await;
        let events = end
            .stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect();
        let run = CodexRun {
            status: end.status,
            stdout: end.stdout,
            stderr: end.stderr,
            events,
            last_message: std::fs::read_to_string(&last_message).ok(),
            workdir: cwd,
        };
        if end.timed_out {
            panic!(
                "Codex did not finish within {:?} (killed)\n{}",
                self.timeout,
                run.report()
            );
        }
        run
    }
}

// Reading Codex's requests (`POST {base_url}/responses` bodies).

/// What Codex 0.171 sends (`providers/tests/fixtures/codex/README.md`): a streamed,
/// unstored request with its system prompt as `developer` messages, encrypted reasoning asked
/// for, a prompt cache key, and its tools (the shell tool `exec_command` among them). Panics
/// naming `whose` body lacks which.
pub fn assert_codex_shape(body: &Value, whose: &str) {
    assert_eq!(body["stream"], true, "{whose}: stream");
    assert_eq!(body["store"], false, "{whose}: store");
    assert_eq!(
        body["include"],
        serde_json::json!(["reasoning.encrypted_content"]),
        "{whose}: include"
    );
    assert!(
        body["prompt_cache_key"].is_string(),
        "{whose}: prompt_cache_key {}",
        body["prompt_cache_key"]
    );
    assert!(
        !developer_texts(body).is_empty(),
        "{whose}: developer messages in input"
    );
    assert!(
        function_tools(body)
            .iter()
            .any(|(n, _)| n == "exec_command"),
        "{whose}: tools {:?}",
        function_tools(body)
            .iter()
            .map(|(n, _)| n)
            .collect::<Vec<_>>()
    );
}

/// The `function` tools of a request, in order: name and parameters schema.
pub fn function_tools(body: &Value) -> Vec<(String, Value)> {
    body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["type"] == "function")
        .filter_map(|t| Some((t["name"].as_str()?.to_string(), t["parameters"].clone())))
        .collect()
}

/// The (non-blank) texts of the `input` messages of `role` (`developer`, `user`, ...).
pub fn input_texts(body: &Value, role: &str) -> Vec<String> {
    let mut out: Vec<String> = body["input"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["role"] == role && i["type"].as_str().is_none_or(|t| t == "message"))
        .flat_map(|i| crate::claude_code::content_texts(&i["content"]))
        .collect();
    out.retain(|t| !t.trim().is_empty());
    out
}

/// Codex's system prompt: the texts of its `developer` messages (and `instructions`, which
/// 0.171 does not send).
pub fn developer_texts(body: &Value) -> Vec<String> {
    let mut out: Vec<String> = body["instructions"]
        .as_str()
        .map(str::to_string)
        .into_iter()
        .collect();
    out.extend(input_texts(body, "developer"));
    out
}

/// The `input` items of a `type` (`function_call`, `function_call_output`, ...).
pub fn input_items<'a>(body: &'a Value, kind: &str) -> Vec<&'a Value> {
    body["input"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["type"] == kind)
        .collect()
}

/// A tool's result as Codex sends it back in the next request: the model's one
/// `function_call` to `tool` running `cmd` (`exec_command`'s `{"cmd": ...}`), and one
/// `function_call_output` answering it (same `call_id`) whose output contains `output`.
pub fn assert_tool_output_sent(body: &Value, tool: &str, cmd: &str, output: &str) {
    let calls = input_items(body, "function_call");
    let outputs = input_items(body, "function_call_output");
    assert_eq!((calls.len(), outputs.len()), (1, 1), "{}", body["input"]);
    let (call, out) = (calls[0], outputs[0]);
    assert_eq!(call["name"], tool, "{call}");
    let args: Value = call["arguments"]
        .as_str()
        .and_then(|a| serde_json::from_str(a).ok())
        .unwrap_or_else(|| panic!("arguments as a JSON string: {call}"));
    assert_eq!(args["cmd"], cmd, "{call}");
    assert_eq!(
        out["call_id"], call["call_id"],
        "the output answers the call"
    );
    assert!(
        out["output"].as_str().is_some_and(|o| o.contains(output)),
        "the command's output: {out}"
    );
}
