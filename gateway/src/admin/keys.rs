//! `/admin/keys`: list, make, read, change and delete keys. Store keys are changed in the
//! store and reloaded on this replica at once (the others follow within `store.refresh`, or
//! at once through PostgreSQL); config-file keys are listed, read-only.

use std::collections::HashSet;
use std::sync::Arc;

use http::StatusCode;
use pingora::protocols::http::ServerSession;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::api::{error, json_answer, no_content, parse_time, read_json, rfc3339, Answer};
use crate::limits::{BudgetWindow, ClientKey, Limits};
use crate::state::State;
use crate::store::keys::{KeySettings, StoredKey};
use crate::store::sync::StoreHandle;
use crate::store::{db_error, now_secs};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LimitsBody {
    requests_per_minute: Option<u64>,
    tokens_per_minute: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetBody {
    usd: f64,
    window: Option<String>,
}

/// A time: RFC 3339 text or Unix seconds.
#[derive(Deserialize)]
#[serde(untagged)]
enum TimeBody {
    Text(String),
    Secs(i64),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewKey {
    name: String,
    team: Option<String>,
    #[serde(default)]
    routes: Vec<String>,
    #[serde(default)]
    models: Vec<String>,
    limits: Option<LimitsBody>,
    budget: Option<BudgetBody>,
    expires_at: Option<TimeBody>,
    #[serde(default)]
    disabled: bool,
}

/// `Some(None)` for an explicit `null` (remove), `None` when the field is absent.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct KeyPatch {
    name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    team: Option<Option<String>>,
    routes: Option<Vec<String>>,
    models: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    limits: Option<Option<LimitsBody>>,
    #[serde(default, deserialize_with = "nullable")]
    budget: Option<Option<BudgetBody>>,
    #[serde(default, deserialize_with = "nullable")]
    expires_at: Option<Option<TimeBody>>,
    disabled: Option<bool>,
}

/// An answer refusing a call, boxed: the validation helpers return it as their error.
type Refused = Box<Answer>;

fn bad(message: impl Into<String>) -> Refused {
    Box::new(error(StatusCode::BAD_REQUEST, "invalid_key", message))
}

fn name_of(name: &str) -> Result<String, Refused> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(bad("name: 1 to 100 characters"));
    }
    Ok(name.to_string())
}

fn team_of(team: Option<String>) -> Result<Option<String>, Refused> {
    match team.map(|t| t.trim().to_string()) {
        Some(t) if t.is_empty() => Err(bad("team: empty; leave it out for no team")),
        other => Ok(other),
    }
}

fn routes_of(state: &State, routes: Vec<String>) -> Result<Vec<String>, Refused> {
    let generation = state.generation();
    let known: Vec<&str> = generation
        .config
        .listeners
        .iter()
        .flat_map(|l| l.routes.iter().map(|r| r.name.as_str()))
        .collect();
    for r in &routes {
        if !known.contains(&r.as_str()) {
            return Err(bad(format!(
                "routes: unknown route {r:?}; routes: {}",
                known.join(", ")
            )));
        }
    }
    Ok(routes)
}

fn models_of(models: Vec<String>) -> Result<Vec<String>, Refused> {
    if models.iter().any(|m| m.trim().is_empty()) {
        return Err(bad("models: an empty model name"));
    }
    Ok(models)
}

fn limits_of(body: Option<LimitsBody>) -> Limits {
    body.map_or_else(Limits::default, |l| Limits {
        requests_per_minute: l.requests_per_minute,
        tokens_per_minute: l.tokens_per_minute,
    })
}

fn budget_of(body: Option<BudgetBody>) -> Result<Option<(f64, String)>, Refused> {
    let Some(b) = body else {
        return Ok(None);
    };
    if !(b.usd.is_finite() && b.usd >= 0.0) {
        return Err(bad(format!(
            "budget.usd: {} is not an amount (0 or more)",
            b.usd
        )));
    }
    let window = b.window.unwrap_or_else(|| "month".to_string());
    BudgetWindow::parse(&window).map_err(|e| bad(format!("budget.window: {e}")))?;
    Ok(Some((b.usd, window)))
}

