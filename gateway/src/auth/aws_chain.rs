//! Which link of the AWS default credential chain a process will take, read from its
//! environment the way `aws-config`'s `DefaultCredentialsChain` orders them: environment
//! variables, then the shared config and credentials files (the profile), then web identity
//! (IRSA), then container credentials (ECS, EKS Pod Identity), then EC2 instance metadata.
//!
//! `sluice check` reports it for `source: chain`. It is what the environment shows before
//! anything is fetched: a link that is configured but has no credentials (a profile without
//! keys, an unreachable endpoint) is skipped by the SDK at start, and the start's fetch
//! decides.

use std::path::{Path, PathBuf};

use super::aws::AwsSource;

/// The first link of the chain the environment configures, with the variables or file that
/// show it; `None` when only instance metadata is left and it is disabled.
///
/// `env` reads a variable, `read` a file (both injected, so this is a pure function of them).
pub fn chain_link(
    env: &dyn Fn(&str) -> Option<String>,
    read: &dyn Fn(&Path) -> Option<String>,
) -> Option<(AwsSource, String)> {
    let set = |name: &str| env(name).is_some_and(|v| !v.is_empty());
    if set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY") {
        return Some((
            AwsSource::Env,
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set".into(),
        ));
    }
    if let Some(found) = profile_in_files(env, read) {
        return Some((AwsSource::Profile(None), found));
    }
    if set("AWS_WEB_IDENTITY_TOKEN_FILE") && set("AWS_ROLE_ARN") {
        return Some((
            AwsSource::WebIdentity,
            "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are set".into(),
        ));
    }
    for name in [
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ] {
        if set(name) {
            return Some((AwsSource::Container, format!("{name} is set")));
        }
    }
    let disabled = env("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    (!disabled).then(|| {
        (
            AwsSource::Imds,
            "nothing else is configured: it answers on EC2 instances and EKS nodes".into(),
        )
    })
}

/// The profile (`AWS_PROFILE`, else `default`) when the config or credentials file has it.
fn profile_in_files(
    env: &dyn Fn(&str) -> Option<String>,
    read: &dyn Fn(&Path) -> Option<String>,
) -> Option<String> {
    let profile = env("AWS_PROFILE")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "default".into());
    let home = env("HOME").map(PathBuf::from);
    let file = |var: &str, default: &str| -> Option<PathBuf> {
        env(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
    };
    // The config file names profiles `[profile x]` (but `[default]`), the credentials file `[x]`.
    let in_config = if profile == "default" {
        "[default]".to_string()
    } else {
        format!("[profile {profile}]")
    };
    let sections = [
        (file("AWS_CONFIG_FILE", "config"), in_config),
        (
            file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            format!("[{profile}]"),
        ),
    ];
    sections.into_iter().find_map(|(path, section)| {
        let path = path?;
        let text = read(&path)?;
        text.lines()
            .any(|l| l.trim() == section)
            .then(|| format!("profile {profile:?} is in {}", path.display()))
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// The link for an environment of `vars` and files `files` (path, contents).
    fn link(vars: &[(&str, &str)], files: &[(&str, &str)]) -> Option<AwsSource> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let files: HashMap<PathBuf, String> = files
            .iter()
            .map(|(p, t)| (PathBuf::from(p), t.to_string()))
            .collect();
        chain_link(&|k| vars.get(k).cloned(), &|p| files.get(p).cloned()).map(|(s, _)| s)
    }

    const KEYS: [(&str, &str); 2] = [
        ("AWS_ACCESS_KEY_ID", "AKID"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
    ];
    const IRSA: [(&str, &str); 2] = [
        ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"),
        ("AWS_ROLE_ARN", "arn:aws:iam::1:role/r"),
    ];
    const POD_IDENTITY: (&str, &str) = (
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "http://169.254.170.23/v1/credentials",
    );
    const HOME: (&str, &str) = ("HOME", "/home/u");
    const CREDENTIALS: (&str, &str) = ("/home/u/.aws/credentials", "[default]\nx = y\n");

    #[test]
    fn each_link_wins_over_every_later_one() {
        let all: Vec<(&str, &str)> = [&KEYS[..], &IRSA[..], &[POD_IDENTITY, HOME]].concat();
        assert_eq!(link(&all, &[CREDENTIALS]), Some(AwsSource::Env));
        // Without the keys: the profile in ~/.aws/credentials.
        assert_eq!(
            link(&all[2..], &[CREDENTIALS]),
            Some(AwsSource::Profile(None))
        );
        // Without the profile: web identity before container credentials.
        assert_eq!(link(&all[2..], &[]), Some(AwsSource::WebIdentity));
        assert_eq!(link(&all[4..], &[]), Some(AwsSource::Container));
        // Nothing configured: instance metadata, unless disabled.
        assert_eq!(link(&[HOME], &[]), Some(AwsSource::Imds));
        assert_eq!(
            link(&[HOME, ("AWS_EC2_METADATA_DISABLED", "TRUE")], &[]),
            None
        );
    }

    #[test]
    fn a_half_configured_link_is_passed_over() {
        // A key without its secret, a token file without a role, empty values.
        let vars = [
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
            ("AWS_ROLE_ARN", ""),
            (
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "/v2/credentials/x",
            ),
        ];
        assert_eq!(link(&vars, &[]), Some(AwsSource::Container));
    }

    #[test]
    fn profiles_are_found_where_the_sdk_looks() {
        // AWS_PROFILE in the config file, under `[profile name]`, at AWS_CONFIG_FILE.
        let vars = [
            ("AWS_PROFILE", "prod"),
            ("AWS_CONFIG_FILE", "/etc/aws.conf"),
        ];
        let config = ("/etc/aws.conf", "[default]\n[profile prod]\nregion = x\n");
        assert_eq!(link(&vars, &[config]), Some(AwsSource::Profile(None)));
        // `[prod]` is a credentials-file section, not a config-file one.
        let config = ("/etc/aws.conf", "[prod]\n");
        assert_eq!(link(&vars, &[config]), Some(AwsSource::Imds));
        let (source, why) = chain_link(&|k| (k == "HOME").then(|| "/home/u".to_string()), &|p| {
            (p == Path::new(CREDENTIALS.0)).then(|| CREDENTIALS.1.to_string())
        })
        .unwrap();
        assert_eq!(source, AwsSource::Profile(None));
        assert_eq!(why, "profile \"default\" is in /home/u/.aws/credentials");
    }
}
