//! [`PostgresServer`]: a throwaway PostgreSQL cluster (Debian's `postgresql` package:
//! `initdb` and `postgres` from `/usr/lib/postgresql/<version>/bin`) in a temporary
//! directory, on a free loopback port, trusting local connections; stopped and removed when
//! dropped. PostgreSQL refuses to run as root: as root, its programs run as the `postgres`
//! user (`setpriv`, which execs rather than forks, so dropping the child stops the server).
//!
//! When PostgreSQL is not installed the tests skip with a message, except under CI
//! (`CI=true`), where it is a failure: `scripts/setup.sh` installs it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::setup::free_port;

#[derive(Debug)]
pub struct PostgresServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

/// The newest installed version's `bin` directory.
fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    // `id -u` rather than libc::geteuid: no unsafe code for it.
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A command for PostgreSQL's program `program`, as the `postgres` user when we are root.
fn command(bin: &Path, program: &str) -> Command {
    let path = bin.join(program);
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--clear-groups",
            "--",
        ])
        .arg(path);
        c
    } else {
        Command::new(path)
    }
}

impl PostgresServer {
    /// Makes a cluster and starts it; `None` (with a message) when PostgreSQL is not
    /// installed and this is not CI. Panics under CI, or when the cluster does not start.
    pub async fn start() -> Option<PostgresServer> {
        let Some(bin) = bin_dir() else {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(
                !ci,
                "PostgreSQL is not installed, and CI=true: scripts/setup.sh should have installed it"
            );
            eprintln!("SKIPPED: PostgreSQL is not installed (apt-get install postgresql, or run ./scripts/test.sh)");
            return None;
        };
        let dir =
            std::env::temp_dir().join(format!("sluice-pg-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        if is_root() {
            let status = std::process::Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(
                status.success(),
                "chown the cluster's directory to postgres"
            );
        }
        let data = dir.join("data");
        let out = command(&bin, "initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "sluice", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .await
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let child = command(&bin, "postgres")
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", dir.display()))
            .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn postgres");
        let server = PostgresServer {
            child: Some(child),
            port,
            dir,
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let ready = std::process::Command::new(bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "sluice"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Some(server);
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "PostgreSQL did not accept connections within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of its `postgres` database, as user `sluice` (trusted: no password).
    pub fn url(&self) -> String {
        format!("postgres://sluice@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
        }
        // The server exits within moments of SIGKILL; its files go with the directory.
        std::thread::sleep(Duration::from_millis(100));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
