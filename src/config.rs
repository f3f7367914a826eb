//! Settings: defaults, then an optional TOML file, then `UNDERSIGNED_*` environment variables.
//!
//! Every key is validated here, at start-up, so a typo or a bad URL stops the process with a
//! message that names the key instead of failing on the first request.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lettre::message::Mailbox;
use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

/// The validated configuration the application runs with. Passed down, never global.
#[derive(Clone, Debug)]
pub struct Settings {
    pub bind: String,
    /// `None` means "derived from the bound address", resolved once the port is known.
    pub base_url: Option<Url>,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub smtp_url: Option<SecretString>,
    pub mail_from: Mailbox,
    /// The master key every other key is derived from; `None`: read from `key_file`.
    pub secret_key: Option<SecretString>,
    /// Where the master key is kept (generated on first start); `None`: `{data_dir}/secret_key`.
    pub key_file: Option<PathBuf>,
    /// The master key before the last rotation: links already mailed under it keep working.
    pub previous_secret_key: Option<SecretString>,
    /// A file holding the log-signing key's seed, generated on first start; `None`: the key is
    /// derived from the master key (and changes with it).
    pub log_key_file: Option<PathBuf>,
    /// An organizer session ends this long after sign-in, whatever happens.
    pub session_max_hours: u32,
    /// An organizer session ends after this long without a request.
    pub session_idle_minutes: u32,
    /// Confirmation emails to one recipient domain per hour, on this instance (0: no cap).
    pub confirmation_emails_per_domain_per_hour: u32,
    /// Confirmation emails per hour in all, on this instance (0: no cap).
    pub confirmation_emails_per_hour: u32,
    /// Sign requests one client address may make in a short burst (per minute).
    pub sign_rate_per_minute: u32,
    /// Sign requests one client address may make in an hour, sustained.
    pub sign_rate_per_hour: u32,
    pub confirmation_ttl_hours: u32,
    /// How many emails one signature may trigger (first confirmation plus re-sends).
    pub max_confirmation_emails: u32,
    /// Take the client address from `client_ip_header` (only behind a trusted proxy).
    pub trust_proxy_headers: bool,
    /// The one header the trusted proxy sets: its last address is the client's.
    /// Lower-cased, and a valid HTTP header name.
    pub client_ip_header: String,
    /// First retry delay of a failed email; doubles with every attempt, capped at one hour.
    pub email_retry_base_ms: u64,
    /// How often the email worker looks for due jobs when nothing wakes it.
    pub email_poll_ms: u64,
    /// How long a worker may hold a claimed email before another worker may take it over.
    pub email_lease_ms: u64,
    /// The longest one email's whole SMTP exchange (connect, greeting, commands, data) may
    /// take before it counts as a failed attempt.
    pub smtp_timeout_s: u64,
    pub db_pool_size: u32,
    /// Password hashes computed at once (19 MiB each); `None`: twice the cores.
    pub password_hash_concurrency: Option<u32>,
    /// Longest time before a counted event is in a signed checkpoint.
    pub log_interval_ms: u64,
    /// Verifier keys of the witnesses whose cosignatures of checkpoints this site accepts.
    pub witness_keys: Vec<String>,
    /// Countries with fewer signatures are not listed one by one in public.
    pub public_country_min: u32,
    /// Days after a petition closes (or its delivery is recorded) until its signers' personal
    /// data is erased.
    pub retention_days: u32,
    /// The organisation running the site, named on pages, in the privacy notice and emails.
    pub organization_name: Option<String>,
    /// How signers reach that organisation (an address or a URL).
    pub organization_contact: Option<String>,
    /// Where the server runs (e.g. "Hetzner, Falkenstein, Germany"), for the privacy notice.
    pub server_location: Option<String>,
    /// Who may frame the petition widget (`/petitions/{slug}/embed`), as CSP `frame-ancestors`
    /// sources: `*` (anyone, the default) or origins such as `https://partner.example`.
    pub embed_frame_ancestors: String,
    /// Longest time a public page, the JSON and the count lag behind the database: the public
    /// state of a petition is read again at most this often, and proxies may keep a page as
    /// long.
    pub public_refresh_ms: u64,
    /// The bearer token `GET /metrics` asks for from anywhere but this machine.
    pub metrics_token: Option<SecretString>,
}

