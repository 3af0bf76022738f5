//! [`Gateway`]: runs the real binary as `sluice run -c <temp config>`, captures stdout and
//! stderr line by line, waits for the admin `/readyz`, sends signals and waits for the exit.
//! Binary location, ports and templating live in [`crate::setup`] (re-exported here).

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::logline::{parse_log_line, LogLine};
use crate::setup::{connectable, temp_path, write_atomically, yaml_scalar};
use crate::Recorder;

pub use crate::setup::{
    free_port, render, run_cli, run_cli_env, sluice_bin, target_dir, workspace_dir, Ports,
};

/// How long [`Gateway::start`] waits for `/readyz` by default.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Options for starting a [`Gateway`]; see [`Gateway::builder`].
#[derive(Debug, Clone)]
pub struct GatewayBuilder {
    yaml: String,
    env: Vec<(String, String)>,
    args: Vec<String>,
    /// Set by [`GatewayBuilder::listen`]: where the listener is, when the config's text has no
    /// `bind:` (Kubernetes objects).
    listener: Option<String>,
    wait_ready: bool,
    ready_timeout: Duration,
}

impl GatewayBuilder {
    /// Sets an environment variable for the gateway process.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Appends an argument after `run -c <file>`.
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Serves the config's only listener on `addr` (`sluice run --listen ADDR`), and connects
    /// there: for configs whose text names no `bind:`, such as Kubernetes objects.
    pub fn listen(mut self, addr: &str) -> Self {
        self.args.push("--listen".into());
        self.args.push(addr.into());
        self.listener = Some(addr.into());
        self
    }

    /// Do not wait for `/readyz` (for tests of start-up failures).
    pub fn no_wait_ready(mut self) -> Self {
        self.wait_ready = false;
        self
    }

    /// How long to wait for `/readyz` (default [`READY_TIMEOUT`]).
    pub fn ready_timeout(mut self, t: Duration) -> Self {
        self.ready_timeout = t;
        self
    }

    /// Spawns the gateway, and unless told otherwise waits until it is ready.
    pub async fn start(self) -> Gateway {
        let bin = match tokio::task::spawn_blocking(sluice_bin).await {
            Ok(b) => b,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        let config_path = temp_path("sluice-test", "yaml");
        write_atomically(&config_path, &self.yaml);
        let mut child = Command::new(&bin)
            .arg("run")
            .arg("-c")
            .arg(&config_path)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("could not spawn {}: {e}", bin.display()));
        let pid = child.id().expect("child pid");
        let stdout = Recorder::new_shared();
        let stderr = Recorder::new_shared();
        let readers = vec![
            spawn_reader(child.stdout.take().unwrap(), stdout.clone(), "stdout"),
            spawn_reader(child.stderr.take().unwrap(), stderr.clone(), "stderr"),
        ];
        let mut gw = Gateway {
            child,
            pid,
            config_path,
            stdout,
            stderr,
            readers,
            exit: None,
            listener_addr: self
                .listener
                .clone()
                .or_else(|| yaml_scalar(&self.yaml, "bind"))
                .map(|a| connectable(&a)),
            admin_addr: yaml_scalar(&self.yaml, "adminAddr").map(|a| connectable(&a)),
            reported: AtomicBool::new(false),
        };
        if self.wait_ready {
            gw.wait_ready(self.ready_timeout).await;
        }
        gw
    }
}

fn spawn_reader(
    pipe: impl AsyncRead + Unpin + Send + 'static,
    sink: Arc<Recorder<String>>,
    name: &'static str,
) -> JoinHandle<()> {
    let echo = std::env::var_os("SLUICE_TEST_ECHO").is_some();
    tokio::spawn(async move {
        let mut lines = BufReader::new(pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if echo {
                eprintln!("[sluice {name}] {line}");
            }
            sink.push(line);
        }
    })
}

