//! `budget:` on keys, teams and routes, and the `teams:` list: validated into
//! [`crate::limits::Budget`]s.

use std::collections::HashMap;
use std::sync::Arc;

use super::raw::{RawBudget, RawTeam};
use super::ConfigError;
use crate::limits::{Budget, BudgetWindow};

/// `budget` at YAML path `path`; `None` (with an error) when invalid.
pub(super) fn budget(path: &str, raw: &RawBudget, errors: &mut Vec<ConfigError>) -> Option<Budget> {
    let window = match BudgetWindow::parse(raw.window.as_deref().unwrap_or("month")) {
        Ok(w) => w,
        Err(e) => {
            errors.push(ConfigError::new(format!("{path}.window"), e));
            return None;
        }
    };
    let budget = Budget::new(raw.usd, window);
    if budget.is_none() {
        errors.push(ConfigError::new(
            format!("{path}.usd"),
            format!("{} is not an amount of USD (0 or more)", raw.usd),
        ));
    }
    budget
}

/// `budget` at `path` when there is one.
pub(super) fn optional(
    path: &str,
    raw: Option<&RawBudget>,
    errors: &mut Vec<ConfigError>,
) -> Option<Budget> {
    raw.and_then(|b| budget(&format!("{path}.budget"), b, errors))
}

/// A team of `teams:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    /// `team:<name>`, its scope id.
    pub scope: Arc<str>,
    pub budget: Option<Budget>,
}

/// The `teams:` list by name.
pub(super) fn teams(raw: &[RawTeam], errors: &mut Vec<ConfigError>) -> HashMap<String, Team> {
    let mut teams = HashMap::new();
    for (i, t) in raw.iter().enumerate() {
        let path = format!("teams[{i}]");
        if t.name.is_empty() {
            errors.push(ConfigError::new(
                format!("{path}.name"),
                "must not be empty",
            ));
        }
        let team = Team {
            scope: format!("team:{}", t.name).into(),
            budget: optional(&path, t.budget.as_ref(), errors),
        };
        if teams.insert(t.name.clone(), team).is_some() {
            errors.push(ConfigError::new(
                format!("{path}.name"),
                format!("duplicate team \"{}\"", t.name),
            ));
        }
    }
    teams
}

/// Checks that a key's `team` (at `path`) is one of `teams`.
pub(super) fn check_team(
    path: &str,
    team: &str,
    teams: &HashMap<String, Team>,
    errors: &mut Vec<ConfigError>,
) {
    if teams.contains_key(team) {
        return;
    }
    let mut known: Vec<&str> = teams.keys().map(String::as_str).collect();
    known.sort_unstable();
    let known = if known.is_empty() {
        "(none)".to_string()
    } else {
        known.join(", ")
    };
    errors.push(ConfigError::new(
        path,
        format!("unknown team \"{team}\"; teams: {known} (list it under teams:)"),
    ));
}

#[cfg(test)]
mod tests {
    use crate::config::load_str;
    use crate::limits::BudgetWindow;

    const CONFIG: &str = r#"
teams:
  - name: platform
    budget: {usd: 500, window: month}
  - name: research
listeners:
  - bind: 0.0.0.0:8080
    auth:
      keys:
        - name: ci
          key: sk-ci
          team: platform
          budget: {usd: 2.5, window: 1d}
        - name: lab
          key: sk-lab
          team: research
    routes:
      - name: chat
        match: {pathPrefix: /}
        backend: mock
        budget: {usd: 1000}
backends:
  - name: mock
    provider: mock
"#;

    #[test]
    fn budgets_load_on_keys_teams_and_routes() {
        let c = load_str(CONFIG).unwrap();
        let platform = c.teams["platform"].budget.unwrap();
        assert_eq!(&*c.teams["platform"].scope, "team:platform");
        assert_eq!(
            (platform.usd(), platform.window),
            (500.0, BudgetWindow::Month)
        );
        assert_eq!(c.teams["research"].budget, None);
        let keys = &c.listeners[0].auth.as_ref().unwrap().keys;
        assert_eq!(keys[0].team.as_deref(), Some("platform"));
        assert_eq!(&*keys[0].scope, "key:ci");
        assert_eq!(&*c.listeners[0].routes[0].scope, "route:chat");
        let ci = keys[0].budget.unwrap();
        assert_eq!(ci.nano, 2_500_000_000);
        assert_eq!(ci.window, BudgetWindow::parse("1d").unwrap());
        assert_eq!(keys[1].budget, None);
        // The window defaults to the calendar month.
        let route = c.listeners[0].routes[0].budget.unwrap();
        assert_eq!((route.usd(), route.window), (1000.0, BudgetWindow::Month));
    }

    #[test]
    fn budget_mistakes_name_their_yaml_path() {
        let bad = CONFIG
            .replace("window: 1d", "window: fortnightly")
            .replace("usd: 1000", "usd: -3")
            .replace("team: research", "team: reserach");
        let errors: Vec<String> = match load_str(&bad) {
            Ok(_) => panic!("accepted"),
            Err(e) => e.0.iter().map(ToString::to_string).collect(),
        };
        let has = |path: &str, text: &str| {
            errors
                .iter()
                .any(|e| e.starts_with(path) && e.contains(text))
        };
        assert!(
            has("listeners[0].auth.keys[0].budget.window", "fortnightly"),
            "{errors:?}"
        );
        assert!(
            has("listeners[0].routes[0].budget.usd", "-3 is not an amount"),
            "{errors:?}"
        );
        assert!(
            has(
                "listeners[0].auth.keys[1].team",
                "unknown team \"reserach\"; teams: platform, research"
            ),
            "{errors:?}"
        );
    }
}
