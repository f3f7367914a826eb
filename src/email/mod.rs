//! Email: the transports ([`Mailer`]), the messages ([`messages`]) and the outbox [`worker`].

pub mod messages;
pub mod smtp;
pub mod worker;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::Settings;
use crate::domain::NewEmail;

/// `List-Unsubscribe: <https://…>` (RFC 2369).
#[derive(Clone)]
struct ListUnsubscribe(String);

impl lettre::message::header::Header for ListUnsubscribe {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(
            s.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .into(),
        ))
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Clone)]
struct ListUnsubscribePost;

impl lettre::message::header::Header for ListUnsubscribePost {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(
            Self::name(),
            "List-Unsubscribe=One-Click".to_string(),
        )
    }
}

/// What makes links in emails: the public address, and the key that signs unsubscribe links.
#[derive(Clone)]
pub struct Links {
    pub base_url: url::Url,
    pub keys: Arc<crate::keys::Keys>,
}

impl Links {
    /// An absolute URL for `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        let base = self.base_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }

    /// The key in an unsubscribe link: proves the link was made here for this signature, so
    /// the link needs no stored token and works for as long as the signature exists.
    pub fn unsubscribe_mac(&self, signature_id: i32) -> String {
        self.keys.unsubscribe_mac(signature_id)
    }

    /// The unsubscribe link of one signature.
    pub fn unsubscribe_url(&self, signature_id: i32) -> String {
        self.url(&format!(
            "/unsubscribe/{signature_id}/{}",
            self.unsubscribe_mac(signature_id)
        ))
    }
}

/// Where emails go.
#[derive(Clone)]
pub enum Mailer {
    /// A real SMTP server from `smtp_url` (plain, STARTTLS or TLS, as the URL says), each
    /// message's exchange bounded by `smtp_timeout_s`.
    Smtp(Arc<smtp::Smtp>),
    /// `.eml` files in a folder: the default, so a fresh install needs no mail server.
    File {
        transport: AsyncFileTransport<Tokio1Executor>,
        dir: PathBuf,
    },
    /// Kept in memory, for tests that do not need a wire protocol.
    Memory(MemoryOutbox),
}

/// A message as a memory mailer keeps it.
#[derive(Clone, Debug)]
pub struct SentEmail {
    pub to: String,
    pub subject: String,
    pub raw: String,
}

/// Emails "sent" through [`Mailer::Memory`].
#[derive(Clone, Default)]
pub struct MemoryOutbox(Arc<Mutex<Vec<SentEmail>>>);

impl MemoryOutbox {
    pub fn messages(&self) -> Vec<SentEmail> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

/// Why a message could not be sent, and whether trying again could help.
#[derive(Debug)]
pub struct SendError {
    pub message: String,
    pub permanent: bool,
}

impl Mailer {
    /// The transport the settings ask for: SMTP when `smtp_url` is set, files otherwise.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Mailer> {
        match &settings.smtp_url {
            Some(url) => {
                let smtp = smtp::Smtp::from_url(
                    url.expose_secret(),
                    Duration::from_secs(settings.smtp_timeout_s),
                    // One connection kept for each message the worker has in flight.
                    worker::CONCURRENCY,
                )
                .map_err(|e| anyhow::anyhow!("config key `smtp_url`: {e}"))?;
                Ok(Mailer::Smtp(Arc::new(smtp)))
            }
            None => {
                let dir = settings.data_dir.join("outbox");
                crate::files::private_dir(&dir)?;
                Ok(Mailer::File {
                    transport: AsyncFileTransport::new(&dir),
                    dir,
                })
            }
        }
    }

    /// Emails the outbox worker claims at once, when every one of them must be sent (or have
    /// failed) and recorded within `lease`, or another worker would send it again. Through
    /// SMTP a wave of `CONCURRENCY` may each take the whole `smtp_timeout_s`: as many waves as
    /// fit in the lease with two to spare (at least one; the settings make the lease longer
    /// than two exchanges). A folder on a local disk writes a thousand in well under a second,
    /// and each claim costs a write transaction, which at a campaign peak waits in line with
    /// the signatures.
    pub fn round_size(&self, lease: Duration) -> i64 {
        match self {
            Mailer::Smtp(smtp) => {
                // The last wave of a claim starts once the sends still running from the claim
                // before have ended (one exchange) and its own waves ahead have: one exchange
                // of the lease is left as margin for recording it.
                let exchange = smtp.timeout().as_millis().max(1);
                let waves = (lease.as_millis() / exchange).saturating_sub(2).clamp(1, 4);
                i64::try_from(waves).unwrap_or(1) * worker::CONCURRENCY as i64
            }
            Mailer::File { .. } | Mailer::Memory(_) => 1024,
        }
    }