/// Every key a TOML file or the environment may set. Unknown keys are an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    bind: Option<String>,
    base_url: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    secret_key: Option<String>,
    key_file: Option<PathBuf>,
    previous_secret_key: Option<String>,
    log_key_file: Option<PathBuf>,
    session_max_hours: Option<u32>,
    session_idle_minutes: Option<u32>,
    confirmation_emails_per_domain_per_hour: Option<u32>,
    confirmation_emails_per_hour: Option<u32>,
    sign_rate_per_minute: Option<u32>,
    sign_rate_per_hour: Option<u32>,
    confirmation_ttl_hours: Option<u32>,
    max_confirmation_emails: Option<u32>,
    trust_proxy_headers: Option<bool>,
    client_ip_header: Option<String>,
    email_retry_base_ms: Option<u64>,
    email_poll_ms: Option<u64>,
    email_lease_ms: Option<u64>,
    smtp_timeout_s: Option<u64>,
    db_pool_size: Option<u32>,
    password_hash_concurrency: Option<u32>,
    log_interval_ms: Option<u64>,
    witness_keys: Option<String>,
    public_country_min: Option<u32>,
    retention_days: Option<u32>,
    organization_name: Option<String>,
    organization_contact: Option<String>,
    server_location: Option<String>,
    embed_frame_ancestors: Option<String>,
    public_refresh_ms: Option<u64>,
    metrics_token: Option<String>,
}

impl RawSettings {
    fn overlay(&mut self, other: RawSettings) {
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f; } )* };
        }
        take!(
            bind,
            base_url,
            data_dir,
            database_url,
            smtp_url,
            mail_from,
            secret_key,
            key_file,
            previous_secret_key,
            log_key_file,
            session_max_hours,
            session_idle_minutes,
            confirmation_emails_per_domain_per_hour,
            confirmation_emails_per_hour,
            sign_rate_per_minute,
            sign_rate_per_hour,
            confirmation_ttl_hours,
            max_confirmation_emails,
            trust_proxy_headers,
            client_ip_header,
            email_retry_base_ms,
            email_poll_ms,
            email_lease_ms,
            smtp_timeout_s,
            db_pool_size,
            password_hash_concurrency,
            log_interval_ms,
            witness_keys,
            public_country_min,
            retention_days,
            organization_name,
            organization_contact,
            server_location,
            embed_frame_ancestors,
            public_refresh_ms,
            metrics_token
        );
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A syntax error, an unknown key or a value of the wrong type in the file, or a value
    /// the file sets that [`Settings`] refuses: one line naming the file, the line and the key.
    #[error("{}:{line}: {key}{message}", path.display(), key = key.as_deref().map(|k| format!("`{k}`: ")).unwrap_or_default())]
    File {
        path: PathBuf,
        line: usize,
        key: Option<String>,
        message: String,
    },
    #[error("environment: {0}")]
    Env(String),
    #[error("config key `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

const ENV_PREFIX: &str = "UNDERSIGNED_";

