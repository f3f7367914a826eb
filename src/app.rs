//! Builds the application: database, mailer, worker, and the route table in one place.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{DefaultHeaders, ErrorHandlers, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tokio::sync::Notify;
use url::Url;

use actix_session::config::PersistentSession;
use actix_session::{SessionMiddleware, storage::CookieSessionStore};

use crate::config::Settings;
use crate::db::{self, Pool};
use crate::email::Mailer;
use crate::email::worker::Worker;
use crate::ratelimit::SignLimiter;
use crate::routes::error::AppError;
use crate::routes::{self, AppState};

/// A built, bound, not yet running application.
pub struct Application {
    port: u16,
    base_url: Url,
    server: Server,
    worker: Worker,
    sequencer: crate::services::sequencer::Sequencer,
    pool: Pool,
    state: web::Data<AppState>,
    mailer_description: String,
}

// No inline scripts or styles, nothing from other origins.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

impl Application {
    /// Builds with the mailer the settings ask for.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let mailer = Mailer::from_settings(&settings)?;
        Self::build_with_mailer(settings, mailer).await
    }

    /// Creates the data dir and database if missing, runs migrations, binds the listener.
    pub async fn build_with_mailer(
        settings: Settings,
        mailer: Mailer,
    ) -> anyhow::Result<Application> {
        crate::files::private_dir(&settings.data_dir).context("config key `data_dir`")?;
        let pool = db::connect(&settings.database_url, settings.db_pool_size)?;
        let (keys, sealed) = {
            let settings = settings.clone();
            let pool = pool.clone();
            web::block(
                move || -> anyhow::Result<(crate::keys::Keys, crate::usecases::keys::Sealed)> {
                    let mut conn = pool.get().context("cannot open the database")?;
                    crate::usecases::keys::ready(&settings, &mut conn)
                },
            )
            .await??
        };
        let keys = Arc::new(keys);
        if sealed != crate::usecases::keys::Sealed::default() {
            tracing::info!(
                signatures = sealed.signatures,
                links = sealed.links,
                emails = sealed.emails,
                "personal data stored in clear by an older version is now sealed"
            );
        }

        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let addr = listener.local_addr()?;
        let base_url = match &settings.base_url {
            Some(url) => url.clone(),
            None => {
                let host = match addr.ip() {
                    ip if ip.is_unspecified() => "localhost".to_string(),
                    std::net::IpAddr::V6(v6) => format!("[{v6}]"),
                    ip => ip.to_string(),
                };
                Url::parse(&format!("http://{host}:{}", addr.port()))?
            }
        };

        let wake = Arc::new(Notify::new());
        let links = crate::email::Links {
            base_url: base_url.clone(),
            keys: keys.clone(),
        };
        let worker = Worker {
            links: links.clone(),
            pool: pool.clone(),
            mailer: mailer.clone(),
            // The organisation's name is what a signer's mail program shows as the sender.
            from: match &settings.organization_name {
                Some(name) => lettre::message::Mailbox::new(
                    Some(name.clone()),
                    settings.mail_from.email.clone(),
                ),
                None => settings.mail_from.clone(),
            },
            retry_base: Duration::from_millis(settings.email_retry_base_ms),
            poll: Duration::from_millis(settings.email_poll_ms),
            lease: Duration::from_millis(settings.email_lease_ms),
            wake: wake.clone(),
        };
        let email_caps = crate::ratelimit::EmailCaps::new(
            settings.confirmation_emails_per_domain_per_hour,
            settings.confirmation_emails_per_hour,
        );
        let log_seed =
            crate::secrets::log_seed(&settings, &keys).context("config key `log_key_file`")?;
        let log = Arc::new(crate::log::LogSigner::new(&log_seed, &base_url));
        let mut witness_names = std::collections::HashSet::new();
        for k in &settings.witness_keys {
            let name = k.split('+').next().unwrap_or_default();
            if name == log.key().vkey().split('+').next().unwrap_or_default() {
                anyhow::bail!(
                    "config key `witness_keys`: {k} is named like this site's own log key; a \
                     witness must be someone else"
                );
            }
            if !witness_names.insert(name.to_string()) {
                anyhow::bail!("config key `witness_keys`: two witnesses are named {name}");
            }
        }
        let sequencer = crate::services::sequencer::Sequencer {
            pool: pool.clone(),
            signer: log.clone(),
            keys: keys.clone(),
            interval: Duration::from_millis(settings.log_interval_ms),
            holder: crate::domain::ConfirmationToken::generate()
                .as_str()
                .to_string(),
        };
        let refresh = Duration::from_millis(settings.public_refresh_ms);
        let metrics = crate::metrics::Metrics::default();
        let signer = crate::services::sign_writer::SignWriter::start(
            pool.clone(),
            metrics.sign_batches.clone(),
        )
        .context("cannot start the sign writer")?;
        let checkpoints = db::Checkpoints::start(&settings.database_url, pool.clone())
            .context("cannot start the write-ahead log's checkpoints")?;
        let state = web::Data::new(AppState {
            _checkpoints: checkpoints,
            log,
            witnesses: settings
                .witness_keys
                .iter()
                .filter_map(|k| crate::log::note::Verifier::parse(k).ok())
                .collect(),
            pool: pool.clone(),
            limiter: SignLimiter::new(settings.sign_rate_per_minute, settings.sign_rate_per_hour),
            login_limiter: crate::ratelimit::LoginLimiter::default(),
            reset_limiter: crate::ratelimit::LoginLimiter::default(),
            hasher: crate::services::password::Hasher::new(
                settings
                    .password_hash_concurrency
                    .map_or_else(crate::services::password::Hasher::default_permits, |n| {
                        n as usize
                    }),
            ),
            settings,
            base_url: base_url.clone(),
            wake_mailer: wake,
            networks: crate::services::network::NetworkHasher::new(keys.clone()),
            email_caps,
            keys,
            links,
            live: crate::live::Live::new(refresh, metrics.state_reads.clone()),
            metrics,
            signer,
            cards: Default::default(),
            card_renders: tokio::sync::Semaphore::new(2),
            qr_codes: Default::default(),
            logo: std::sync::atomic::AtomicBool::new(
                db::run(&pool, db::site::has_logo).await.unwrap_or(false),
            ),
        });
        let app_state = state.clone();
        let hsts = state.https();
        // Organizer sessions: a private (encrypted and signed) cookie holding only random values,
        // HttpOnly, SameSite=Strict, Secure whenever the site is served over https. The server
        // decides whether a session is alive (see `auth`); the cookie's own age is a ceiling.
        let session_key = actix_web::cookie::Key::from(state.keys.session_cookie());
        let session_ttl =
            actix_web::cookie::time::Duration::hours(state.settings.session_max_hours.into());
        let server = HttpServer::new(move || {
            let mut headers = DefaultHeaders::new()
                .add((header::CONTENT_SECURITY_POLICY, CSP))
                .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                // Confirmation URLs carry tokens: never leak them to a shared-to site.
                .add((header::REFERRER_POLICY, "no-referrer"))
                .add(("Cross-Origin-Opener-Policy", "same-origin"))
                .add((
                    "Permissions-Policy",
                    "camera=(), microphone=(), geolocation=(), interest-cohort=()",
                ));
            if hsts {
                headers = headers.add((
                    header::STRICT_TRANSPORT_SECURITY,
                    "max-age=31536000; includeSubDomains",
                ));
            }
            let sessions =
                SessionMiddleware::builder(CookieSessionStore::default(), session_key.clone())
                    // Over HTTPS the `__Host-` prefix: the browser keeps it only if it is
                    // Secure, for this host alone (no Domain) and the whole site (Path=/),
                    // so no subdomain or plain-HTTP page can plant or shadow it.
                    .cookie_name(if hsts {
                        "__Host-undersigned_session".to_string()
                    } else {
                        "undersigned_session".to_string()
                    })
                    .cookie_secure(hsts)
                    .cookie_http_only(true)
                    .cookie_same_site(actix_web::cookie::SameSite::Strict)
                    .session_lifecycle(PersistentSession::default().session_ttl(session_ttl))
                    .build();
            App::new()
                .wrap(sessions)
                .wrap(ErrorHandlers::new().default_handler(routes::middleware::render_error_page))
                .wrap(headers)
                .wrap(from_fn(routes::middleware::route_rules))
                .wrap(from_fn(routes::middleware::log_requests))
                // What is not sent precompressed (cached pages, static files) is compressed
                // here, for clients that ask.
                .wrap(actix_web::middleware::Compress::default())
                .app_data(state.clone())
                .app_data(
                    web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()),
                )
                .app_data(
                    web::FormConfig::default()
                        // A 50,000-character text in Armenian or Russian, URL-encoded.
                        .limit(640 * 1024)
                        .error_handler(|e, _| {
                            match e {
                                actix_web::error::UrlencodedError::Overflow { .. } => {
                                    AppError::TooLarge
                                }
                                _ => AppError::BadRequest("error.bad_request.message"),
                            }
                            .into()
                        }),
                )
                .app_data(
                    web::QueryConfig::default().error_handler(|_, _| {
                        AppError::BadRequest("error.bad_request.message").into()
                    }),
                )
                .service(routes::public::home::home)
                .service(routes::public::petition::show)
                .service(routes::public::card::card)
                .service(routes::public::share::qr_svg)
                .service(routes::public::share::qr_png)
                .service(routes::public::share::poster)
                .service(routes::public::share::embed)
                .service(routes::signer::sign::sign)
                .service(routes::signer::sign::sign_page)
                .service(routes::signer::sign::signed)
                .service(routes::signer::confirm::show)
                .service(routes::signer::confirm::confirm)
                .service(routes::signer::withdraw::show)
                .service(routes::signer::withdraw::withdraw)
                .service(routes::signer::withdraw::data)
                .service(routes::api::petitions::openapi_json)
                .service(routes::api::petitions::list)
                .service(routes::api::petitions::detail)
                .service(routes::api::log::log_key)
                .service(routes::api::log::checkpoint)
                .service(
                    web::resource("/api/v1/petitions/{slug}/log/cosignatures")
                        .app_data(web::PayloadConfig::new(routes::api::log::MAX_COSIGNED))
                        .route(web::post().to(routes::api::log::cosign)),
                )
                .service(routes::api::log::summary)
                .service(routes::api::log::entries)
                .service(routes::api::log::inclusion)
                .service(routes::api::log::consistency)
                .service(routes::signer::receipt::page)
                .service(routes::signer::receipt::api)
                .service(routes::public::health::healthz)
                .service(routes::api::metrics::metrics)
                .service(routes::public::pages::privacy)
                .service(routes::public::pages::set_lang)
                .service(routes::organizer::sign_in::login_form)
                .service(routes::organizer::sign_in::login)
                .service(routes::organizer::sign_in::logout)
                .service(routes::organizer::sign_in::code_form)
                .service(routes::organizer::sign_in::code)
                .service(routes::organizer::reset::request_form)
                .service(routes::organizer::reset::request)
                .service(routes::organizer::reset::reset_form)
                .service(routes::organizer::reset::reset)
                .service(routes::organizer::sign_in::setup_form)
                .service(routes::organizer::sign_in::setup)
                .service(routes::dashboard_scope())
                .service(routes::public::images::show)
                .service(routes::public::images::logo)
                .service(routes::signer::unsubscribe::unsubscribe_form)
                .service(routes::signer::unsubscribe::unsubscribe)
                .service(routes::public::assets::asset)
                .default_service(web::to(routes::public::pages::not_found))
        })
        .listen(listener)?
        .shutdown_timeout(10)
        .run();

        Ok(Application {
            port: addr.port(),
            base_url,
            server,
            worker,
            sequencer,
            pool,
            state: app_state,
            mailer_description: mailer.describe(),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// What every handler reaches (tests mark what they change behind the app's back).
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// The keys derived from the master key (tests open sealed rows with them).
    pub fn keys(&self) -> Arc<crate::keys::Keys> {
        self.state.keys.clone()
    }

    pub fn mailer_description(&self) -> &str {
        &self.mailer_description
    }

    /// Serves until the server stops, with the email worker and limiter pruning beside it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (stop_worker, stop) = tokio::sync::watch::channel(false);
        // Sends under way get their own deadline to finish once the server stops.
        let finish = self.worker.mailer.deadline() + Duration::from_secs(5);
        let mut worker = tokio::spawn(self.worker.run(stop));
        let sequencer = tokio::spawn(self.sequencer.run());
        let state = self.state.clone();
        let pruner = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(600));
            for round in 0u64.. {
                every.tick().await;
                state.limiter.prune();
                state.login_limiter.prune();
                state.reset_limiter.prune();
                // Hourly, starting now: network hashes past their days, expired sessions, and
                // whether another instance changed the logo.
                if round % 6 == 0 {
                    if let Ok(logo) = db::run(&state.pool, db::site::has_logo).await {
                        state.logo.store(logo, std::sync::atomic::Ordering::Relaxed);
                    }
                    let lifetime = state.session_lifetime();
                    let swept = crate::usecases::run(&state.pool, move |c| {
                        crate::usecases::retention::sweep(c, db::now(), lifetime)
                    })
                    .await;
                    match swept {
                        Ok(swept) => tracing::info!(?swept, "retention sweep"),
                        Err(e) => tracing::warn!(error = %e, "retention sweep failed"),
                    }
                    // What `retention_days` says is due: hourly rather than daily, so pending
                    // signatures go soon after their links expire.
                    let days = state.settings.retention_days;
                    let erased = crate::usecases::run(&state.pool, move |c| {
                        crate::usecases::retention::run(c, db::now(), days, false)
                    })
                    .await;
                    match erased {
                        Ok(erased) => tracing::info!(?erased, "retention run"),
                        Err(e) => tracing::warn!(error = %e, "retention run failed"),
                    }
                }
            }
        });
        let result = self.server.await;
        let _ = stop_worker.send(true);
        if tokio::time::timeout(finish, &mut worker).await.is_err() {
            tracing::warn!("email worker still sending at shutdown: stopped");
            worker.abort();
        }
        sequencer.abort();
        pruner.abort();
        result
    }
}
