use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;

#[test]
fn the_retry_budget_is_bounded() {
    let b = RetryBudget::default();
    let taken = (0..100).filter(|_| b.take()).count();
    assert_eq!(taken, 10, "ten banked");
    for _ in 0..10 {
        b.deposit();
    }
    assert!(b.take(), "ten requests earn two retries");
    assert!(b.take());
    assert!(!b.take());
}

fn scope(id: &str, rpm: Option<u64>, tpm: Option<u64>) -> Scope {
    Scope {
        id: id.into(),
        limits: Limits {
            requests_per_minute: rpm,
            tokens_per_minute: tpm,
        },
        budget: None,
    }
}

/// 10 s into a minute.
fn at(minute: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(minute * 60 + 10)
}

#[test]
fn requests_and_tokens_per_minute() {
    let state = LimitState::default();
    let a = [scope("key:a", Some(2), Some(100))];
    assert!(state.admit_at(at(1), &a, 10).is_ok());
    assert!(state.admit_at(at(1), &a, 10).is_ok());
    let refused = state.admit_at(at(1), &a, 10).unwrap_err();
    assert_eq!(refused.what, "key:a: 2 requests per minute");
    assert_eq!(refused.scope, "key:a");
    assert_eq!(refused.retry_after, Duration::from_secs(50));
    // The next minute starts afresh.
    assert_eq!(state.admit_at(at(2), &a, 10), Ok(2));
    // Another scope is separate; tokens count too.
    let b = [scope("key:b", None, Some(100))];
    assert!(state.admit_at(at(1), &b, 60).is_ok());
    assert_eq!(
        state.admit_at(at(1), &b, 60).unwrap_err().what,
        "key:b: 100 tokens per minute"
    );
    // The real usage was smaller than estimated: room again.
    state.reconcile(&b, 1, 60, 10);
    assert!(state.admit_at(at(1), &b, 60).is_ok());
    // A reconciliation for a window that has passed changes nothing.
    state.reconcile(&b, 0, 60, 0);
    assert!(state.admit_at(at(1), &b, 60).is_err());
    // A request larger than the whole budget is refused even in a fresh window.
    assert!(state.admit_at(at(3), &b, 101).is_err());
}

#[test]
fn admission_is_all_or_nothing_across_scopes() {
    let state = LimitState::default();
    let key = scope("key:team-a", Some(10), Some(1000));
    let route = scope("route:chat", Some(1), None);
    let both = [key.clone(), route.clone()];
    assert!(state.admit_at(at(1), &both, 10).is_ok());
    // The route refuses: the key must not be charged for it, however often it happens.
    for _ in 0..20 {
        let refused = state.admit_at(at(1), &both, 10).unwrap_err();
        assert_eq!(refused.scope, "route:chat");
        assert_eq!(refused.what, "route:chat: 1 requests per minute");
    }
    // The key has used 1 request and 10 tokens of its budget, not 21 and 210.
    let counters = state.counters.lock().unwrap();
    let windows = &counters.windows;
    assert_eq!(windows["key:team-a"].requests, 1);
    assert_eq!(windows["key:team-a"].tokens, 10);
    assert_eq!(windows["route:chat"].requests, 1);
    drop(counters);
    // And the key still admits elsewhere: 9 more requests.
    let other_route = [key.clone(), scope("route:other", None, None)];
    for _ in 0..9 {
        assert!(state.admit_at(at(1), &other_route, 10).is_ok());
    }
    assert_eq!(
        state.admit_at(at(1), &other_route, 10).unwrap_err().scope,
        "key:team-a"
    );
    // A key refusal leaves the route uncharged too.
    let fresh_route = [key, scope("route:fresh", Some(1), None)];
    assert!(state.admit_at(at(1), &fresh_route, 10).is_err());
    assert!(!state
        .counters
        .lock()
        .unwrap()
        .windows
        .contains_key("route:fresh"));
}