impl Settings {
    /// Loads settings from an optional file and the process environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        Self::load_from(file, &env)
    }

    /// Loads settings from an optional file and the given environment (testable without
    /// touching the process environment).
    pub fn load_from(
        file: Option<&Path>,
        env: &BTreeMap<String, String>,
    ) -> Result<Settings, ConfigError> {
        let mut raw = RawSettings::default();
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| env.get("UNDERSIGNED_CONFIG").map(PathBuf::from));
        let mut read = None;
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            let from_file: RawSettings = toml::from_str(&text).map_err(|e| {
                let at = e.span().map_or(0, |span| span.start);
                let (line, key) = line_and_key(&text, at);
                ConfigError::File {
                    path: path.clone(),
                    line,
                    key,
                    message: e.message().replace('`', ""),
                }
            })?;
            raw.overlay(from_file);
            read = Some((path, text));
        }
        if let Some(url) = env.get("DATABASE_URL") {
            raw.database_url = Some(url.clone());
        }
        let from_env = raw_from_env(env)?;
        raw.overlay(from_env);
        // Whether the environment set `key` (then the file's value is not the one refused).
        let from_env = |key: &str| {
            env.contains_key(&format!("{ENV_PREFIX}{}", key.to_ascii_uppercase()))
                || (key == "database_url" && env.contains_key("DATABASE_URL"))
        };
        Self::resolve(raw).map_err(|error| match (error, read) {
            // A value the file set (and the environment did not replace) is refused: say where.
            (ConfigError::Invalid { key, message }, Some((path, text))) if !from_env(key) => {
                match line_of_key(&text, key) {
                    Some(line) => ConfigError::File {
                        path,
                        line,
                        key: Some(key.to_string()),
                        message,
                    },
                    None => ConfigError::Invalid { key, message },
                }
            }
            (error, _) => error,
        })
    }

    fn resolve(raw: RawSettings) -> Result<Settings, ConfigError> {
        let bind = raw.bind.unwrap_or_else(|| "127.0.0.1:8080".to_string());
        if bind.rsplit_once(':').is_none() {
            return Err(invalid("bind", "expected HOST:PORT, e.g. 127.0.0.1:8080"));
        }
        let base_url = match raw.base_url {
            Some(s) => {
                let url = Url::parse(&s).map_err(|e| invalid("base_url", e))?;
                if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                    return Err(invalid("base_url", "expected an http:// or https:// URL"));
                }
                Some(url)
            }
            None => None,
        };
        let data_dir = raw.data_dir.unwrap_or_else(|| PathBuf::from("./data"));
        let database_url = raw
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}/undersigned.db", data_dir.display()));
        Backend::from_url(&database_url).map_err(|e| invalid("database_url", e))?;
        let smtp_url = match raw.smtp_url {
            Some(s) if !s.trim().is_empty() => {
                let url = Url::parse(&s)
                    .map_err(|_| invalid("smtp_url", "not a URL; expected e.g. smtp://host:25"))?;
                if !matches!(url.scheme(), "smtp" | "smtps") {
                    return Err(invalid("smtp_url", "scheme must be smtp:// or smtps://"));
                }
                Some(SecretString::from(s))
            }
            _ => None,
        };
        let smtp_timeout_s = match raw.smtp_timeout_s {
            Some(0) => return Err(invalid("smtp_timeout_s", "must be greater than zero")),
            Some(n) => n.min(3600),
            None => 30,
        };
        let email_lease_ms = raw.email_lease_ms.unwrap_or(120_000).max(100);
        // A claimed email must be sent (or have timed out) and recorded before another worker
        // may take it over, or a slow relay would get it twice: the lease outlasts three whole
        // exchanges, one for the sends ahead of it, its own, and one to spare for recording
        // it (`Mailer::round_size` claims by the same rule).
        if smtp_url.is_some() && email_lease_ms < 3 * 1000 * smtp_timeout_s + 1000 {
            return Err(invalid(
                "email_lease_ms",
                format!(
                    "must be more than three times smtp_timeout_s ({smtp_timeout_s} s) when \
                     smtp_url is set: at least {}",
                    3 * 1000 * smtp_timeout_s + 1000
                ),
            ));
        }
        let mail_from = raw
            .mail_from
            .unwrap_or_else(|| "undersigned <noreply@localhost>".to_string())
            .parse::<Mailbox>()
            .map_err(|e| invalid("mail_from", e))?;
        let secret_key = match raw.secret_key {
            Some(k) if k.len() < 32 => {
                return Err(invalid("secret_key", "must be at least 32 characters"));
            }
            Some(k) => Some(SecretString::from(k)),
            None => None,
        };
        let positive = |key: &'static str, v: Option<u32>, default: u32| match v {
            Some(0) => Err(invalid(key, "must be greater than zero")),
            Some(n) => Ok(n),
            None => Ok(default),
        };
        Ok(Settings {
            bind,
            base_url,
            data_dir,
            database_url,
            smtp_url,
            mail_from,
            secret_key,
            key_file: raw.key_file,
            log_key_file: raw.log_key_file,
            previous_secret_key: match raw.previous_secret_key {
                Some(k) if k.trim().len() < 32 => {
                    return Err(invalid(
                        "previous_secret_key",
                        "must be at least 32 characters",
                    ));
                }
                Some(k) => Some(SecretString::from(k.trim().to_string())),
                None => None,
            },
            session_max_hours: positive("session_max_hours", raw.session_max_hours, 12)?,
            session_idle_minutes: positive("session_idle_minutes", raw.session_idle_minutes, 120)?,
            confirmation_emails_per_domain_per_hour: raw
                .confirmation_emails_per_domain_per_hour
                .unwrap_or(0),
            confirmation_emails_per_hour: raw.confirmation_emails_per_hour.unwrap_or(0),
            sign_rate_per_minute: positive("sign_rate_per_minute", raw.sign_rate_per_minute, 20)?,
            sign_rate_per_hour: positive("sign_rate_per_hour", raw.sign_rate_per_hour, 200)?,
            confirmation_ttl_hours: positive(
                "confirmation_ttl_hours",
                raw.confirmation_ttl_hours,
                24 * 7,
            )?,
            max_confirmation_emails: positive(
                "max_confirmation_emails",
                raw.max_confirmation_emails,
                3,
            )?,
            trust_proxy_headers: raw.trust_proxy_headers.unwrap_or(false),
            client_ip_header: match raw.client_ip_header {
                None => "x-forwarded-for".to_string(),
                Some(name) => header_name(&name)
                    .ok_or_else(|| invalid("client_ip_header", "must be an HTTP header name"))?,
            },
            email_retry_base_ms: raw.email_retry_base_ms.unwrap_or(10_000).max(10),
            email_poll_ms: raw.email_poll_ms.unwrap_or(2_000).max(10),
            email_lease_ms,
            smtp_timeout_s,
            db_pool_size: positive("db_pool_size", raw.db_pool_size, 8)?,
            password_hash_concurrency: raw
                .password_hash_concurrency
                .map(|n| positive("password_hash_concurrency", Some(n), 1))
                .transpose()?,
            log_interval_ms: raw.log_interval_ms.unwrap_or(1_000).max(10),
            public_country_min: raw.public_country_min.unwrap_or(5),
            retention_days: raw.retention_days.unwrap_or(180),
            organization_name: one_line("organization_name", raw.organization_name)?,
            organization_contact: one_line("organization_contact", raw.organization_contact)?,
            server_location: one_line("server_location", raw.server_location)?,
            embed_frame_ancestors: frame_ancestors(raw.embed_frame_ancestors)?,
            public_refresh_ms: raw.public_refresh_ms.unwrap_or(1_000).clamp(50, 60_000),
            metrics_token: raw
                .metrics_token
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .map(SecretString::from),
            witness_keys: raw
                .witness_keys
                .unwrap_or_default()
                .split([',', ' ', '\n'])
                .filter(|k| !k.trim().is_empty())
                .map(|k| {
                    crate::log::note::Verifier::parse(k)
                        .map(|_| k.trim().to_string())
                        .map_err(|_| {
                            invalid("witness_keys", format!("{k:?} is not a verifier key"))
                        })
                })
                .collect::<Result<_, _>>()?,
        })
    }
}

