//! The command line: `sluice run [-c FILE] [--listen [LISTENER=]ADDR] [--upgrade]`,
//! `sluice check -c FILE`, `sluice translate -c FILE`, `--version`, `--help`. FILE is a sluice
//! config or a file of Kubernetes objects (the seed's Gateway, HTTPRoute, Backend, ...).
//! Exit codes: 0 ok, 1 bad config, 2 cannot bind or runtime failure.

use clap::{Parser, Subcommand};

use crate::config;

#[derive(Parser, Debug)]
#[command(
    name = "sluice",
    version,
    about = "An LLM gateway on Pingora: one endpoint for every model, with the telemetry to see it."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve. Without --config, serves the embedded demo config (a mock backend on 127.0.0.1:8080).
    Run {
        /// The config file (YAML): a sluice config, or Kubernetes objects (Gateway, HTTPRoute,
        /// kgateway Backend, GatewayParameters, ConfigMap, Secret).
        #[arg(short, long, value_name = "FILE")]
        config: Option<String>,
        /// Bind this address instead of the one the config gives (a Gateway listener's port
        /// binds 0.0.0.0:PORT). ADDR alone sets the only listener; LISTENER=ADDR the one of
        /// that name. Repeatable; applies to reloads too.
        #[arg(long, value_name = "[LISTENER=]ADDR", value_parser = config::parse_listen)]
        listen: Vec<config::ListenOverride>,
        /// Take over the listening sockets of a running sluice (zero-downtime binary upgrade):
        /// start the new binary with --upgrade, then send SIGQUIT to the old process.
        #[arg(long)]
        upgrade: bool,
    },
    /// Load and validate a config (YAML, env expansion, references, CEL), print every problem.
    Check {
        /// The config file (YAML): a sluice config or Kubernetes objects.
        #[arg(short, long, value_name = "FILE")]
        config: String,
    },
    /// Print the sluice config equivalent to a file of Kubernetes objects. Secrets are not
    /// printed: a `$VAR` stays a `$VAR`, any other value becomes `{env: NAME}` (see the
    /// comments at the top of the output).
    Translate {
        /// The Kubernetes objects (YAML, several documents).
        #[arg(short, long, value_name = "FILE")]
        config: String,
    },
}

pub const EXIT_BAD_CONFIG: i32 = 1;
pub const EXIT_RUNTIME: i32 = 2;

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_RUNTIME } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Command::Check { config } => match config::load_file(&config) {
            Ok(loaded) => {
                for warning in unpriced_backends(&loaded)
                    .into_iter()
                    .chain(shadowed_routes(&loaded))
                {
                    eprintln!("{warning}");
                }
                for line in credential_sources(&loaded) {
                    println!("{line}");
                }
                println!("{config}: ok");
                0
            }
            Err(errors) => {
                for e in &errors.0 {
                    eprintln!("{e}");
                }
                EXIT_BAD_CONFIG
            }
        },
        Command::Translate { config } => match config::translate_file(&config) {
            Ok(text) => {
                print!("{text}");
                0
            }
            Err(errors) => {
                for e in &errors.0 {
                    eprintln!("{e}");
                }
                EXIT_BAD_CONFIG
            }
        },
        Command::Run {
            config,
            listen,
            upgrade,
        } => {
            config::set_listen_overrides(listen);
            let loaded = match &config {
                Some(path) => config::load_file(path),
                None => config::load_str(config::DEMO_CONFIG),
            };
            match loaded {
                Ok(cfg) => crate::server::run(cfg, config, upgrade),
                Err(errors) => {
                    for e in &errors.0 {
                        eprintln!("{e}");
                    }
                    EXIT_BAD_CONFIG
                }
            }
        }
    }
}

