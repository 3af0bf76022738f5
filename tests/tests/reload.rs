//! Live reload: a new config is swapped in on SIGHUP (and when the file changes) without
//! dropping connections; an invalid one is reported and the running config keeps serving.

use std::time::Duration;

use serde_json::json;
use sluice_tests::http::post_json;
use sluice_tests::{poll_until, Gateway, Ports};

const WAIT: Duration = Duration::from_secs(10);

const CONFIG: &str = r#"
config:
  adminAddr: {{admin}}
listeners:
  - name: http
    bind: {{listener}}
    routes:
      - name: {{route}}
        match: {pathPrefix: /{{route}}}
        backend: mock
backends:
  - name: mock
    provider: mock
    model: {{model}}
"#;

fn config(ports: &Ports, route: &str, model: &str) -> String {
    ports.render(CONFIG, &[("route", route), ("model", model)])
}

fn chat() -> serde_json::Value {
    json!({"messages": [{"role": "user", "content": "hi"}]})
}

async fn status(url: &str) -> u16 {
    post_json(url, &chat(), &[]).await.status
}

/// Whether `url` answers a chat 200 within [`WAIT`] (polled every `every`): a reload took.
async fn served_within(url: &str, every: Duration) -> bool {
    poll_until(WAIT, every, || async move {
        (status(url).await == 200).then_some(())
    })
    .await
    .is_some()
}

#[tokio::test]
async fn sighup_swaps_in_a_good_config_and_keeps_the_old_one_on_a_bad_one() {
    let ports = Ports::new();
    let gw = Gateway::start(&config(&ports, "first", "model-a")).await;
    let base = gw.base_url();
    assert_eq!(
        status(&format!("{base}/first/v1/chat/completions")).await,
        200
    );

    // A good new config: its route serves, the old one is gone.
    gw.write_config(&config(&ports, "second", "model-b"));
    gw.send_signal(libc::SIGHUP);
    let url = format!("{base}/second/v1/chat/completions");
    let served = served_within(&url, Duration::from_millis(50)).await;
    assert!(served, "new route never served:\n{}", gw.output_report());
    let r = post_json(&url, &chat(), &[]).await;
    assert_eq!(r.json()["model"], "model-b");
    assert_eq!(
        status(&format!("{base}/first/v1/chat/completions")).await,
        404
    );

    // A bad config: reported with its path, the running one keeps serving.
    gw.write_config("listeners:\n  - bind: nowhere\n");
    gw.send_signal(libc::SIGHUP);
    let reported = gw
        .wait_for_log_lines(
            |l| l.contains("config reload") && l.contains("failed"),
            1,
            WAIT,
        )
        .await;
    assert!(reported[0].contains("listeners[0].bind"), "{}", reported[0]);
    assert_eq!(status(&url).await, 200);
    let r = get_ready(&gw).await;
    assert_eq!(r, 200, "still ready after a bad reload");
}

async fn get_ready(gw: &Gateway) -> u16 {
    sluice_tests::http::get(&format!("{}/readyz", gw.admin_url()))
        .await
        .status
}

#[tokio::test]
async fn a_changed_config_file_is_reloaded_without_a_signal() {
    let ports = Ports::new();
    let gw = Gateway::start(&config(&ports, "first", "model-a")).await;
    let base = gw.base_url();
    gw.write_config(&config(&ports, "third", "model-c"));
    let url = format!("{base}/third/v1/chat/completions");
    let served = served_within(&url, Duration::from_millis(100)).await;
    assert!(served, "file change not picked up:\n{}", gw.output_report());
    assert!(gw
        .log_lines()
        .iter()
        .any(|l| l.starts_with("info config reloaded")));
}