/// An optional line of text shown to people: trimmed, at most 200 characters, no line breaks
/// or invisible formatting characters; empty means unset.
fn one_line(key: &'static str, value: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(v) = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    if v.chars().count() > 200 || crate::domain::has_hidden_characters(&v) {
        return Err(invalid(key, "must be one line of at most 200 characters"));
    }
    Ok(Some(v))
}

/// `embed_frame_ancestors`: `*`, or origins (`https://host`, `https://*.host`, with a port if
/// need be) separated by spaces or commas; written into a CSP header, so nothing else passes.
fn frame_ancestors(value: Option<String>) -> Result<String, ConfigError> {
    let value = value.unwrap_or_else(|| "*".to_string());
    let sources: Vec<&str> = value.split([' ', ',']).filter(|s| !s.is_empty()).collect();
    let origin = |s: &str| {
        let Some(rest) = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
        else {
            return false;
        };
        let host = rest.strip_prefix("*.").unwrap_or(rest);
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'))
    };
    if sources.is_empty() || !sources.iter().all(|s| *s == "*" || origin(s)) {
        return Err(invalid(
            "embed_frame_ancestors",
            "must be * or origins such as https://partner.example, separated by spaces",
        ));
    }
    Ok(sources.join(" "))
}

/// The line (from 1) of byte offset `at` in `text`, and the key that line sets, if it sets one.
fn line_and_key(text: &str, at: usize) -> (usize, Option<String>) {
    let before = text.get(..at.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let key = text
        .lines()
        .nth(line - 1)
        .and_then(|l| l.split_once('='))
        .map(|(key, _)| key.trim().trim_matches('"').to_string())
        .filter(|key| !key.is_empty() && !key.starts_with('#') && !key.starts_with('['));
    (line, key)
}

/// The line (from 1) where `text` sets `key`.
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            line.split_once('=')
                .is_some_and(|(k, _)| k.trim().trim_matches('"') == key)
        })
        .map(|i| i + 1)
}

