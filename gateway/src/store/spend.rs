//! Spend on its way to the store: added up in memory per hour, key, team, route, provider and
//! model ([`SpendBuffer::add`], one lock per finished request), written in one transaction of
//! upserts by [`Store::write_spend`] every flush interval and at shutdown; and read back
//! grouped for `GET /admin/spend`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sqlx::Row;

use super::Store;

/// One row's identity: the hour (Unix seconds / 3600) and who spent on what.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct SpendKey {
    pub hour: i64,
    pub key_id: Arc<str>,
    pub team: Arc<str>,
    pub route: Arc<str>,
    pub provider: Arc<str>,
    pub model: Arc<str>,
}

/// What was spent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpendSum {
    pub requests: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub usd_nano: i64,
}

impl SpendSum {
    fn add(&mut self, other: &SpendSum) {
        self.requests = self.requests.saturating_add(other.requests);
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.usd_nano = self.usd_nano.saturating_add(other.usd_nano);
    }
}

/// Spend not yet written.
#[derive(Debug, Default)]
pub struct SpendBuffer {
    pending: Mutex<HashMap<SpendKey, SpendSum>>,
}

impl SpendBuffer {
    /// Adds one request's spend.
    pub fn add(&self, key: SpendKey, sum: SpendSum) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.entry(key).or_default().add(&sum);
        }
    }

    /// Takes everything pending.
    pub fn take(&self) -> HashMap<SpendKey, SpendSum> {
        self.pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }

    /// Puts back a batch the store did not take, to go with the next one.
    pub fn put_back(&self, batch: HashMap<SpendKey, SpendSum>) {
        if let Ok(mut pending) = self.pending.lock() {
            for (k, v) in batch {
                pending.entry(k).or_default().add(&v);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pending.lock().map_or(true, |p| p.is_empty())
    }
}

/// Which column `GET /admin/spend` groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    Key,
    Team,
    Model,
    Route,
    Provider,
}

impl GroupBy {
    pub fn parse(text: &str) -> Option<GroupBy> {
        Some(match text {
            "key" => GroupBy::Key,
            "team" => GroupBy::Team,
            "model" => GroupBy::Model,
            "route" => GroupBy::Route,
            "provider" => GroupBy::Provider,
            _ => return None,
        })
    }

    fn column(self) -> &'static str {
        match self {
            GroupBy::Key => "key_id",
            GroupBy::Team => "team",
            GroupBy::Model => "model",
            GroupBy::Route => "route",
            GroupBy::Provider => "provider",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            GroupBy::Key => "key",
            GroupBy::Team => "team",
            GroupBy::Model => "model",
            GroupBy::Route => "route",
            GroupBy::Provider => "provider",
        }
    }
}

/// One row of a spend report: the group's value, the period's start (Unix seconds; `None`
/// for totals) and its sums.
#[derive(Clone, Debug, PartialEq)]
pub struct SpendRow {
    pub group: String,
    pub start: Option<i64>,
    pub sum: SpendSum,
}

impl Store {
    /// Adds `batch` to the stored rows, in one transaction.
    pub async fn write_spend(
        &self,
        batch: &HashMap<SpendKey, SpendSum>,
    ) -> Result<(), sqlx::Error> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for (k, v) in batch {
            sqlx::query(
                "INSERT INTO sluice_spend (hour, key_id, team, route, provider, model, requests, \
                 input_tokens, output_tokens, usd_nano) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (hour, key_id, team, route, provider, model) DO UPDATE SET \
                 requests = sluice_spend.requests + excluded.requests, \
                 input_tokens = sluice_spend.input_tokens + excluded.input_tokens, \
                 output_tokens = sluice_spend.output_tokens + excluded.output_tokens, \
                 usd_nano = sluice_spend.usd_nano + excluded.usd_nano",
            )
            .bind(k.hour)
            .bind(k.key_id.to_string())
            .bind(k.team.to_string())
            .bind(k.route.to_string())
            .bind(k.provider.to_string())
            .bind(k.model.to_string())
            .bind(v.requests)
            .bind(v.input_tokens)
            .bind(v.output_tokens)
            .bind(v.usd_nano)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// Spend from `from` to `to` (Unix seconds; whole hours that start in the range), grouped
    /// by `by`, and per `interval` seconds (3600 or 86400) when given; largest spend first
    /// for totals, by time for series.
    pub async fn spend(
        &self,
        from: i64,
        to: i64,
        by: GroupBy,
        interval: Option<i64>,
    ) -> Result<Vec<SpendRow>, sqlx::Error> {
        let col = by.column();
        let (bucket, order) = match interval {
            // Integer division in both databases: the bucket's start in seconds.
            Some(secs) => (
                format!("CAST(((hour * 3600) / {secs}) * {secs} AS BIGINT)"),
                "bucket, usd DESC".to_string(),
            ),
            None => ("CAST(0 AS BIGINT)".to_string(), "usd DESC, grp".to_string()),
        };
        let sql = format!(
            // PostgreSQL sums BIGINTs as NUMERIC: cast back, for both databases alike.
            "SELECT {col} AS grp, {bucket} AS bucket, \
             CAST(SUM(requests) AS BIGINT) AS requests, \
             CAST(SUM(input_tokens) AS BIGINT) AS input_tokens, \
             CAST(SUM(output_tokens) AS BIGINT) AS output_tokens, \
             CAST(SUM(usd_nano) AS BIGINT) AS usd FROM sluice_spend WHERE hour >= $1 AND hour < $2 \
             GROUP BY grp, bucket ORDER BY {order}"
        );
        let first_hour = from.div_euclid(3600);
        let end_hour = to.div_euclid(3600) + i64::from(to.rem_euclid(3600) != 0);
        let rows = sqlx::query(&sql)
            .bind(first_hour)
            .bind(end_hour)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SpendRow {
                    group: r.try_get("grp")?,
                    start: interval
                        .map(|_| r.try_get::<i64, _>("bucket"))
                        .transpose()?,
                    sum: SpendSum {
                        requests: r.try_get("requests")?,
                        input_tokens: r.try_get("input_tokens")?,
                        output_tokens: r.try_get("output_tokens")?,
                        usd_nano: r.try_get("usd")?,
                    },
                })
            })
            .collect()
    }
}
