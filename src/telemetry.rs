//! Logging. Request lines name the route pattern, never the path: paths carry confirmation
//! tokens (`routes::middleware::log_requests`). Signer emails are masked wherever they must
//! appear.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (`RUST_LOG` overrides the default `info`). With
/// `UNDERSIGNED_LOG_FORMAT=json`, one JSON object per line, for log collectors. (An
/// environment variable only: logging starts before the configuration file is read.)
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("UNDERSIGNED_LOG_FORMAT").is_ok_and(|f| f.trim() == "json");
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // Colours only for a person at a terminal, never into a file or a log collector.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        // Standard output is for what commands print (URLs, CSV); logs go to standard error.
        .with_writer(std::io::stderr);
    let _ = if json {
        fmt.json().flatten_event(true).try_init()
    } else {
        fmt.try_init()
    };
    // A panic is a bug: one error line in the log, with where it happened. Only a literal
    // message is logged; a formatted one may quote the data being processed.
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&'static str>()
            .copied()
            .unwrap_or("-");
        tracing::error!(at = %at, message, "bug: a task panicked");
    }));
}

/// `ana.petrosyan@example.org` → `a***@example.org`, for the rare log line that needs one.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_string(),
    }
}

/// `text` with every word that holds an `@` replaced by `***`: for messages from elsewhere (an
/// SMTP server's refusal) that may quote an address.
pub fn without_addresses(text: &str) -> String {
    text.split(' ')
        .map(|word| if word.contains('@') { "***" } else { word })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_are_dropped_from_quoted_errors() {
        assert_eq!(
            super::without_addresses("550 5.1.1 <ana@example.org>: user unknown"),
            "550 5.1.1 *** user unknown"
        );
    }

    #[test]
    fn emails_are_masked() {
        assert_eq!(
            super::mask_email("ana.petrosyan@example.org"),
            "a***@example.org"
        );
        assert_eq!(super::mask_email("nonsense"), "***");
    }
}
