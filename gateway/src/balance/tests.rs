//! Selection, least requests, EWMA, ejection and its cool-down, without a network.

use super::*;

fn target(name: &str, weight: u32) -> Target {
    Target {
        name: name.to_string(),
        upstream: Upstream::parse(&format!("http://{name}")).unwrap(),
        api_key: None,
        site: None,
        weight,
    }
}

fn balancer(policy: Policy, weights: &[u32], outlier: Outlier) -> Balancer {
    let targets = weights
        .iter()
        .enumerate()
        .map(|(i, w)| target(&format!("t{i}:80"), *w))
        .collect();
    Balancer::new("pool", targets, policy, outlier, None)
}

fn pick(b: &Balancer, now: u64) -> Option<usize> {
    b.select_at(now, &mut Tried::default()).map(|l| l.index)
}

#[test]
fn weights_distribute_in_proportion() {
    let b = balancer(Policy::Weighted, &[3, 1, 2], Outlier::default());
    let mut counts = [0; 3];
    for _ in 0..600 {
        counts[pick(&b, 1).unwrap()] += 1;
    }
    assert_eq!(counts, [300, 100, 200]);
    // Round robin ignores weights.
    let b = balancer(Policy::RoundRobin, &[1, 1, 1], Outlier::default());
    let mut counts = [0; 3];
    for _ in 0..300 {
        counts[pick(&b, 1).unwrap()] += 1;
    }
    assert_eq!(counts, [100, 100, 100]);
}

#[test]
fn least_requests_picks_the_idle_one() {
    let b = balancer(Policy::LeastRequests, &[1, 1, 1], Outlier::default());
    let first = b.select_at(1, &mut Tried::default()).unwrap();
    let second = b.select_at(1, &mut Tried::default()).unwrap();
    assert_ne!(first.index, second.index);
    let third = b.select_at(1, &mut Tried::default()).unwrap();
    let idle = 3 - first.index - second.index;
    assert_eq!(third.index, idle);
    // Two calls on each now; releasing one makes its target the idle one, every time.
    let _more: Vec<_> = (0..3)
        .map(|_| b.select_at(1, &mut Tried::default()).unwrap())
        .collect();
    let freed = second.index;
    drop(second);
    for _ in 0..5 {
        assert_eq!(pick(&b, 1), Some(freed));
    }
}

#[test]
fn ewma_prefers_the_fast_target() {
    let b = balancer(Policy::Ewma, &[1, 1], Outlier::default());
    b.states[0].observe_latency(200_000.0);
    b.states[1].observe_latency(20_000.0);
    for _ in 0..5 {
        assert_eq!(pick(&b, 1), Some(1));
    }
    // Busy enough, the fast one loses its edge: 20 ms × 11 > 200 ms × 1.
    let _held: Vec<_> = (0..10)
        .map(|_| {
            let mut tried = Tried::default();
            tried.insert(0);
            b.select_at(1, &mut tried).unwrap()
        })
        .collect();
    assert_eq!(pick(&b, 1), Some(0));
}

#[test]
fn ejection_cool_down_and_half_open_trial() {
    let outlier = Outlier {
        consecutive_failures: 3,
        eject_for: Duration::from_millis(100),
    };
    let b = balancer(Policy::RoundRobin, &[1, 1], outlier);
    // Two failures then a success: the count starts over.
    for _ in 0..2 {
        assert!(!b.failed_at(0, 10, Duration::ZERO));
    }
    b.succeeded(0, Duration::from_millis(1));
    assert!(!b.failed_at(0, 10, Duration::ZERO));
    assert!(!b.failed_at(0, 10, Duration::ZERO));
    assert!(b.failed_at(0, 10, Duration::ZERO), "third in a row ejects");
    // Cooling down until 110: only target 1 is chosen.
    for now in [11, 50, 109] {
        assert_eq!(pick(&b, now), Some(1));
    }
    assert!(b.health().any(|(n, up)| n == "t0:80" && !up));
    // After it: one trial call goes to target 0, and only one at a time.
    let picks: Vec<usize> = (0..4)
        .map(|_| b.select_at(110, &mut Tried::default()).unwrap())
        .map(|l| {
            let i = l.index;
            std::mem::forget(l);
            i
        })
        .collect();
    assert_eq!(picks.iter().filter(|&&i| i == 0).count(), 1, "{picks:?}");
    // A failed trial ejects again at once; a successful one restores.
    assert!(b.failed_at(0, 120, Duration::ZERO));
    assert_eq!(pick(&b, 150), Some(1));
    assert_eq!(pick(&b, 150), Some(1));
    let trial = b.select_at(220, &mut Tried::default());
    let trial = match trial {
        Some(l) if l.index == 0 => l,
        Some(_) => b.select_at(220, &mut Tried::default()).unwrap(),
        None => panic!("no target"),
    };
    assert_eq!(trial.index, 0);
    b.succeeded(0, Duration::from_millis(1));
    drop(trial);
    let mut counts = [0; 2];
    for _ in 0..10 {
        counts[pick(&b, 230).unwrap()] += 1;
    }
    assert_eq!(counts, [5, 5]);
}

#[test]
fn all_ejected_means_no_target_and_tried_ones_are_skipped() {
    let outlier = Outlier {
        consecutive_failures: 1,
        eject_for: Duration::from_secs(60),
    };
    let b = balancer(Policy::LeastRequests, &[1, 1], outlier);
    let mut tried = Tried::default();
    let first = b.select_at(1, &mut tried).unwrap().index;
    assert!(b.has_spare(tried));
    let second = b.select_at(1, &mut tried).unwrap().index;
    assert_ne!(first, second);
    assert!(!b.has_spare(tried));
    assert!(b.select_at(1, &mut tried).is_none());
    assert!(b.exhausted(tried).starts_with("every endpoint of pool"));
    assert!(b.failed_at(0, 1, Duration::ZERO));
    assert!(b.failed_at(1, 1, Duration::ZERO));
    assert_eq!(pick(&b, 2), None);
    assert_eq!(
        b.exhausted(Tried::default()),
        "all endpoints of pool ejected or failing their health check"
    );
}
