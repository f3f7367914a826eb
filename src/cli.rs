//! The `undersigned` command line.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::app::Application;
use crate::config::Settings;
use crate::db::{self, DbConnection, petitions::NewPetition};
use crate::domain::{GoalLadder, PetitionStatus, Slug};

#[derive(Debug, Parser)]
#[command(
    name = "undersigned",
    version,
    about = "Self-hosted petitions with email-confirmed signatures"
)]
pub struct Cli {
    /// TOML config file (also UNDERSIGNED_CONFIG)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the database if missing, migrate, serve the site and send emails (the default)
    Serve,
    /// Run pending database migrations and exit
    Migrate,
    /// Create and list petitions
    Petition {
        #[command(subcommand)]
        command: PetitionCommand,
    },
    /// Manage organizer accounts
    Organizer {
        #[command(subcommand)]
        command: OrganizerCommand,
    },
    /// Write the confirmed signatures of a petition
    Export {
        /// The petition's slug
        #[arg(long)]
        petition: String,
        /// Output format (csv)
        #[arg(long, default_value = "csv")]
        format: String,
        /// File to write; standard output when absent
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Write a petition's signed delivery package (a ZIP officials can check offline)
    #[command(name = "delivery-package")]
    DeliveryPackage {
        /// The petition's slug
        #[arg(long)]
        petition: String,
        /// The ZIP file to write
        #[arg(long)]
        output: PathBuf,
        /// Include the signers' email addresses in signatures.csv
        #[arg(long)]
        emails: bool,
    },
    /// Check a delivery package offline; exit 0 only if every check holds
    Verify {
        /// The package's ZIP file
        file: PathBuf,
        /// The verifier key the site publishes (or a file holding it), got apart from the
        /// package; without it the package is not verified (exit code 2), unless
        /// --trust-package-key
        #[arg(long)]
        vkey: Option<String>,
        /// Accept the key the package carries (it is printed): only once you compared it with
        /// the one the site publishes
        #[arg(long)]
        trust_package_key: bool,
    },
    /// Witness a petition's log: check that it only grew since last time, and cosign it
    Witness {
        /// The petition's public address, e.g. https://petitions.example.org/petitions/osce
        petition_url: String,
        /// Where this witness keeps the last checkpoint it saw (created on first use)
        #[arg(long)]
        state: PathBuf,
        /// This witness's signing key: 64 hex digits (created on first use)
        #[arg(long)]
        key_file: PathBuf,
        /// This witness's name (its key's name), e.g. the witness's own host
        #[arg(long)]
        name: String,
        /// The site's verifier key; without it, the key the site publishes is trusted on first use
        #[arg(long)]
        vkey: Option<String>,
        /// Send the cosignature to the site (which keeps it if it trusts this witness)
        #[arg(long)]
        submit: bool,
        /// The first round: create the state file (without it a missing state file is an
        /// error, so a lost state never silently restarts trust)
        #[arg(long)]
        init: bool,
    },
    /// Load two demonstration petitions with synthetic signatures
    Demo,
    /// Copy every petition, signature and queued email into a new, empty database
    #[command(name = "migrate-data")]
    MigrateData {
        /// Database to read, e.g. sqlite://./data/undersigned.db
        #[arg(long)]
        from: String,
        /// Empty database to write, e.g. postgres://user:password@host/undersigned
        #[arg(long)]
        to: String,
    },
    /// Erase what the retention settings say is due (the server also does it hourly)
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Re-seal every signer's personal data under the current master key, after a rotation:
    /// the old key goes in previous_secret_key, the new one in secret_key or key_file. Run it
    /// with the server stopped.
    #[command(name = "rotate-key")]
    RotateKey {
        /// Save the petition logs' signing key (derived from the old master key) in FILE, to
        /// set as log_key_file: a log must keep its key. Needed when log_key_file is unset
        /// and a petition's log has started.
        #[arg(long, value_name = "FILE")]
        write_log_key: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Erase now: personal data of signatures retention_days after their petition closed or
    /// was delivered, unconfirmed signatures whose links expired, old email contents
    Run {
        /// Print what would be erased, and erase nothing
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrganizerCommand {
    /// Create an organizer account (asks for the password unless --password-stdin)
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Admins manage every petition and every account
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of standard input
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove an organizer's second factors and recovery codes and end their sessions, for
    /// one who lost both their authenticator app and their recovery codes (they enrol again)
    ResetFactors {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PetitionCommand {
    /// Create an open petition and print its public URL
    Create {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        title: String,
        /// A signature goal; repeat for a ladder (--goal 1000 --goal 5500)
        #[arg(long = "goal", required = true)]
        goals: Vec<i64>,
        /// Markdown file with the petition text
        #[arg(long)]
        body_file: Option<PathBuf>,
        /// Who the petition is addressed to; repeat for several
        #[arg(long = "target")]
        targets: Vec<String>,
        /// Email of the organizer who owns it
        #[arg(long)]
        owner: Option<String>,
        /// Name shown as "Started by"
        #[arg(long)]
        started_by: Option<String>,
        /// One-line summary for the home page
        #[arg(long, default_value = "")]
        summary: String,
        /// The language the text is written in: hy, en, fr or ru
        #[arg(long, default_value = "en")]
        lang: String,
    },
    /// Add or replace the petition's version in another language
    Translate {
        #[arg(long)]
        slug: String,
        /// hy, en, fr or ru (not the original's language)
        #[arg(long)]
        lang: String,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        summary: String,
        /// Markdown file with the translated text
        #[arg(long)]
        body_file: Option<PathBuf>,
        /// The addressees in this language, in the original's order; repeat for several
        /// (none given: the original's)
        #[arg(long = "target")]
        targets: Vec<String>,
    },
    /// One line per petition: slug, status, confirmed count, current goal
    List,
    /// Stop accepting signatures
    Close { slug: String },
    /// Accept signatures again
    Reopen { slug: String },
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // Checking a package needs no configuration, database or key: an official runs it.
    if let Some(Command::Verify {
        file,
        vkey,
        trust_package_key,
    }) = &cli.command
    {
        return verify(file, vkey.as_deref(), *trust_package_key);
    }
    if let Some(Command::Witness {
        petition_url,
        state,
        key_file,
        name,
        vkey,
        submit,
        init,
    }) = &cli.command
    {
        return witness(
            petition_url,
            state,
            key_file,
            name,
            vkey.as_deref(),
            *submit,
            *init,
        );
    }
    let settings = Settings::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            open_with_keys(&settings)?;
            println!("the database is up to date");
            Ok(())
        }
        Command::Petition { command } => petition(&settings, command),
        Command::Organizer {
            command:
                OrganizerCommand::Add {
                    email,
                    name,
                    admin,
                    password_stdin,
                },
        } => add_organizer(&settings, &email, &name, admin, password_stdin),
        Command::Organizer {
            command: OrganizerCommand::ResetFactors { email },
        } => {
            let mut conn = open(&settings)?;
            let account = db::organizers::normalise_email(&email);
            if !crate::usecases::factors::reset(&mut conn, &account, db::now())? {
                bail!("no organizer has the email {account}");
            }
            println!("second factors of {account} removed; their sessions ended");
            Ok(())
        }
        Command::Export {
            petition,
            format,
            output,
        } => export(&settings, &petition, &format, output),
        Command::MigrateData { from, to } => migrate_data(&settings, &from, &to),
        Command::Retention {
            command: RetentionCommand::Run { dry_run },
        } => {
            let mut conn = open(&settings)?;
            let erased = crate::usecases::retention::run(
                &mut conn,
                db::now(),
                settings.retention_days,
                dry_run,
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            if dry_run {
                println!("would erase (dry run, nothing changed):");
            } else {
                println!("erased:");
            }
            println!("{erased}");
            Ok(())
        }
        Command::RotateKey { write_log_key } => rotate_key(&settings, write_log_key.as_deref()),
        Command::DeliveryPackage {
            petition,
            output,
            emails,
        } => delivery_package(&settings, &petition, &output, emails),
        Command::Verify {
            file,
            vkey,
            trust_package_key,
        } => verify(&file, vkey.as_deref(), trust_package_key),
        Command::Witness { .. } => unreachable!("handled before the configuration is read"),
        Command::Demo => {
            let (mut conn, keys) = open_with_keys(&settings)?;
            for line in crate::demo::load(&mut conn, &keys)? {
                println!("{line}");
            }
            Ok(())
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    let empty = db::run(app.pool(), |c| Ok(db::petitions::list(c)?.is_empty())).await?;
    let setup_link = first_run_setup_link(&app).await?;
    // Written without println!: a closed stdout (`serve | head -1`) must not stop the server.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "undersigned is listening on {}", app.base_url());
    let _ = writeln!(out, "emails go to {}", app.mailer_description());
    if app.mailer_description().starts_with(".eml files") {
        // Everything a signer is sent (links, and a data request's name, address, postcode
        // and comment) stays there in clear, outside the sealed database.
        let _ = writeln!(
            out,
            "for trying undersigned out only: the .eml files keep every email in clear, for \
             good; set smtp_url before running a campaign"
        );
        tracing::warn!("emails are kept in clear as .eml files: set smtp_url for a campaign");
    }
    if let Some(link) = setup_link {
        let _ = writeln!(
            out,
            "first run: create the administrator account at {link} (valid 24 hours, works once)"
        );
    }
    if empty {
        let _ = writeln!(
            out,
            "no petitions yet: load the demo with `undersigned demo` (or `cargo run --release -- demo`)"
        );
    }
    let _ = out.flush();
    drop(out);
    app.run_until_stopped().await?;
    Ok(())
}

/// While no admin exists, a one-time link that creates the first one.
async fn first_run_setup_link(app: &Application) -> anyhow::Result<Option<String>> {
    let token = crate::domain::ConfirmationToken::generate();
    let hash = token.hash();
    let now = db::now();
    let created = db::run(app.pool(), move |c| {
        if db::organizers::any_admin(c)? {
            return Ok(false);
        }
        db::organizers::create_setup_token(c, &hash, now, now + chrono::TimeDelta::hours(24))?;
        Ok(true)
    })
    .await?;
    let base = app.base_url().as_str().trim_end_matches('/');
    Ok(created.then(|| format!("{base}/setup/{}", token.as_str())))
}

/// A connection to a database made ready for these keys (`usecases::keys::prepare`), for one-shot
/// commands.
fn open_with_keys(
    settings: &Settings,
) -> anyhow::Result<(db::PooledConnection, crate::keys::Keys)> {
    crate::files::private_dir(&settings.data_dir).context("config key `data_dir`")?;
    let pool = db::connect(&settings.database_url, 1)?;
    let mut conn = pool.get().context("cannot open the database")?;
    let (keys, _) = crate::usecases::keys::ready(settings, &mut conn)?;
    Ok((conn, keys))
}

/// A migrated connection for commands that neither read nor write signers' data (petitions,
/// organizer accounts): they need no key, so none is loaded or made. A database an older
/// version left with data in clear is refused until a keyed start seals it.
fn open(settings: &Settings) -> anyhow::Result<db::PooledConnection> {
    crate::files::private_dir(&settings.data_dir).context("config key `data_dir`")?;
    let pool = db::connect(&settings.database_url, 1)?;
    let mut conn = pool.get().context("cannot open the database")?;
    db::migrate(&mut conn)?;
    crate::usecases::keys::seal_plaintext(&mut conn, None)?;
    Ok(conn)
}

fn petition(settings: &Settings, command: PetitionCommand) -> anyhow::Result<()> {
    let mut conn = open(settings)?;
    match command {
        PetitionCommand::Create {
            slug,
            title,
            goals,
            body_file,
            targets,
            owner,
            started_by,
            summary,
            lang,
        } => {
            let slug = Slug::parse(&slug).map_err(anyhow::Error::msg)?;
            let language = parse_lang(&lang)?;
            let goals = GoalLadder::parse(goals).map_err(anyhow::Error::msg)?;
            let text = petition_text(&title, &summary, body_file.as_deref(), &targets)?;
            let new = NewPetition {
                slug: slug.clone(),
                title: text.title,
                summary: text.summary,
                body_markdown: text.body_markdown,
                started_by: started_by.unwrap_or_default(),
                // Organizer addresses are stored in one spelling; so must the owner be, to match.
                owner_email: owner.map(|o| db::organizers::normalise_email(&o)),
                goals,
                targets: text.targets,
                created_at: db::now(),
                closes_at: None,
                language,
            };
            // A running server sees it within its refresh interval (`public_refresh_ms`).
            crate::usecases::petitions::create(&mut conn, None, &new)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .value
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "a petition with the slug {:?} already exists",
                        slug.as_str()
                    )
                })?;
            println!("{}", public_url(settings, slug.as_str()));
        }
        PetitionCommand::Translate {
            slug,
            lang,
            title,
            summary,
            body_file,
            targets,
        } => {
            let lang = parse_lang(&lang)?;
            let text = petition_text(&title, &summary, body_file.as_deref(), &targets)?;
            let petition = db::petitions::find_by_slug(&mut conn, &slug)?
                .ok_or_else(|| anyhow::anyhow!("no petition has the slug {slug:?}"))?;
            let translation = db::petitions::Translation { lang, text };
            let _seen_by_servers_in_time = crate::usecases::petitions::translate(
                &mut conn,
                None,
                petition.id,
                &translation,
                None,
                db::now(),
            )
            .map_err(|e| match e {
                crate::usecases::UseCaseError::Refused(_) => anyhow::anyhow!(
                    "{} is the original language of {slug:?}: edit the petition itself",
                    lang.code()
                ),
                e => anyhow::anyhow!("{e}"),
            })?;
            println!(
                "{}?lang={}",
                public_url(settings, petition.slug.as_str()),
                lang.code()
            );
        }
        PetitionCommand::List => list(&mut conn)?,
        PetitionCommand::Close { slug } => set_status(&mut conn, &slug, PetitionStatus::Closed)?,
        PetitionCommand::Reopen { slug } => set_status(&mut conn, &slug, PetitionStatus::Open)?,
    }
    Ok(())
}

/// One of the languages petitions are written in, from `--lang`.
fn parse_lang(code: &str) -> anyhow::Result<crate::i18n::Lang> {
    crate::i18n::Lang::from_exact(code.trim())
        .ok_or_else(|| anyhow::anyhow!("--lang must be one of hy, en, fr, ru (not {code:?})"))
}

/// A petition's text from the command line's options, checked as the dashboard checks it.
fn petition_text(
    title: &str,
    summary: &str,
    body_file: Option<&std::path::Path>,
    targets: &[String],
) -> anyhow::Result<crate::domain::PetitionText> {
    let body = match body_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        None => String::new(),
    };
    let en = crate::i18n::Tr::new(crate::i18n::Lang::En);
    crate::domain::PetitionText::parse(title, summary, &body, &targets.join("\n")).map_err(
        |errors| {
            let (field, key) = errors[0];
            let option = match field {
                "body" => "--body-file",
                "targets" => "--target",
                "summary" => "--summary",
                _ => "--title",
            };
            anyhow::anyhow!("{option}: {}", en.t(key))
        },
    )
}

fn add_organizer(
    settings: &Settings,
    email: &str,
    name: &str,
    admin: bool,
    password_stdin: bool,
) -> anyhow::Result<()> {
    let email = crate::domain::SignerEmail::parse(email)
        .map_err(|_| anyhow::anyhow!("--email {email:?} is not an email address"))?;
    let name = crate::domain::SignerName::parse(name)
        .map_err(|_| anyhow::anyhow!("--name must be 1 to 100 characters on one line"))?;
    let typed = if password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        rpassword::prompt_password("Password for the new organizer: ")
            .context("cannot read a password from the terminal; use --password-stdin")?
    };
    let password = crate::services::password::Password::parse(&typed).map_err(|key| match key {
        "password.common" => anyhow::anyhow!(
            "this password is among those crackers try first (a common or leaked password, a \
             word, a name, a keyboard pattern or a date): choose a passphrase of several words"
        ),
        _ => anyhow::anyhow!(
            "the password must be {} to 1024 characters",
            crate::services::password::Password::MIN_CHARS
        ),
    })?;
    let hash = crate::services::password::hash(&password)
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
    let mut conn = open(settings)?;
    let id = crate::usecases::organizers::add(
        &mut conn,
        &db::organizers::NewOrganizer {
            email: email.as_str(),
            name: name.as_str(),
            password_hash: &hash,
            is_admin: admin,
            created_at: db::now(),
        },
    )?
    .map_err(|email| anyhow::anyhow!("an organizer with the email {email} already exists"))?;
    let role = if admin { "admin" } else { "organizer" };
    println!(
        "{role} {} created (id {id})",
        db::organizers::normalise_email(email.as_str())
    );
    Ok(())
}

fn migrate_data(settings: &Settings, from: &str, to: &str) -> anyhow::Result<()> {
    // Both databases are made ready for this version under the site's key: the source's rows
    // are sealed if an older version stored them in clear (the source changes too: it is
    // what the site itself would do at its next start), and they travel sealed.
    let connect = |url: &str, which: &str| -> anyhow::Result<db::PooledConnection> {
        let pool = db::connect(url, 1).with_context(|| format!("--{which}"))?;
        pool.get()
            .with_context(|| format!("cannot open the --{which} database"))
    };
    if from == to {
        bail!("--from and --to name the same database");
    }
    let mut source = connect(from, "from")?;
    let mut target = connect(to, "to")?;
    let keys = crate::usecases::keys::site_keys(settings, &mut source)?;
    crate::usecases::keys::prepare(&mut source, &keys).context("--from")?;
    crate::usecases::keys::prepare(&mut target, &keys).context("--to")?;
    let counts = db::copy::copy_all(&mut source, &mut target)?;
    for (table, n) in counts {
        println!("{table}\t{n}");
    }
    println!("copied and verified; point database_url at the new database and restart");
    Ok(())
}

fn rotate_key(settings: &Settings, write_log_key: Option<&std::path::Path>) -> anyhow::Result<()> {
    let keys = crate::secrets::load(settings).context("config key `key_file`")?;
    let Some(previous) = keys.previous() else {
        bail!(
            "set previous_secret_key to the master key the data is sealed under now, and \
             secret_key (or key_file) to the new one"
        );
    };
    crate::files::private_dir(&settings.data_dir).context("config key `data_dir`")?;
    let pool = db::connect(&settings.database_url, 1)?;
    let mut conn = pool.get().context("cannot open the database")?;
    db::migrate(&mut conn)?;
    crate::usecases::keys::seal_plaintext(&mut conn, Some(previous))?;
    crate::usecases::keys::seal_clear_salts(&mut conn, previous)?;
    let logs_started = db::petitions::list(&mut conn)?
        .iter()
        .any(|p| p.log_started);
    if settings.log_key_file.is_none() && logs_started {
        let Some(path) = write_log_key else {
            bail!(
                "the petition logs are signed with a key derived from the master key, and a log \
                 must keep its key: run again with --write-log-key FILE, then set log_key_file \
                 to FILE"
            );
        };
        if path.exists() {
            bail!("{} exists already", path.display());
        }
        crate::secrets::write_private(path, &hex::encode(previous.log_signing_seed()))?;
        println!(
            "wrote the logs' signing key to {}; set log_key_file = {:?} before starting",
            path.display(),
            path.display().to_string()
        );
    }
    let rotated = crate::usecases::keys::rotate(&mut conn, &keys)?;
    println!(
        "re-sealed {} signatures, {} confirmation links and {} queued emails under the new key",
        rotated.signatures, rotated.links, rotated.emails
    );
    println!("keep previous_secret_key set until the links already mailed have expired");
    Ok(())
}

fn list(conn: &mut DbConnection) -> anyhow::Result<()> {
    let petitions = db::petitions::list(conn)?;
    let ids: Vec<i32> = petitions.iter().map(|p| p.id).collect();
    let goals = db::petitions::goals_of(conn, &ids)?;
    let now = db::now();
    for (p, g) in petitions.iter().zip(goals) {
        let count = p.signature_count;
        let total = p.total_count();
        println!(
            "{}\t{}\t{}\t{}",
            p.slug,
            p.public_status(now),
            count,
            g.current(total)
        );
    }
    Ok(())
}

fn set_status(conn: &mut DbConnection, slug: &str, status: PetitionStatus) -> anyhow::Result<()> {
    let Some(p) = db::petitions::find_by_slug(conn, slug)? else {
        bail!("no petition with the slug {slug:?}");
    };
    // A running server sees it within its refresh interval (`public_refresh_ms`).
    let _seen_by_servers_in_time =
        crate::usecases::petitions::set_status(conn, None, p.id, status, db::now())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{slug}\t{}", status.as_str());
    Ok(())
}

/// The site's public address as the server uses it: `base_url`, else `http://` + `bind`.
fn base_url(settings: &Settings) -> String {
    settings
        .base_url
        .as_ref()
        .map(|u| u.as_str().trim_end_matches('/').to_string())
        .unwrap_or_else(|| format!("http://{}", settings.bind))
}

fn public_url(settings: &Settings, slug: &str) -> String {
    format!("{}/petitions/{slug}", base_url(settings))
}

fn delivery_package(
    settings: &Settings,
    slug: &str,
    output: &std::path::Path,
    emails: bool,
) -> anyhow::Result<()> {
    let (mut conn, keys) = open_with_keys(settings)?;
    let seed = crate::secrets::log_seed(settings, &keys).context("config key `log_key_file`")?;
    let base = base_url(settings);
    let url = url::Url::parse(&base).context("config key `base_url`")?;
    let signer = crate::log::LogSigner::new(&seed, &url);
    let petition = db::petitions::find_by_slug(&mut conn, slug)?
        .with_context(|| format!("no petition with the slug {slug:?}"))?;
    // Written beside the output under a temporary name (0600: it holds personal data) and
    // renamed when complete, so a failure leaves any earlier file of that name untouched.
    let partial = output.with_file_name(format!(
        ".{}.partial",
        output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let file =
        private_file(&partial).with_context(|| format!("cannot create {}", output.display()))?;
    let site = crate::package::Site {
        base_url: &base,
        signer: &signer,
        keys: &keys,
    };
    let built = crate::package::build(
        &mut conn,
        &petition,
        &site,
        emails,
        None,
        std::io::BufWriter::new(file),
    );
    let made = match built {
        Ok(made) => made,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            bail!("cannot make the package: {e}");
        }
    };
    std::fs::rename(&partial, output)
        .with_context(|| format!("cannot write {}", output.display()))?;
    println!(
        "wrote {}: {} signatures ({} online, {} on paper){}, checkpoint of {} entries",
        output.display(),
        made.total,
        made.signatures,
        made.paper,
        if made.with_emails {
            ", with emails"
        } else {
            ""
        },
        made.size
    );
    println!("manifest SHA-256 {}", made.manifest_sha256);
    Ok(())
}

fn witness(
    petition_url: &str,
    state: &std::path::Path,
    key_file: &std::path::Path,
    name: &str,
    vkey: Option<&str>,
    submit: bool,
    init: bool,
) -> anyhow::Result<()> {
    use crate::log::witness;
    if !crate::log::note::valid_name(name) {
        bail!("--name must be one word: no spaces, '+' or control characters");
    }
    if !key_file.exists() {
        use rand::RngCore;
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        let mut f = private_file(key_file)
            .with_context(|| format!("cannot create {}", key_file.display()))?;
        writeln!(f, "{}", hex::encode(seed))?;
    }
    let seed: [u8; 32] = std::fs::read_to_string(key_file)
        .ok()
        .and_then(|t| hex::decode(t.trim()).ok())
        .and_then(|b| b.try_into().ok())
        .with_context(|| format!("{} must hold 64 hex digits", key_file.display()))?;
    let key = crate::log::note::LogKey::new(&seed, name);
    let seen = witness::load(state)?;
    match (&seen, init) {
        (None, false) => bail!(
            "no state file {}: pass --init for the first round (a witness that lost its \
             state must not trust the log afresh without saying so)",
            state.display()
        ),
        (Some(_), true) => bail!("--init, but {} exists already", state.display()),
        _ => {}
    }
    let (now_seen, done) = witness::witness(petition_url, seen.as_ref(), vkey, &key)?;
    witness::save(state, &now_seen)?;
    let total = done.total.as_deref().unwrap_or("?");
    match done.since {
        Some(old) => println!(
            "witnessed: {} entries (total {total}), consistent with the {old} seen before",
            done.size
        ),
        None => println!(
            "witnessed: {} entries (total {total}); first sight, key {}",
            done.size, now_seen.vkey
        ),
    }
    if submit {
        println!("{}", witness::submit(petition_url, &done.cosigned)?);
    } else {
        print!("{}", done.cosigned);
    }
    println!("this witness's key: {}", key.vkey());
    Ok(())
}

/// A new file only its owner can read.
fn private_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// A package that checks out under the key it carries, which nobody compared with the site's:
/// anyone can make one. `undersigned verify` exits with code 2 for it.
#[derive(Debug, thiserror::Error)]
#[error(
    "NOT VERIFIED: signed by a key that was not checked: {key}. The files agree with each other \
     and recount to {total} signatures, but anyone can make such a package under a key of \
     their own. Run again with --vkey and the key the site publishes at \
     /.well-known/undersigned/log-key (or --trust-package-key, once you compared the key above \
     with it)"
)]
pub struct UnknownKey {
    pub key: String,
    pub total: i64,
}

fn verify(
    file: &std::path::Path,
    vkey: Option<&str>,
    trust_package_key: bool,
) -> anyhow::Result<()> {
    let vkey = match vkey {
        Some(v) if std::path::Path::new(v).is_file() => {
            Some(std::fs::read_to_string(v).with_context(|| format!("cannot read --vkey {v}"))?)
        }
        other => other.map(str::to_string),
    };
    let reader =
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let verified = crate::package::verify::verify(std::io::BufReader::new(reader), vkey.as_deref())
        .map_err(|f| anyhow::anyhow!("NOT VERIFIED: {f}"))?;
    let m = &verified.manifest;
    let shown = crate::package::verify::shown;
    if vkey.is_none() && !trust_package_key {
        return Err(UnknownKey {
            key: shown(&m.vkey),
            total: m.total,
        }
        .into());
    }
    println!(
        "verified: {} signatures ({} online, {} on paper) for {}",
        m.total,
        m.signatures,
        m.paper,
        shown(&verified.origin)
    );
    println!(
        "the log's {} entries recount to that total under a checkpoint signed by {}",
        m.size,
        shown(&m.vkey)
    );
    if vkey.is_none() {
        println!(
            "the key the package carries was trusted (--trust-package-key): it proves who made \
             the package only if it is the one the site publishes at \
             /.well-known/undersigned/log-key"
        );
    }
    Ok(())
}

fn export(
    settings: &Settings,
    slug: &str,
    format: &str,
    output: Option<PathBuf>,
) -> anyhow::Result<()> {
    if format != "csv" {
        bail!("unknown --format {format:?}; supported: csv");
    }
    let (mut conn, keys) = open_with_keys(settings)?;
    let petition = db::petitions::find_by_slug(&mut conn, slug)?
        .with_context(|| format!("no petition with the slug {slug:?}"))?;
    match output {
        Some(path) => {
            let file = std::fs::File::create(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let rows = crate::export::write_csv(
                &mut conn,
                &keys,
                &petition,
                std::io::BufWriter::new(file),
            )?;
            eprintln!("wrote {rows} signatures to {}", path.display());
        }
        None => {
            crate::export::write_csv(&mut conn, &keys, &petition, std::io::stdout().lock())?;
        }
    }
    Ok(())
}