fn invalid(key: &'static str, message: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.to_string(),
    }
}

/// Reads `UNDERSIGNED_<KEY>` variables through the same typed struct as the file, so that the
/// same names, types and unknown-key check apply.
fn raw_from_env(env: &BTreeMap<String, String>) -> Result<RawSettings, ConfigError> {
    let mut table = toml::Table::new();
    for (name, value) in env {
        let Some(key) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        // Read by the logger itself, before any configuration.
        if key == "CONFIG" || key == "LOG_FORMAT" {
            continue;
        }
        let key = key.to_ascii_lowercase();
        let value = match key.as_str() {
            "sign_rate_per_minute"
            | "sign_rate_per_hour"
            | "confirmation_ttl_hours"
            | "max_confirmation_emails"
            | "email_retry_base_ms"
            | "email_poll_ms"
            | "email_lease_ms"
            | "smtp_timeout_s"
            | "log_interval_ms"
            | "public_refresh_ms"
            | "public_country_min"
            | "retention_days"
            | "db_pool_size"
            | "session_max_hours"
            | "session_idle_minutes"
            | "confirmation_emails_per_domain_per_hour"
            | "confirmation_emails_per_hour"
            | "password_hash_concurrency" => value
                .trim()
                .parse::<i64>()
                .map(toml::Value::Integer)
                .map_err(|_| ConfigError::Env(format!("{name} must be a whole number")))?,
            "trust_proxy_headers" => match value.trim() {
                "1" | "true" | "yes" => toml::Value::Boolean(true),
                "0" | "false" | "no" | "" => toml::Value::Boolean(false),
                _ => return Err(ConfigError::Env(format!("{name} must be true or false"))),
            },
            _ => toml::Value::String(value.clone()),
        };
        table.insert(key, value);
    }
    toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::Env(e.message().replace('`', "")))
}

