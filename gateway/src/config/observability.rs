//! The telemetry settings of the config (`config.tracing`, `config.logging`): validated, with
//! their CEL fields compiled once at load.

use sluice_telemetry::fields::Fields;
use sluice_telemetry::settings::{LogFormat as TelemetryLogFormat, OtlpProtocol};

use super::raw::{RawFields, RawLogging, RawTracing};
use super::upstream::Upstream;
use super::{ConfigError, Secret};

#[derive(Debug)]
pub struct TracingConfig {
    pub endpoint: String,
    pub protocol: OtlpProtocol,
    pub gzip: bool,
    /// Header name and value; values may be credentials and are never printed.
    pub headers: Vec<(String, Secret)>,
    pub sampling_ratio: f64,
    pub fields: Fields,
    pub remove: Vec<String>,
}

#[derive(Debug)]
pub struct LoggingConfig {
    pub format: TelemetryLogFormat,
    /// `None` when the config does not set it (`SLUICE_LOG` then decides).
    pub level: Option<log::LevelFilter>,
    /// Compiled `logging.filter` (one field named `filter`); empty without one.
    pub filter: Fields,
    pub fields: Fields,
    pub remove: Vec<String>,
}

/// `config.logging`, or its defaults without one.
pub(super) fn logging_config(
    raw: Option<&RawLogging>,
    errors: &mut Vec<ConfigError>,
) -> LoggingConfig {
    match raw {
        None => LoggingConfig {
            format: TelemetryLogFormat::Text,
            level: None,
            filter: Fields::default(),
            fields: Fields::default(),
            remove: Vec::new(),
        },
        Some(l) => LoggingConfig {
            level: match l.level.as_deref() {
                None => None,
                Some("info") => Some(log::LevelFilter::Info),
                Some("debug") => Some(log::LevelFilter::Debug),
                Some("warn") => Some(log::LevelFilter::Warn),
                Some("error") => Some(log::LevelFilter::Error),
                Some("off") => Some(log::LevelFilter::Off),
                Some(other) => {
                    errors.push(ConfigError::new(
                        "config.logging.level",
                        format!("unknown level \"{other}\"; expected one of debug, info, warn, error, off"),
                    ));
                    None
                }
            },
            filter: match &l.filter {
                None => Fields::default(),
                Some(expr) => match Fields::compile(&[("filter".to_string(), expr.clone())]) {
                    Ok(f) => f,
                    Err(errs) => {
                        for e in errs {
                            errors.push(ConfigError::new(
                                "config.logging.filter",
                                one_line_cel_error(&e.message),
                            ));
                        }
                        Fields::default()
                    }
                },
            },
            format: match l.format.as_deref() {
                None | Some("text") => TelemetryLogFormat::Text,
                Some("json") => TelemetryLogFormat::Json,
                Some(other) => {
                    errors.push(ConfigError::new(
                        "config.logging.format",
                        format!("unknown format \"{other}\"; expected one of text, json"),
                    ));
                    TelemetryLogFormat::Text
                }
            },
            fields: compile_fields("config.logging.fields", &l.fields, errors),
            remove: l.fields.remove.clone(),
        },
    }
}

fn compile_fields(path: &str, raw: &RawFields, errors: &mut Vec<ConfigError>) -> Fields {
    let mut add = Vec::with_capacity(raw.add.len());
    for (key, value) in &raw.add {
        match value.as_str() {
            Some(expr) => add.push((key.clone(), expr.to_string())),
            None => errors.push(ConfigError::new(
                format!("{path}.add.{key}"),
                "expected a CEL expression (a string)",
            )),
        }
    }
    match Fields::compile(&add) {
        Ok(f) => f,
        Err(errs) => {
            for e in errs {
                errors.push(ConfigError::new(
                    format!("{path}.add.{}", e.key),
                    one_line_cel_error(&e.message),
                ));
            }
            Fields::default()
        }
    }
}