/// A running `sluice run -c <temp config>`; killed (SIGKILL) and its config removed on drop.
pub struct Gateway {
    child: Child,
    pid: u32,
    config_path: PathBuf,
    stdout: Arc<Recorder<String>>,
    stderr: Arc<Recorder<String>>,
    readers: Vec<JoinHandle<()>>,
    exit: Option<ExitStatus>,
    listener_addr: Option<String>,
    admin_addr: Option<String>,
    reported: AtomicBool,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("pid", &self.pid)
            .field("config", &self.config_path)
            .field("listener", &self.listener_addr)
            .field("admin", &self.admin_addr)
            .finish()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if self.exit.is_none() {
            let _ = self.child.start_kill();
        }
        let _ = std::fs::remove_file(&self.config_path);
        if std::thread::panicking() && !self.reported.load(Ordering::SeqCst) {
            eprintln!("{}", self.output_report());
        }
    }
}

impl Gateway {
    /// Starts `sluice run -c <file with config_yaml>` and waits for `/readyz` (20 s).
    pub async fn start(config_yaml: &str) -> Gateway {
        Gateway::builder(config_yaml).start().await
    }

    /// Starts a gateway on fresh ports ([`Ports`]): an admin listener and one listener `http`
    /// whose `routes:` list begins `routes_and_rest`, which goes on with the rest of the
    /// config (`backends:`, ...). `{{name}}` placeholders are filled from `vars`.
    pub async fn start_with_routes(routes_and_rest: &str, vars: &[(&str, &str)]) -> Gateway {
        let template = format!(
            "config:\n  adminAddr: {{{{admin}}}}\nlisteners:\n  - name: http\n    bind: {{{{listener}}}}\n    routes:\n{routes_and_rest}"
        );
        Gateway::start(&Ports::new().render(&template, vars)).await
    }

    /// Options: environment, extra arguments, readiness.
    pub fn builder(config_yaml: &str) -> GatewayBuilder {
        GatewayBuilder {
            yaml: config_yaml.to_string(),
            env: Vec::new(),
            args: Vec::new(),
            listener: None,
            wait_ready: true,
            ready_timeout: READY_TIMEOUT,
        }
    }