    /// The longest one send may take: one SMTP exchange (`smtp_timeout_s`); 10 s to write a file.
    pub fn deadline(&self) -> Duration {
        match self {
            Mailer::Smtp(smtp) => smtp.timeout(),
            Mailer::File { .. } | Mailer::Memory(_) => Duration::from_secs(10),
        }
    }

    /// Where emails go, for the start-up banner.
    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp(smtp) => format!("SMTP server {}", smtp.shown),
            Mailer::File { dir, .. } => format!(".eml files in {}", dir.display()),
            Mailer::Memory(_) => "memory".to_string(),
        }
    }

    /// Sends one queued job as a multipart (plain text and HTML) message; with `unsubscribe`,
    /// the `List-Unsubscribe` and `List-Unsubscribe-Post` headers name that link.
    pub async fn send(
        &self,
        from: &Mailbox,
        job: &NewEmail,
        unsubscribe: Option<&str>,
    ) -> Result<String, SendError> {
        let to: Mailbox = job.recipient.parse().map_err(|e| SendError {
            message: format!("recipient address refused: {e}"),
            permanent: true,
        })?;
        let mut builder = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(&job.subject);
        if let Some(url) = unsubscribe {
            builder = builder
                .header(ListUnsubscribe(url.to_string()))
                .header(ListUnsubscribePost);
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(
                job.body_text.clone(),
                job.body_html.clone(),
            ))
            .map_err(|e| SendError {
                message: format!("message could not be built: {e}"),
                permanent: true,
            })?;
        match self {
            Mailer::Smtp(smtp) => smtp
                .send(&message)
                .await
                .map(|()| format!("to the relay {}", smtp.shown)),
            Mailer::File { transport, dir } => {
                // A disk that stalls holds one place of the worker for this long at most.
                match tokio::time::timeout(self.deadline(), transport.send(message)).await {
                    Ok(sent) => sent
                        .map(|id| format!("to {}", dir.join(format!("{id}.eml")).display()))
                        .map_err(|e| SendError {
                            message: e.to_string(),
                            permanent: false,
                        }),
                    Err(_) => Err(SendError {
                        message: "writing the email file timed out".into(),
                        permanent: false,
                    }),
                }
            }
            Mailer::Memory(outbox) => {
                let raw = String::from_utf8_lossy(&message.formatted()).into_owned();
                if let Ok(mut messages) = outbox.0.lock() {
                    messages.push(SentEmail {
                        to: job.recipient.clone(),
                        subject: job.subject.clone(),
                        raw,
                    });
                }
                Ok("to memory".to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn mailer(smtp_url: &str) -> anyhow::Result<Mailer> {
        let env: BTreeMap<String, String> = [
            ("UNDERSIGNED_SMTP_URL".to_string(), smtp_url.to_string()),
            (
                "UNDERSIGNED_DATA_DIR".to_string(),
                "/nonexistent".to_string(),
            ),
        ]
        .into();
        Mailer::from_settings(&Settings::load_from(None, &env)?)
    }

    #[tokio::test]
    async fn plain_starttls_and_tls_smtp_urls_build_a_transport_without_leaking_passwords() {
        for url in [
            "smtp://localhost:25",
            "smtp://user:s3cret@mail.example.org:587?tls=required",
            "smtps://user:s3cret@mail.example.org:465",
        ] {
            let m = mailer(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert!(matches!(m, Mailer::Smtp { .. }));
            assert!(!m.describe().contains("s3cret"), "{}", m.describe());
        }
        assert_eq!(
            mailer("smtps://user:s3cret@mail.example.org:465")
                .unwrap()
                .describe(),
            "SMTP server smtps://mail.example.org:465"
        );
    }

    #[tokio::test]
    async fn an_smtp_round_ends_within_its_lease_and_a_folder_takes_more_at_once() {
        let smtp = mailer("smtp://localhost:25").unwrap();
        let minutes = |m: u64| Duration::from_secs(60 * m);
        // Two waves of 32 for the default two minutes (each wave at most 30 s, two spare).
        assert_eq!(smtp.round_size(minutes(2)), 64);
        assert_eq!(smtp.round_size(Duration::from_secs(61)), 32);
        assert_eq!(smtp.round_size(Duration::from_secs(5)), 32);
        assert_eq!(smtp.round_size(minutes(60)), 128);
        let folder = Mailer::Memory(MemoryOutbox::default());
        assert_eq!(folder.round_size(minutes(2)), 1024);
    }
}