/// What `sluice check` says of each cloud backend's credentials: where they will come from
/// (nothing is fetched: `sluice run` fetches them at start).
fn credential_sources(config: &config::Config) -> Vec<String> {
    use crate::config::runtime::Cloud;
    config
        .backends
        .iter()
        .enumerate()
        .filter_map(|(i, b)| match &b.cloud {
            Some(Cloud::Aws { auth, region }) => Some(format!(
                "backends[{i}] ({}): AWS credentials from {}{}{}; region {region}",
                b.name,
                auth.source.describe(),
                chain_link_here(&auth.source),
                auth.role_arn
                    .as_ref()
                    .map(|r| format!(", then the role {r} assumed through STS"))
                    .unwrap_or_default()
            )),
            Some(Cloud::AzureIdentity { auth }) => Some(format!(
                "backends[{i}] ({}): Microsoft Entra ID tokens from {}",
                b.name,
                auth.source.describe()
            )),
            Some(Cloud::Google { auth, .. } | Cloud::GeminiOAuth { auth, .. }) => Some(format!(
                "backends[{i}] ({}): Google access tokens from {}",
                b.name,
                auth.describe()
            )),
            Some(Cloud::AzureEntra { .. }) => Some(format!(
                "backends[{i}] ({}): a static Microsoft Entra ID token (entraToken), never refreshed",
                b.name
            )),
            None => None,
        })
        .collect()
}

/// For the default chain: the link this process's environment configures, as `sluice check`
/// reads it.
fn chain_link_here(source: &crate::auth::aws::AwsSource) -> String {
    if *source != crate::auth::aws::AwsSource::Chain {
        return String::new();
    }
    let env = |name: &str| std::env::var(name).ok();
    let read = |path: &std::path::Path| std::fs::read_to_string(path).ok();
    match crate::auth::aws_chain::chain_link(&env, &read) {
        Some((link, why)) => format!("; here: {} ({why})", link.describe()),
        None => "; here: none (nothing configured, instance metadata disabled)".to_string(),
    }
}

/// `sluice check`'s warnings: each backend whose pinned model has no price (its requests get
/// no `llm.cost`). The mock provider costs nothing and is left out.
fn unpriced_backends(config: &config::Config) -> Vec<String> {
    config
        .backends
        .iter()
        .enumerate()
        .filter(|(_, b)| b.provider != sluice_providers::ProviderKind::Mock)
        .filter_map(|(i, b)| {
            let model = b.model.as_deref()?;
            let provider = b.provider.name();
            config.pricing.price(provider, model).is_none().then(|| {
                format!(
                    "warning: backends[{i}].model: no price for {provider} model \"{model}\"; \
                     its requests get no llm.cost (add it under config.pricing)"
                )
            })
        })
        .collect()
}