#[tokio::test]
async fn sigquit_hands_the_listening_socket_to_an_upgraded_process() {
    let ports = Ports::new();
    let socket = std::env::temp_dir().join(format!(
        "sluice-upgrade-{}-{}.sock",
        std::process::id(),
        ports.listener_addr().replace(':', "-")
    ));
    let yaml = config(&ports, "chat", "model-a").replacen(
        "config:\n",
        &format!(
            "config:\n  upgradeSocket: {}\n  gracePeriod: 10s\n",
            socket.display()
        ),
        1,
    );
    let mut old = Gateway::start(&yaml).await;
    let url = format!("{}/chat/v1/chat/completions", old.base_url());
    assert_eq!(status(&url).await, 200);

    // The new binary waits on the upgrade socket for the listening sockets.
    let mut new = Gateway::builder(&yaml)
        .arg("--upgrade")
        .no_wait_ready()
        .start()
        .await;
    let bound = poll_until(WAIT, Duration::from_millis(20), || {
        let exists = socket.exists();
        async move { exists.then_some(()) }
    })
    .await;
    assert!(
        bound.is_some(),
        "no upgrade socket:\n{}",
        new.output_report()
    );

    // A client keeps sending, one request at a time, across the hand-over.
    let client_url = url.clone();
    let client = tokio::spawn(async move {
        let mut codes = Vec::new();
        let until = tokio::time::Instant::now() + Duration::from_secs(8);
        while tokio::time::Instant::now() < until {
            let url = client_url.clone();
            let code = tokio::spawn(async move { post_json(&url, &chat(), &[]).await.status })
                .await
                .unwrap_or(0);
            codes.push(code);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        codes
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    old.send_signal(libc::SIGQUIT);
    let exit = old.wait_exit(Duration::from_secs(20)).await;
    assert!(
        exit.is_some_and(|s| s.success()),
        "old process: {exit:?}\n{}",
        old.output_report()
    );
    let codes = client.await.unwrap();
    let failed: Vec<_> = codes.iter().filter(|c| **c != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed across the upgrade: {failed:?}\nold:\n{}\nnew:\n{}",
        failed.len(),
        codes.len(),
        old.output_report(),
        new.output_report()
    );
    assert!(codes.len() > 100, "only {} requests sent", codes.len());
    // Both processes served: the old one until it closed its listeners, then the new one.
    let (served_old, served_new) = (old.request_logs().len(), new.request_logs().len());
    assert!(
        served_old > 1 && served_new > 1,
        "old served {served_old}, new {served_new}"
    );
    assert!(old
        .stderr_lines()
        .iter()
        .chain(old.log_lines().iter())
        .any(|l| l.contains("handing the listening sockets")));
    assert_eq!(status(&url).await, 200, "the new process serves on");
    new.wait_ready(WAIT).await;
}

#[tokio::test]
async fn a_reload_that_reorders_listeners_keeps_each_on_its_own_address() {
    let ports = Ports::new();
    let second = format!("127.0.0.1:{}", sluice_tests::free_port());
    let two = |first: &str, a: &str, b: &str| {
        let a = format!(
            "  - name: a\n    bind: {}\n    routes:\n      - name: {a}\n        match: {{pathPrefix: /{a}}}\n        backend: mock\n",
            ports.listener_addr()
        );
        let b = format!(
            "  - name: b\n    bind: {second}\n    routes:\n      - name: {b}\n        match: {{pathPrefix: /{b}}}\n        backend: mock\n"
        );
        let (x, y) = if first == "a" { (a, b) } else { (b, a) };
        format!(
            "config:\n  adminAddr: {}\nlisteners:\n{x}{y}backends:\n  - name: mock\n    provider: mock\n",
            ports.admin_addr()
        )
    };
    let gw = Gateway::start(&two("a", "a1", "b1")).await;
    let (on_a, on_b) = (gw.base_url(), format!("http://{second}"));
    assert_eq!(status(&format!("{on_b}/b1")).await, 200);

    // The same listeners in the other order, with new routes.
    gw.write_config(&two("b", "a2", "b2"));
    gw.send_signal(libc::SIGHUP);
    let url = format!("{on_a}/a2");
    let served = served_within(&url, Duration::from_millis(50)).await;
    assert!(served, "never reloaded:\n{}", gw.output_report());
    assert_eq!(status(&format!("{on_b}/b2")).await, 200);
    assert_eq!(
        status(&format!("{on_a}/b2")).await,
        404,
        "b's routes on a's socket"
    );
    assert_eq!(
        status(&format!("{on_b}/a2")).await,
        404,
        "a's routes on b's socket"
    );

    // A listener removed: its socket answers 404 until restart; a new one waits for it.
    let only_a = two("a", "a3", "b3").replace(
        &format!("  - name: b\n    bind: {second}\n"),
        "  - name: c\n    bind: 127.0.0.1:1\n",
    );
    gw.write_config(&only_a);
    gw.send_signal(libc::SIGHUP);
    let url = format!("{on_a}/a3");
    let served = served_within(&url, Duration::from_millis(50)).await;
    assert!(served, "never reloaded:\n{}", gw.output_report());
    let r = post_json(&format!("{on_b}/b3"), &chat(), &[]).await;
    assert_eq!(r.status, 404);
    assert!(r.text().contains("no longer in the config"), "{}", r.text());
    let warned = gw
        .wait_for_log_lines(
            |l| l.contains("listener c on 127.0.0.1:1 takes effect at restart"),
            1,
            WAIT,
        )
        .await;
    assert_eq!(warned.len(), 1);
}