    /// Polls admin `/readyz` until 200 (or, without `adminAddr`, the listener accepting);
    /// panics with the captured output if the process exits or the timeout passes.
    pub async fn wait_ready(&mut self, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        let client = crate::http::Client::fresh();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exit = Some(status);
                self.drain_readers().await;
                self.fail(format!("sluice exited with {status} before it was ready"));
            }
            let ready = match (&self.admin_addr, &self.listener_addr) {
                (Some(admin), _) => client
                    .send("GET", &format!("http://{admin}/readyz"), &[], Vec::new())
                    .await
                    // Its body, not just its status: only a sluice answers `ready`.
                    .is_ok_and(|r| r.status == 200 && r.text() == "ready\n"),
                (None, Some(listener)) => tokio::net::TcpStream::connect(listener).await.is_ok(),
                (None, None) => true,
            };
            if ready {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                self.fail(format!(
                    "sluice was not ready after {timeout:?} (admin {:?})",
                    self.admin_addr,
                ));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn drain_readers(&mut self) {
        for r in self.readers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(2), r).await;
        }
    }

    /// Panics with `msg` and the captured output (which Drop then does not print again).
    fn fail(&self, msg: String) -> ! {
        self.reported.store(true, Ordering::SeqCst);
        panic!("{msg}\n{}", self.output_report())
    }

    /// Everything captured so far, for panic messages.
    pub fn output_report(&self) -> String {
        let tail = |lines: Vec<String>| {
            let skip = lines.len().saturating_sub(200);
            lines[skip..].join("\n")
        };
        format!(
            "--- sluice (pid {}) stdout ---\n{}\n--- sluice stderr ---\n{}\n--- end ---",
            self.pid,
            tail(self.log_lines()),
            tail(self.stderr_lines())
        )
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The temp config file the gateway was started with.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// Replaces the config file's content (atomically), e.g. before a SIGHUP reload.
    pub fn write_config(&self, yaml: &str) {
        write_atomically(&self.config_path, yaml);
    }

    /// `http://<first bind: in the config>` (0.0.0.0 replaced by 127.0.0.1).
    pub fn base_url(&self) -> String {
        format!(
            "http://{}",
            self.listener_addr
                .as_deref()
                .expect("the config has no `bind:`")
        )
    }

    /// `http://<adminAddr>`
    pub fn admin_url(&self) -> String {
        format!(
            "http://{}",
            self.admin_addr
                .as_deref()
                .expect("the config has no `adminAddr:`")
        )
    }

    /// Every stdout line so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.stdout.snapshot()
    }

    /// Every stderr line so far.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.snapshot()
    }

    /// Every stdout line that parses as a text request log line.
    pub fn request_logs(&self) -> Vec<LogLine> {
        self.log_lines()
            .iter()
            .filter_map(|l| parse_log_line(l))
            .filter(LogLine::is_request)
            .collect()
    }

    /// Waits until `n` stdout lines match `pred`; returns all matching lines.
    pub async fn wait_for_log_lines(
        &self,
        pred: impl Fn(&str) -> bool,
        n: usize,
        timeout: Duration,
    ) -> Vec<String> {
        self.wait_lines(&self.stdout, "stdout", pred, n, timeout)
            .await
    }

    /// Waits until `n` stderr lines match `pred`; returns all matching lines.
    pub async fn wait_for_stderr_lines(
        &self,
        pred: impl Fn(&str) -> bool,
        n: usize,
        timeout: Duration,
    ) -> Vec<String> {
        self.wait_lines(&self.stderr, "stderr", pred, n, timeout)
            .await
    }

    /// Waits for `n` text request log lines, parsed, in the order they were written.
    ///
    /// A request's line is written just after its last byte is sent, so a client can have its
    /// whole answer, send the next request on a new connection, and see that one logged
    /// first. A test that reads lines by position waits for each line before the next request.
    pub async fn wait_for_request_logs(&self, n: usize, timeout: Duration) -> Vec<LogLine> {
        let is_req = |l: &str| parse_log_line(l).is_some_and(|l| l.is_request());
        self.wait_for_log_lines(is_req, n, timeout)
            .await
            .iter()
            .filter_map(|l| parse_log_line(l))
            .collect()
    }

    async fn wait_lines(
        &self,
        rec: &Recorder<String>,
        what: &str,
        pred: impl Fn(&str) -> bool,
        n: usize,
        timeout: Duration,
    ) -> Vec<String> {
        match rec.wait_for(n, timeout, |l| pred(l)).await {
            Ok(lines) => lines,
            Err(_) => self.fail(format!(
                "timed out after {timeout:?} waiting for {n} matching {what} line(s)"
            )),
        }
    }

    /// Sends a signal (`libc::SIGTERM`, `SIGINT`, `SIGHUP`, ...); a no-op once it has exited.
    pub fn send_signal(&self, signal: i32) {
        if self.exit.is_some() {
            return;
        }
        // SAFETY: kill(2) has no memory-safety preconditions; the pid is our un-reaped child.
        let rc = unsafe { libc::kill(self.pid as libc::pid_t, signal) };
        assert_eq!(
            rc,
            0,
            "kill({}, {signal}) failed: {}",
            self.pid,
            std::io::Error::last_os_error()
        );
    }

    /// Waits for the process to exit; `None` if it is still running after `timeout`.
    /// Once exited, the captured output is complete.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if let Some(s) = self.exit {
            return Some(s);
        }
        let status = tokio::time::timeout(timeout, self.child.wait())
            .await
            .ok()?
            .expect("wait for sluice");
        self.exit = Some(status);
        self.drain_readers().await;
        Some(status)
    }

    /// SIGTERM, then wait for exit; panics (with the output) if it has not exited in time.
    pub async fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        self.send_signal(libc::SIGTERM);
        match self.wait_exit(timeout).await {
            Some(s) => s,
            None => self.fail(format!("sluice did not exit within {timeout:?} of SIGTERM")),
        }
    }

    /// The exit status if the process has exited (checks without waiting).
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }
}
