//! [`RedisServer`]: a throwaway `redis-server` on a free port (no persistence), for the
//! shared-limits tests; killed when dropped.
//!
//! When `redis-server` is not installed the tests skip with a message, except under CI
//! (`CI=true`), where a missing server is a failure: `scripts/setup.sh` installs it.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

use crate::setup::free_port;

/// A running `redis-server --port N --save "" --appendonly no`.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    password: Option<String>,
}

fn installed() -> bool {
    std::process::Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl RedisServer {
    /// Starts a server and waits until it answers PING; `None` (with a message on stderr)
    /// when `redis-server` is not installed and this is not CI. Panics under CI.
    pub async fn start() -> Option<RedisServer> {
        RedisServer::start_with_password(None).await
    }

    /// As [`RedisServer::start`], with `requirepass`.
    pub async fn start_with_password(password: Option<&str>) -> Option<RedisServer> {
        if !installed() {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(
                !ci,
                "redis-server is not installed, and CI=true: scripts/setup.sh should have installed it"
            );
            eprintln!(
                "SKIPPED: redis-server is not installed (apt-get install redis-server, or run ./scripts/test.sh)"
            );
            return None;
        }
        let mut server = RedisServer {
            child: None,
            port: free_port(),
            password: password.map(str::to_string),
        };
        server.spawn().await;
        Some(server)
    }

    async fn spawn(&mut self) {
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"]);
        if let Some(p) = &self.password {
            cmd.args(["--requirepass", p]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if self.ping().await {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "redis-server on port {} did not answer PING within 10 s",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://[:password@]127.0.0.1:<port>/0`
    pub fn url(&self) -> String {
        match &self.password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}/0", self.port),
            None => format!("redis://127.0.0.1:{}/0", self.port),
        }
    }

    /// Sends one command (inline protocol) and returns the raw reply; `None` when the server
    /// does not answer.
    pub async fn command(&self, line: &str) -> Option<String> {
        let connect = tokio::net::TcpStream::connect(("127.0.0.1", self.port));
        let mut s = tokio::time::timeout(Duration::from_secs(1), connect)
            .await
            .ok()?
            .ok()?;
        let mut req = String::new();
        if let Some(p) = &self.password {
            req.push_str(&format!("AUTH {p}\r\n"));
        }
        req.push_str(line);
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).await.ok()?;
        // Read until the server has been quiet for a moment: enough for short replies.
        let mut buf = vec![0u8; 4096];
        let mut got = Vec::new();
        let mut wait = Duration::from_secs(1);
        while let Ok(Ok(n)) = tokio::time::timeout(wait, s.read(&mut buf)).await {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            wait = Duration::from_millis(100);
        }
        let mut text = String::from_utf8_lossy(&got).into_owned();
        if self.password.is_some() {
            text = text.strip_prefix("+OK\r\n").unwrap_or(&text).to_string();
        }
        (!text.is_empty()).then_some(text)
    }

    async fn ping(&self) -> bool {
        self.command("PING")
            .await
            .is_some_and(|r| r.contains("+PONG"))
    }

    /// Kills the server (SIGKILL) and waits for it to be gone.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts it again on the same port (after [`RedisServer::kill`]).
    pub async fn restart(&mut self) {
        self.kill().await;
        self.spawn().await;
    }
}