fn expiry_of(body: Option<TimeBody>) -> Result<Option<i64>, Refused> {
    match body {
        None => Ok(None),
        Some(TimeBody::Secs(s)) => Ok(Some(s)),
        Some(TimeBody::Text(t)) => parse_time(&t).map(Some).ok_or_else(|| {
            bad(format!(
                "expiresAt: {t:?} is not an RFC 3339 time in UTC (2027-01-01T00:00:00Z) or Unix seconds"
            ))
        }),
    }
}

fn optional_time(t: Option<i64>) -> Value {
    t.map_or(Value::Null, |t| Value::from(rfc3339(t)))
}

fn limits_json(l: &Limits) -> Value {
    json!({"requestsPerMinute": l.requests_per_minute, "tokensPerMinute": l.tokens_per_minute})
}

/// A store key as the API shows it (never its secret: only its first characters).
fn stored_json(k: &StoredKey) -> Value {
    let s = &k.settings;
    json!({
        "id": k.id, "name": s.name, "team": s.team, "source": "store", "readOnly": false,
        "prefix": k.prefix, "routes": s.routes, "models": s.models,
        "limits": limits_json(&s.limits),
        "budget": s.budget.as_ref().map(|(usd, window)| json!({"usd": usd, "window": window})),
        "expiresAt": optional_time(s.expires_at), "disabled": s.disabled,
        "createdAt": rfc3339(k.created_at), "updatedAt": rfc3339(k.updated_at),
    })
}

/// A config-file key as the API shows it: read-only, no prefix (only its hash is known).
fn config_json(k: &ClientKey) -> Value {
    json!({
        "id": &*k.id, "name": k.name, "team": k.team.as_deref(), "source": "config",
        "readOnly": true, "prefix": null, "routes": [], "models": [],
        "limits": limits_json(&k.limits),
        "budget": k.budget.map(|b| json!({"usd": b.usd(), "window": b.window.text()})),
        "expiresAt": null, "disabled": false, "createdAt": null, "updatedAt": null,
    })
}

/// The config file's keys, each once (a key on several listeners is one key).
fn config_keys(state: &State) -> Vec<Arc<ClientKey>> {
    let generation = state.generation();
    let mut seen = HashSet::new();
    generation
        .config
        .listeners
        .iter()
        .filter_map(|l| l.auth.as_ref())
        .flat_map(|a| a.keys.iter())
        .filter(|k| seen.insert(k.hash))
        .cloned()
        .collect()
}

fn store_of(state: &State) -> Result<&Arc<StoreHandle>, Refused> {
    state.store.as_ref().ok_or_else(|| {
        Box::new(error(
            StatusCode::CONFLICT,
            "no_store",
            "keys are made and changed in the store: set config.store.url",
        ))
    })
}

fn db_failed(e: &sqlx::Error) -> Answer {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        format!("the store did not answer: {}", db_error(e)),
    )
}

fn read_only(id: &str) -> Answer {
    error(
        StatusCode::CONFLICT,
        "read_only",
        format!("key {id} is in the config file: change it there"),
    )
}

fn not_found(id: &str) -> Answer {
    error(StatusCode::NOT_FOUND, "not_found", format!("no key {id}"))
}

pub(super) async fn list(state: &Arc<State>) -> Answer {
    let mut keys: Vec<Value> = config_keys(state).iter().map(|k| config_json(k)).collect();
    if let Some(store) = &state.store {
        let s = store.store.clone();
        match store.run(async move { s.list_keys().await }).await {
            Ok(Ok(stored)) => keys.extend(stored.iter().map(stored_json)),
            Ok(Err(e)) => return db_failed(&e),
            Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", e),
        }
    }
    json_answer(StatusCode::OK, &json!({ "keys": keys }))
}

pub(super) async fn create(state: &Arc<State>, session: &mut ServerSession) -> Answer {
    let store = match store_of(state) {
        Ok(s) => s.clone(),
        Err(e) => return *e,
    };
    let body: NewKey = match read_json(session).await {
        Ok(b) => b,
        Err(e) => return e,
    };
    let settings = match settings(state, body) {
        Ok(s) => s,
        Err(e) => return *e,
    };
    let s = store.store.clone();
    match store
        .run(async move { s.create_key(&settings).await })
        .await
    {
        Ok(Ok((key, secret))) => {
            store.reload().await;
            let mut value = stored_json(&key);
            value["key"] = Value::from(secret);
            json_answer(StatusCode::CREATED, &value)
        }
        Ok(Err(e)) => db_failed(&e),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", e),
    }
}