/// `name` as an HTTP header name (RFC 9110 `token`), lower-cased; `None` if it is not one.
fn header_name(name: &str) -> Option<String> {
    let name = name.trim();
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    (!name.is_empty() && name.bytes().all(tchar)).then(|| name.to_ascii_lowercase())
}

/// Which database a URL names; chosen from the scheme, never by trial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite(PathBuf),
    /// The full `postgres://` URL, passed to libpq as it is.
    Postgres(String),
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, String> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(
                    "sqlite:// needs a file path, e.g. sqlite://./data/undersigned.db".into(),
                );
            }
            return Ok(Backend::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Backend::Postgres(url.to_string()));
        }
        Err("expected sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_widget_may_be_framed_only_by_origins_written_as_origins() {
        assert_eq!(frame_ancestors(None).unwrap(), "*");
        assert_eq!(
            frame_ancestors(Some("https://a.example, http://b.example:8080".into())).unwrap(),
            "https://a.example http://b.example:8080"
        );
        assert_eq!(
            frame_ancestors(Some("https://*.example.org".into())).unwrap(),
            "https://*.example.org"
        );
        for bad in [
            "",
            "'none'; script-src *",
            "javascript:alert(1)",
            "https://",
            "a.example",
            "https://a.example/path",
        ] {
            assert!(frame_ancestors(Some(bad.into())).is_err(), "{bad}");
        }
    }

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_mistake_in_the_file_is_one_line_naming_the_file_the_line_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("undersigned.toml");
        let load = |text: &str| {
            std::fs::write(&path, text).unwrap();
            Settings::load_from(Some(&path), &env(&[]))
                .unwrap_err()
                .to_string()
        };
        let at = |line: usize, key: &str| format!("{}:{line}: `{key}`: ", path.display());
        // A value of the wrong type, a syntax error, an unknown key, a refused value.
        let err = load("bind = \"127.0.0.1:1\"\n\nsign_rate_per_minute = \"ten\"\n");
        assert!(err.starts_with(&at(3, "sign_rate_per_minute")), "{err}");
        let err = load("bind = \"127.0.0.1:1\"\nretention_days = 30 days\n");
        assert!(err.starts_with(&format!("{}:2:", path.display())), "{err}");
        let err = load("# comment\nbnid = \"x\"\n");
        assert!(err.starts_with(&at(2, "bnid")), "{err}");
        let err = load("bind = \"127.0.0.1:1\"\nbase_url = \"not a url\"\n");
        assert!(err.starts_with(&at(2, "base_url")), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        // Set again by the environment, the file's value is not the one refused.
        std::fs::write(&path, "email_lease_ms = 91000\n").unwrap();
        let err = Settings::load_from(Some(&path), &env(&[("UNDERSIGNED_BASE_URL", "x")]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("config key `base_url`"), "{err}");
    }

    /// The field names a `Deserialize` struct reads, as serde hands them to its deserializer.
    fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
        struct Capture(Option<&'static [&'static str]>);
        #[derive(Debug)]
        struct Stop;
        impl std::fmt::Display for Stop {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("stop")
            }
        }
        impl std::error::Error for Stop {}
        impl serde::de::Error for Stop {
            fn custom<M: std::fmt::Display>(_: M) -> Stop {
                Stop
            }
        }
        impl<'de> serde::Deserializer<'de> for &mut Capture {
            type Error = Stop;
            fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
                Err(Stop)
            }
            fn deserialize_struct<V: serde::de::Visitor<'de>>(
                self,
                _: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> Result<V::Value, Stop> {
                self.0 = Some(fields);
                Err(Stop)
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
                byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
                identifier ignored_any
            }
        }
        let mut capture = Capture(None);
        let _ = T::deserialize(&mut capture);
        capture.0.expect("a struct")
    }

    /// `docs/undersigned.example.toml` lists every key once, commented out with a value of the
    /// right type; uncommented, it loads.
    #[test]
    fn the_example_configuration_lists_every_key_and_loads() {
        let example = include_str!("../docs/undersigned.example.toml");
        let mut keys = Vec::new();
        let mut uncommented = String::new();
        for line in example.lines() {
            let Some(setting) = line.strip_prefix("# ") else {
                continue;
            };
            let Some((key, _)) = setting.split_once(" = ") else {
                continue;
            };
            if key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                keys.push(key.to_string());
                uncommented.push_str(setting);
                uncommented.push('\n');
            }
        }
        // Every key `RawSettings` reads (through the environment's names, which are the same).
        let every = fields_of::<RawSettings>();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), keys.len(), "a key listed twice: {keys:?}");
        let mut expected: Vec<String> = every.iter().map(|k| k.to_string()).collect();
        expected.sort();
        assert_eq!(sorted, expected, "the example lists exactly the keys");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("all.toml");
        std::fs::write(&path, uncommented).unwrap();
        Settings::load_from(Some(&path), &env(&[])).expect("the example loads");
    }

    #[test]
    fn defaults_serve_on_localhost_from_data_dir() {
        let s = Settings::load_from(None, &env(&[])).unwrap();
        assert_eq!(s.bind, "127.0.0.1:8080");
        assert_eq!(s.database_url, "sqlite://./data/undersigned.db");
        assert!(s.smtp_url.is_none());
    }

    #[test]
    fn environment_overrides_file_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "bind = \"0.0.0.0:9000\"\ndata_dir = \"/srv/u\"\n").unwrap();
        let s =
            Settings::load_from(Some(&path), &env(&[("UNDERSIGNED_BIND", "127.0.0.1:1")])).unwrap();
        assert_eq!(s.bind, "127.0.0.1:1");
        assert_eq!(s.database_url, "sqlite:///srv/u/undersigned.db");

        std::fs::write(&path, "bnid = \"x\"\n").unwrap();
        let err = Settings::load_from(Some(&path), &env(&[])).unwrap_err();
        assert!(err.to_string().contains("bnid"), "{err}");
        let err = Settings::load_from(None, &env(&[("UNDERSIGNED_SMPT_URL", "x")])).unwrap_err();
        assert!(err.to_string().contains("smpt_url"), "{err}");
    }

    #[test]
    fn bad_values_name_their_key() {
        for (k, v, key) in [
            ("UNDERSIGNED_BASE_URL", "not a url", "base_url"),
            ("UNDERSIGNED_MAIL_FROM", "nobody", "mail_from"),
            ("UNDERSIGNED_SMTP_URL", "http://x", "smtp_url"),
            ("UNDERSIGNED_DATABASE_URL", "mysql://x", "database_url"),
            ("UNDERSIGNED_SIGN_RATE_PER_HOUR", "0", "sign_rate_per_hour"),
        ] {
            let err = Settings::load_from(None, &env(&[(k, v)])).unwrap_err();
            assert!(err.to_string().contains(key), "{k}: {err}");
        }
    }

    #[test]
    fn the_backend_is_chosen_from_the_url_scheme() {
        assert_eq!(
            Backend::from_url("sqlite://./data/u.db"),
            Ok(Backend::Sqlite(PathBuf::from("./data/u.db")))
        );
        assert!(matches!(
            Backend::from_url("postgres://u:p@localhost/db"),
            Ok(Backend::Postgres(_))
        ));
        assert!(Backend::from_url("mysql://x").is_err());
        assert!(Backend::from_url("./plain/path.db").is_err());
    }

    #[test]
    fn a_client_ip_header_is_a_header_name_lower_cased() {
        assert_eq!(super::header_name(" X-Real-IP "), Some("x-real-ip".into()));
        assert_eq!(super::header_name("Forwarded"), Some("forwarded".into()));
        for bad in ["", "X Real IP", "x:y", "Имя"] {
            assert_eq!(super::header_name(bad), None, "{bad}");
        }
    }
}