#[test]
fn windows_are_clock_minutes() {
    let (id, left) = window_of(UNIX_EPOCH + Duration::from_secs(125));
    assert_eq!(id, 2);
    assert_eq!(left, Duration::from_secs(55));
    let (_, left) = window_of(UNIX_EPOCH + Duration::from_secs(120));
    assert_eq!(left, Duration::from_secs(60));
}

#[test]
fn keys_are_found_and_hashed() {
    let headers = [("authorization", "Bearer sk-team-a")];
    let get = |n: &str| headers.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
    assert_eq!(presented_key(get), Some("sk-team-a"));
    let headers = [("x-goog-api-key", " g-key ")];
    let get = |n: &str| headers.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
    assert_eq!(presented_key(get), Some("g-key"));
    assert_eq!(query_key(Some("alt=sse&key=k-1")), Some("k-1"));
    assert_eq!(query_key(Some("alt=sse")), None);
    assert_eq!(query_key(Some("key=")), None);
    let h = hash_key("sk-team-a");
    let text = format!(
        "sha256:{}",
        h.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    assert_eq!(parse_hash(&text), Some(h));
    assert_eq!(parse_hash("sha256:xyz"), None);
}

fn budgeted(id: &str, usd: f64, window: &str) -> Scope {
    Scope {
        id: id.into(),
        limits: Limits::default(),
        budget: Budget::new(usd, BudgetWindow::parse(window).unwrap()),
    }
}

#[test]
fn a_budget_admits_while_under_and_refuses_once_spent() {
    let state = LimitState::default();
    // $0.01 a day; each request costs $0.004.
    let key = budgeted("key:a", 0.01, "1d");
    let scopes = [key.clone()];
    let cost = budget::to_nano(0.004);
    for spent in [0.004, 0.008, 0.012] {
        assert!(state.admit_at(at(1), &scopes, 0).is_ok());
        let after = state.charge_at(at(1), &scopes, cost);
        assert_eq!(after[0].nano, budget::to_nano(spent));
        assert_eq!(&*after[0].scope, "key:a");
    }
    // Three admitted ($0.012, over by less than one request); the fourth is refused until
    // the day ends (at(1) is 70 s into 1970-01-01).
    let refused = state.admit_at(at(1), &scopes, 0).unwrap_err();
    assert!(refused.budget);
    assert_eq!(refused.scope, "key:a");
    assert_eq!(
        refused.what,
        "key:a: budget of 0.01 USD spent (0.01 USD in this window)"
    );
    assert_eq!(refused.retry_after, Duration::from_secs(86_400 - 70));
    // The next day admits again.
    let next_day = UNIX_EPOCH + Duration::from_secs(86_400 + 5);
    assert!(state.admit_at(next_day, &scopes, 0).is_ok());
    assert_eq!(state.charge_at(next_day, &scopes, cost)[0].nano, cost);
}

#[test]
fn a_spent_budget_refuses_without_counting_the_other_scopes() {
    let state = LimitState::default();
    let key = scope("key:a", Some(10), None);
    let team = budgeted("team:t", 0.001, "1d");
    let both = [key, team];
    assert!(state.admit_at(at(1), &both, 0).is_ok());
    state.charge_at(at(1), &both, budget::to_nano(0.002));
    for _ in 0..5 {
        let refused = state.admit_at(at(1), &both, 0).unwrap_err();
        assert_eq!((refused.scope.as_str(), refused.budget), ("team:t", true));
    }
    // Only the admitted request counts against the key's limit; the budget-only scope has
    // no minute counter.
    let counters = state.counters.lock().unwrap();
    assert_eq!(counters.windows["key:a"].requests, 1);
    assert!(!counters.windows.contains_key("team:t"));
}

#[test]
fn a_zero_budget_refuses_everything() {
    let state = LimitState::default();
    let refused = state
        .admit_at(at(1), &[budgeted("route:r", 0.0, "month")], 0)
        .unwrap_err();
    assert_eq!(
        refused.what,
        "route:r: budget of 0.00 USD spent (0.00 USD in this window)"
    );
}