/// `sluice check`'s warnings: each route that can never be used, because a route before it on
/// its listener matches every path it does (routes are tried in order, the first match wins).
fn shadowed_routes(config: &config::Config) -> Vec<String> {
    use config::PathMatch;
    let mut out = Vec::new();
    for (l, listener) in config.listeners.iter().enumerate() {
        for (j, later) in listener.routes.iter().enumerate() {
            let path = later.matcher.as_str();
            let first = listener.routes[..j].iter().find(|earlier| {
                let covers = match (&earlier.matcher, &later.matcher) {
                    (PathMatch::Prefix(_), _) | (PathMatch::Exact(_), PathMatch::Exact(_)) => true,
                    (PathMatch::Exact(_), PathMatch::Prefix(_)) => false,
                };
                covers && earlier.matcher.strip(path).is_some()
            });
            if let Some(earlier) = first {
                out.push(format!(
                    "warning: listeners[{l}] route \"{}\" ({path}) is never used: route \"{}\" ({}) comes before it and matches every path it does; routes are tried in order",
                    later.name,
                    earlier.name,
                    earlier.matcher.as_str()
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn check_names_where_each_cloud_backends_credentials_come_from() {
        let yaml = "listeners:\n  - name: http\n    bind: 127.0.0.1:0\n    routes: [{name: r, match: {pathPrefix: /}, backend: o}]\n\
            backends:\n  - {name: o, provider: openai, apiKey: secret-key}\n\
            \x20 - {name: b, provider: bedrock, region: us-west-2, auth: {source: webIdentity, roleArn: 'arn:aws:iam::1:role/r'}}\n\
            \x20 - {name: v, provider: vertex, project: p, location: us-east5, auth: {source: metadata}}\n\
            \x20 - {name: t, provider: vertex, project: p, location: us-east5, apiKey: ya29.secret}\n\
            \x20 - {name: g, provider: gemini, project: q, auth: {source: adc}}\n\
            \x20 - {name: a, provider: azure, model: d, baseUrl: 'https://r.openai.azure.com', auth: {source: managedIdentity}}\n\
            \x20 - {name: e, provider: azure, model: d, baseUrl: 'https://r.openai.azure.com', entraToken: secret-token}\n";
        let config = crate::config::load_str(yaml).unwrap();
        let lines = super::credential_sources(&config);
        assert_eq!(
            lines,
            [
                "backends[1] (b): AWS credentials from web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, through STS), then the role arn:aws:iam::1:role/r assumed through STS; region us-west-2",
                "backends[2] (v): Google access tokens from the Google metadata server (GKE Workload Identity, GCE)",
                "backends[3] (t): Google access tokens from a fixed access token (apiKey), never refreshed",
                "backends[4] (g): Google access tokens from Google Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's user credentials, else the metadata server)",
                "backends[5] (a): Microsoft Entra ID tokens from the Azure managed identity (system-assigned; IDENTITY_ENDPOINT where the platform sets it, else the instance metadata service)",
                "backends[6] (e): a static Microsoft Entra ID token (entraToken), never refreshed",
            ]
        );
        assert!(!lines.concat().contains("secret"));
    }

    #[test]
    fn check_warns_about_routes_an_earlier_one_hides() {
        let yaml = "listeners:\n  - name: http\n    bind: 127.0.0.1:0\n    routes:\n\
            \x20     - {name: openai, match: {pathPrefix: /openai}, backend: m}\n\
            \x20     - {name: all, match: {pathPrefix: /}, backend: m}\n\
            \x20     - {name: gemini, match: {pathPrefix: /gemini}, backend: m}\n\
            \x20     - {name: exact, match: {path: /openai/v1/models}, backend: m}\n\
            \x20     - {name: deeper, match: {pathPrefix: /openai2}, backend: m}\n\
            backends:\n  - {name: m, provider: mock}\n";
        let config = crate::config::load_str(yaml).unwrap();
        assert_eq!(
            super::shadowed_routes(&config),
            [
                "warning: listeners[0] route \"gemini\" (/gemini) is never used: route \"all\" (/) comes before it and matches every path it does; routes are tried in order",
                "warning: listeners[0] route \"exact\" (/openai/v1/models) is never used: route \"openai\" (/openai) comes before it and matches every path it does; routes are tried in order",
                "warning: listeners[0] route \"deeper\" (/openai2) is never used: route \"all\" (/) comes before it and matches every path it does; routes are tried in order",
            ]
        );
        // In the right order, nothing to say; an exact path before a prefix hides nothing.
        let yaml = "listeners:\n  - name: http\n    bind: 127.0.0.1:0\n    routes:\n\
            \x20     - {name: exact, match: {path: /openai}, backend: m}\n\
            \x20     - {name: openai, match: {pathPrefix: /openai}, backend: m}\n\
            \x20     - {name: all, match: {pathPrefix: /}, backend: m}\n\
            backends:\n  - {name: m, provider: mock}\n";
        let config = crate::config::load_str(yaml).unwrap();
        assert!(super::shadowed_routes(&config).is_empty());
    }

    #[test]
    fn check_warns_about_pinned_models_without_a_price() {
        let yaml = "listeners:\n  - name: http\n    bind: 127.0.0.1:0\n    routes: [{name: r, match: {pathPrefix: /}, backend: g}]\n\
            backends:\n  - {name: g, provider: gemini, model: gemini-1.5-flash-latest, apiKey: secret-key}\n\
            \x20 - {name: o, provider: openai, model: gpt-4o-mini, apiKey: secret-key}\n\
            \x20 - {name: free, provider: openai, apiKey: secret-key}\n\
            \x20 - {name: m, provider: mock, model: mock-1}\n";
        let config = crate::config::load_str(yaml).unwrap();
        let warnings = super::unpriced_backends(&config);
        assert_eq!(
            warnings,
            ["warning: backends[0].model: no price for gemini model \"gemini-1.5-flash-latest\"; \
              its requests get no llm.cost (add it under config.pricing)"]
        );
        assert!(!warnings[0].contains("secret-key"));
    }
}