/// The CEL parser's message is several lines (a caret under the source); `sluice check`
/// prints one line per problem.
fn one_line_cel_error(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message);
    let first = first.strip_prefix("ERROR: ").unwrap_or(first);
    let first = first.strip_prefix("<input>:").unwrap_or(first);
    format!("invalid CEL expression: {first}")
}

pub(super) fn tracing_config(raw: &RawTracing, errors: &mut Vec<ConfigError>) -> TracingConfig {
    let base = "config.tracing";
    // The first of `names` set (not empty), with its name.
    let named_env = |names: &[&'static str]| {
        names.iter().find_map(|n| {
            let v = std::env::var(n).ok().filter(|v| !v.is_empty())?;
            Some((*n, v))
        })
    };
    let from_env = |names: &[&'static str]| named_env(names).map(|(_, v)| v);
    let protocol_text = raw.otlp_protocol.clone().or_else(|| {
        from_env(&[
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ])
    });
    let protocol = match protocol_text.as_deref() {
        None | Some("grpc") => OtlpProtocol::Grpc,
        Some("http") | Some("http/protobuf") => OtlpProtocol::Http,
        Some(other) => {
            errors.push(ConfigError::new(
                format!("{base}.otlpProtocol"),
                format!("unknown protocol \"{other}\"; expected one of grpc, http"),
            ));
            OtlpProtocol::Grpc
        }
    };
    let endpoint = match raw.otlp_endpoint.clone() {
        Some(e) => e,
        None => match (
            from_env(&["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]),
            from_env(&["OTEL_EXPORTER_OTLP_ENDPOINT"]),
        ) {
            // The per-signal variable is the full URL; strip `/v1/traces` as sluice adds it.
            (Some(traces), _) => traces.trim_end_matches("/v1/traces").to_string(),
            (None, Some(all)) => all,
            (None, None) => {
                errors.push(ConfigError::new(
                    format!("{base}.otlpEndpoint"),
                    "missing (and neither OTEL_EXPORTER_OTLP_TRACES_ENDPOINT nor OTEL_EXPORTER_OTLP_ENDPOINT is set)",
                ));
                String::new()
            }
        },
    };
    if !endpoint.is_empty() {
        if let Err(e) = Upstream::parse(&endpoint) {
            errors.push(ConfigError::new(format!("{base}.otlpEndpoint"), e));
        }
    }
    // The key, else the OpenTelemetry variables (per signal first); an unknown value names
    // where it came from.
    let compression = match &raw.compression {
        Some(c) => Some((c.clone(), format!("{base}.compression"))),
        None => named_env(&[
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
            "OTEL_EXPORTER_OTLP_COMPRESSION",
        ])
        .map(|(n, v)| (v, format!("{base}.compression (from {n})"))),
    };
    let gzip = match compression {
        None => false,
        Some((c, path)) => match c.as_str() {
            "none" => false,
            "gzip" => true,
            other => {
                errors.push(ConfigError::new(
                    path,
                    format!("unknown compression \"{other}\"; expected one of gzip, none"),
                ));
                false
            }
        },
    };
    let sampling_ratio = match &raw.random_sampling {
        None => 1.0,
        Some(serde_json::Value::Bool(true)) => 1.0,
        Some(serde_json::Value::Bool(false)) => 0.0,
        Some(serde_json::Value::Number(n)) => match n.as_f64() {
            Some(r) if (0.0..=1.0).contains(&r) => r,
            _ => {
                errors.push(ConfigError::new(
                    format!("{base}.randomSampling"),
                    format!("ratio {n} is not between 0.0 and 1.0"),
                ));
                1.0
            }
        },
        Some(other) => {
            errors.push(ConfigError::new(
                format!("{base}.randomSampling"),
                format!("expected true, false or a ratio 0.0..1.0, got {other}"),
            ));
            1.0
        }
    };
    TracingConfig {
        endpoint,
        protocol,
        gzip,
        headers: raw
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), Secret::new(v.clone())))
            .collect(),
        sampling_ratio,
        fields: compile_fields(&format!("{base}.fields"), &raw.fields, errors),
        remove: raw.fields.remove.clone(),
    }
}
