//! SMTP with a deadline on the whole exchange, and a pool that never reuses a connection a
//! deadline cut short.
//!
//! lettre's async transport bounds only the opening of a connection (lettre issue #1027): a
//! relay that accepts and then stays silent holds a send forever. Cutting the send short from
//! outside is not enough with lettre's own pool either, which would take the half-used
//! connection back (its `Drop` recycles it) and hand it to the next message, mid-conversation.
//! So connections are lettre's, and the pool is ours: one is parked only after a message went
//! through on it, and a send that errs or runs out of time drops its connection.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;

use super::SendError;

/// A parked connection older than this is closed rather than reused: relays drop idle clients
/// after a minute or so, and a test of a dead connection costs a round trip.
const IDLE: Duration = Duration::from_secs(50);

/// Where and how to reach the relay, from `smtp_url`.
struct Server {
    host: String,
    port: u16,
    tls: Tls,
    credentials: Option<Credentials>,
    hello: ClientId,
}

/// An SMTP relay with its connections.
pub struct Smtp {
    server: Server,
    /// The longest one message's whole exchange may take.
    timeout: Duration,
    /// Connections free for the next message, with when each was parked.
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
    /// Connections kept at most: one per message in flight.
    keep: usize,
    /// `scheme://host:port`, for the start-up banner (never the password).
    pub shown: String,
}

impl Smtp {
    /// The relay `url` names (`smtp://host:port`, `smtp://user:pass@host:587?tls=required`,
    /// `?tls=opportunistic`, `smtps://…:465`; a path names the EHLO domain), each message's
    /// whole exchange bounded by `timeout`, at most `keep` connections kept between messages.
    pub fn from_url(url: &str, timeout: Duration, keep: usize) -> Result<Smtp, String> {
        let url = url::Url::parse(url).map_err(|e| e.to_string())?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let tls_mode = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let params = || TlsParameters::new(host.clone()).map_err(|e| e.to_string());
        let (tls, default_port) = match (url.scheme(), tls_mode.as_deref()) {
            ("smtp", None) => (Tls::None, 25),
            ("smtp", Some("required")) => (Tls::Required(params()?), 587),
            ("smtp", Some("opportunistic")) => (Tls::Opportunistic(params()?), 587),
            ("smtps", _) => (Tls::Wrapper(params()?), 465),
            (scheme, tls) => {
                return Err(format!(
                    "unknown scheme {scheme:?} or tls={}: use smtp://, smtp://…?tls=required, \
                     smtp://…?tls=opportunistic or smtps://",
                    tls.unwrap_or("")
                ));
            }
        };
        let port = url.port().unwrap_or(default_port);
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|e| e.to_string())
        };
        let credentials = match url.password() {
            Some(password) => Some(Credentials::new(decode(url.username())?, decode(password)?)),
            None => None,
        };
        let hello = match url.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_string()),
        };
        Ok(Smtp {
            shown: format!("{}://{host}:{port}", url.scheme()),
            server: Server {
                host,
                port,
                tls,
                credentials,
                hello,
            },
            timeout,
            idle: Mutex::new(Vec::new()),
            keep,
        })
    }

    /// The longest one message's exchange may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends one message, its whole exchange (a connection's opening, greeting, TLS and
    /// authentication included) bounded by the timeout. A send that fails or runs out of time
    /// takes its connection with it.
    pub async fn send(&self, message: &lettre::Message) -> Result<(), SendError> {
        let envelope = message.envelope().clone();
        let bytes = message.formatted();
        match tokio::time::timeout(self.timeout, self.exchange(&envelope, &bytes)).await {
            Ok(done) => done,
            Err(_) => Err(SendError {
                message: format!(
                    "the SMTP server did not finish within {} s (smtp_timeout_s)",
                    self.timeout.as_secs()
                ),
                permanent: false,
            }),
        }
    }

    async fn exchange(
        &self,
        envelope: &lettre::address::Envelope,
        bytes: &[u8],
    ) -> Result<(), SendError> {
        let mut conn = self.connection().await?;
        match conn.send(envelope, bytes).await {
            Ok(_) => {
                self.park(conn);
                Ok(())
            }
            // Dropped, not parked: whatever state the conversation is in goes with it.
            Err(e) => Err(SendError {
                permanent: e.is_permanent(),
                message: e.to_string(),
            }),
        }
    }

    /// A parked connection that still answers, or a new one.
    async fn connection(&self) -> Result<AsyncSmtpConnection, SendError> {
        // A parked connection whose relay went away without a word (a NAT forgot it) must not
        // eat the whole exchange's time: it gets a few seconds to answer NOOP.
        let test = (self.timeout / 4).min(Duration::from_secs(5));
        while let Some(mut conn) = self.unpark() {
            if let Ok(true) = tokio::time::timeout(test, conn.test_connected()).await {
                return Ok(conn);
            }
        }
        self.connect().await.map_err(|e| SendError {
            permanent: e.is_permanent(),
            message: e.to_string(),
        })
    }

    fn unpark(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some((conn, parked)) = idle.pop() {
            if parked.elapsed() < IDLE {
                return Some(conn);
            }
        }
        None
    }

    fn park(&self, conn: AsyncSmtpConnection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        // The oldest at the bottom are closed once too old, not left open until reached.
        idle.retain(|(_, parked)| parked.elapsed() < IDLE);
        if idle.len() < self.keep {
            idle.push((conn, Instant::now()));
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, lettre::transport::smtp::Error> {
        let s = &self.server;
        let wrapper = match &s.tls {
            Tls::Wrapper(params) => Some(params.clone()),
            _ => None,
        };
        let mut conn = AsyncSmtpConnection::connect_tokio1(
            (s.host.as_str(), s.port),
            Some(self.timeout),
            &s.hello,
            wrapper,
            None,
        )
        .await?;
        match &s.tls {
            Tls::Opportunistic(params) if conn.can_starttls() => {
                conn.starttls(params.clone(), &s.hello).await?;
            }
            Tls::Required(params) => conn.starttls(params.clone(), &s.hello).await?,
            _ => {}
        }
        if let Some(credentials) = &s.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await?;
        }
        Ok(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_the_ports_and_tls_lettre_gave_them_and_never_show_a_password() {
        let t = Duration::from_secs(30);
        for (url, shown) in [
            ("smtp://localhost", "smtp://localhost:25"),
            ("smtp://localhost:2525", "smtp://localhost:2525"),
            (
                "smtp://u:s3cret@mail.example.org?tls=required",
                "smtp://mail.example.org:587",
            ),
            (
                "smtps://u:s3cret@mail.example.org",
                "smtps://mail.example.org:465",
            ),
        ] {
            let smtp = Smtp::from_url(url, t, 4).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(smtp.shown, shown);
        }
        let s = Smtp::from_url("smtp://u:p%40ss@h:587?tls=opportunistic", t, 4).unwrap();
        assert!(matches!(s.server.tls, Tls::Opportunistic(_)));
        assert!(s.server.credentials.is_some());
        assert!(Smtp::from_url("smtp://h?tls=sometimes", t, 4).is_err());
        assert!(Smtp::from_url("http://h", t, 4).is_err());
    }
}