fn settings(state: &State, body: NewKey) -> Result<KeySettings, Refused> {
    Ok(KeySettings {
        name: name_of(&body.name)?,
        team: team_of(body.team)?,
        routes: routes_of(state, body.routes)?,
        models: models_of(body.models)?,
        limits: limits_of(body.limits),
        budget: budget_of(body.budget)?,
        expires_at: expiry_of(body.expires_at)?,
        disabled: body.disabled,
    })
}

/// The store key `id`, or the answer saying why there is none to change.
async fn stored(state: &Arc<State>, id: &str) -> Result<(Arc<StoreHandle>, StoredKey), Refused> {
    let is_config = config_keys(state).iter().any(|k| &*k.id == id);
    let Some(store) = state.store.clone() else {
        return Err(Box::new(if is_config {
            read_only(id)
        } else {
            not_found(id)
        }));
    };
    let s = store.store.clone();
    let wanted = id.to_string();
    match store.run(async move { s.get_key(&wanted).await }).await {
        Ok(Ok(Some(key))) => Ok((store, key)),
        Ok(Ok(None)) if is_config => Err(Box::new(read_only(id))),
        Ok(Ok(None)) => Err(Box::new(not_found(id))),
        Ok(Err(e)) => Err(Box::new(db_failed(&e))),
        Err(e) => Err(Box::new(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            e,
        ))),
    }
}

pub(super) async fn get(state: &Arc<State>, id: &str) -> Answer {
    if let Some(k) = config_keys(state).iter().find(|k| &*k.id == id) {
        if state.store.is_none() {
            return json_answer(StatusCode::OK, &config_json(k));
        }
    }
    match stored(state, id).await {
        Ok((_, key)) => json_answer(StatusCode::OK, &stored_json(&key)),
        Err(answer) if answer.status() == StatusCode::CONFLICT => {
            let answer = *answer;
            // A config key: readable, not changeable.
            match config_keys(state).iter().find(|k| &*k.id == id) {
                Some(k) => json_answer(StatusCode::OK, &config_json(k)),
                None => answer,
            }
        }
        Err(answer) => *answer,
    }
}

pub(super) async fn update(state: &Arc<State>, session: &mut ServerSession, id: &str) -> Answer {
    let (store, mut key) = match stored(state, id).await {
        Ok(found) => found,
        Err(e) => return *e,
    };
    let patch: KeyPatch = match read_json(session).await {
        Ok(p) => p,
        Err(e) => return e,
    };
    if let Err(e) = apply(state, &mut key.settings, patch) {
        return *e;
    }
    key.updated_at = now_secs();
    let s = store.store.clone();
    let row = key.clone();
    match store.run(async move { s.update_key(&row).await }).await {
        Ok(Ok(true)) => {
            store.reload().await;
            json_answer(StatusCode::OK, &stored_json(&key))
        }
        Ok(Ok(false)) => not_found(id),
        Ok(Err(e)) => db_failed(&e),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", e),
    }
}

fn apply(state: &State, key: &mut KeySettings, p: KeyPatch) -> Result<(), Refused> {
    if let Some(name) = p.name {
        key.name = name_of(&name)?;
    }
    if let Some(team) = p.team {
        key.team = team_of(team)?;
    }
    if let Some(routes) = p.routes {
        key.routes = routes_of(state, routes)?;
    }
    if let Some(models) = p.models {
        key.models = models_of(models)?;
    }
    if let Some(limits) = p.limits {
        key.limits = limits_of(limits);
    }
    if let Some(budget) = p.budget {
        key.budget = budget_of(budget)?;
    }
    if let Some(expiry) = p.expires_at {
        key.expires_at = expiry_of(expiry)?;
    }
    if let Some(disabled) = p.disabled {
        key.disabled = disabled;
    }
    Ok(())
}

pub(super) async fn delete(state: &Arc<State>, id: &str) -> Answer {
    let (store, key) = match stored(state, id).await {
        Ok(found) => found,
        Err(e) => return *e,
    };
    let s = store.store.clone();
    match store.run(async move { s.delete_key(&key.id).await }).await {
        Ok(Ok(true)) => {
            store.reload().await;
            no_content()
        }
        Ok(Ok(false)) => not_found(id),
        Ok(Err(e)) => db_failed(&e),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", e),
    }
}
