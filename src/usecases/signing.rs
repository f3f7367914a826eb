//! Signing and confirming. Each submission of the sign form keeps its own data beside its own
//! link, so the link in an email confirms exactly what was submitted with it, however many
//! others used the same address before.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use super::{Changes, Done, UseCaseError, lock_petition};
use crate::db::outbox::{self, SealedEmail};
use crate::db::schema::{petitions, signatures};
use crate::db::signatures::{self as sigs, NewSignature, Submission};
use crate::db::{self, DbConnection, DbError};
use crate::domain::{
    Comment, ConfirmationToken, Country, NameDisplay, NewEmail, Postcode, Refusal, SignatureStatus,
    SignerEmail, SignerName, Source, TokenHash,
};
use crate::i18n::Lang;
use crate::keys::Keys;
use crate::sealed::{Personal, Purpose};

/// How many confirmation emails one address may trigger per petition, and per how long.
#[derive(Clone, Copy, Debug)]
pub struct EmailCap {
    pub max: u32,
    pub window: TimeDelta,
}

/// A submission of the sign form, with both messages it may lead to already rendered (outside
/// the transaction): a confirmation link, or "you have already signed".
pub struct SignRequest {
    pub new: NewSignature,
    pub token_hash: TokenHash,
    pub expires_at: NaiveDateTime,
    pub cap: EmailCap,
    pub confirm_email: SealedEmail,
    /// Renders "you have already signed" (rare: rendered only when needed). With `true` it
    /// carries a fresh withdraw link (`withdraw_hash`): signatures confirmed before links
    /// existed get one this way, and a signer who lost theirs gets it again. Without: for a
    /// signature whose data was erased on schedule (its mailbox hash is kept so that it cannot
    /// count twice; nothing is left to withdraw).
    pub already_signed_email: Box<dyn Fn(bool) -> SealedEmail + Send + Sync>,
    pub withdraw_hash: TokenHash,
}

/// What a submission did. The supporter sees the same page for the first two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignOutcome {
    /// A new signature and its confirmation link.
    Created,
    /// The mailbox had signed before: a new link with this submission's data, or, if it had
    /// confirmed, an "already signed" email.
    Resent { already_confirmed: bool },
    /// The address reached its email cap for this window: nothing sent until `until`.
    Capped { until: NaiveDateTime },
}

/// A sign form that parsed: who signs, as domain types (parsed at the edge).
#[derive(Clone, Debug)]
pub struct Signer {
    pub name: SignerName,
    pub email: SignerEmail,
    pub country: Country,
    pub postcode: Option<Postcode>,
    pub comment: Option<Comment>,
    pub display: NameDisplay,
    /// Ticked "show my comment on the petition page".
    pub comment_public: bool,
    /// Ticked "email me news about this petition".
    pub wants_updates: bool,
    /// The language the signer signed in: every email and link they get is in it.
    pub lang: Lang,
    /// The tag of the link the signer followed (`?src=`).
    pub source: Option<Source>,
}

/// What happens to a submission before it is stored.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    /// It goes on to be stored.
    Proceed,
    /// A bot filled the field people never see: dropped, answered like any other submission.
    Drop,
}

/// Whether a submission to `petition` may be stored: refused when the petition is closed (by
/// hand or by its date), dropped when the hidden field (`honeypot`) is filled.
pub fn admit(
    petition: &crate::db::petitions::Petition,
    honeypot: &str,
    now: NaiveDateTime,
) -> Result<Admission, UseCaseError> {
    if !petition.is_open_at(now) {
        return Err(UseCaseError::Refused(Refusal::PetitionClosed));
    }
    Ok(if honeypot.is_empty() {
        Admission::Proceed
    } else {
        Admission::Drop
    })
}

/// The emails a submission may lead to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignEmail {
    /// The confirmation link.
    Confirm,
    /// "You have already signed" (with a withdraw link when there is something to withdraw).
    AlreadySigned,
}

/// Renders a submission's email to its recipient from the tokens of its links (the
/// confirmation link's, and the withdraw link's when it carries one); the email floor above
/// this one knows the words.
pub type SignRenderer = dyn Fn(SignEmail, &str, &ConfirmationToken, Option<&ConfirmationToken>) -> NewEmail
    + Send
    + Sync;

/// A submission made ready to store: the personal data sealed for the signature and for its
/// link, the mailbox and domain found by keyed hashes bound to the petition, fresh confirmation
/// and withdraw tokens, and its email rendered and sealed (the rare "already signed" only if
/// needed, inside the transaction). Stored by [`sign`] (or the group commit).
#[allow(clippy::too_many_arguments)]
pub fn request(
    keys: &std::sync::Arc<Keys>,
    petition_id: i32,
    signer: Signer,
    network_hash: Option<String>,
    link_valid_for: TimeDelta,
    cap: EmailCap,
    now: NaiveDateTime,
    render: std::sync::Arc<SignRenderer>,
) -> SignRequest {
    let personal = Personal {
        name: signer.name.as_str().to_string(),
        email: signer.email.as_str().to_string(),
        postcode: signer.postcode.as_ref().map(|p| p.as_str().to_string()),
        comment: signer.comment.as_ref().map(|c| c.as_str().to_string()),
    };
    let email = &signer.email;
    let new = NewSignature {
        petition_id,
        sealed_signature: keys.seal(Purpose::Signature, &personal),
        sealed_submission: keys.seal(Purpose::Submission, &personal),
        email_index: keys.email_index(petition_id, email.dedupe_key()),
        domain_index: keys.domain_index_of(petition_id, email.dedupe_key()),
        source: signer.source,
        // Only a comment can be shown; and only if there is one.
        comment_public: signer.comment_public && signer.comment.is_some(),
        country: signer.country,
        display: signer.display,
        wants_updates: signer.wants_updates,
        locale: signer.lang.code().to_string(),
        ip_hash: network_hash,
        created_at: now,
    };
    let token = ConfirmationToken::generate();
    let withdraw = ConfirmationToken::generate();
    let recipient = personal.email.clone();
    let confirm_email =
        SealedEmail::new(keys, &render(SignEmail::Confirm, &recipient, &token, None));
    let sealing_keys = keys.clone();
    let withdraw_hash = withdraw.hash();
    let token_hash = token.hash();
    SignRequest {
        confirm_email,
        already_signed_email: Box::new(move |with_link| {
            let withdraw = with_link.then_some(&withdraw);
            SealedEmail::new(
                &sealing_keys,
                &render(SignEmail::AlreadySigned, &recipient, &token, withdraw),
            )
        }),
        token_hash,
        withdraw_hash,
        expires_at: now + link_valid_for,
        cap,
        new,
    }
}

/// Stores a submission and queues its email, in one transaction.
pub fn sign(conn: &mut DbConnection, req: &SignRequest) -> Result<SignOutcome, UseCaseError> {
    db::write_tx(conn, |conn| sign_in(conn, req))
}

/// [`sign`] inside a transaction the caller holds: the group commit runs many in one, each
/// under a savepoint of its own (`services::sign_writer`).
pub fn sign_in(conn: &mut DbConnection, req: &SignRequest) -> Result<SignOutcome, UseCaseError> {
    let now = req.new.created_at;
    // Insert first: a duplicate is found by the unique constraint, not by a read that a
    // concurrent submission could overtake.
    let (signature_id, outcome) = match sigs::insert_pending(conn, &req.new)? {
        Some(id) => {
            // The first email counts against its network's allowance too.
            take_network_allowance(
                conn,
                id,
                req.new.ip_hash.as_deref().unwrap_or("-"),
                req.cap,
                now,
            )?;
            (id, SignOutcome::Created)
        }
        None => {
            let (id, status): (i32, String) = signatures::table
                .filter(signatures::petition_id.eq(req.new.petition_id))
                .filter(signatures::email_key.eq(&req.new.email_index))
                .select((signatures::id, signatures::status))
                .first(conn)?;
            let network = req.new.ip_hash.as_deref();
            if let Some(until) = take_email_allowance(conn, id, network, req.cap, now)? {
                return Ok(SignOutcome::Capped { until });
            }
            let already_confirmed =
                SignatureStatus::from_stored(&status) == SignatureStatus::Confirmed;
            (id, SignOutcome::Resent { already_confirmed })
        }
    };
    let already_signed;
    let email = if outcome
        == (SignOutcome::Resent {
            already_confirmed: true,
        }) {
        // The fresh link goes beside the receipt's, never over it: whoever typed the address
        // may not be its owner, and the receipt's link must keep working.
        let standing = signatures::table
            .find(signature_id)
            .filter(signatures::withdrawn_at.is_null())
            .filter(signatures::erased_at.is_null());
        let mut linked = diesel::update(standing.filter(signatures::withdraw_hash.is_not_null()))
            .set(signatures::withdraw_hash_resent.eq(req.withdraw_hash.as_str()))
            .execute(conn)?;
        if linked == 0 {
            // Confirmed before withdraw links existed: this is its first.
            linked = diesel::update(standing.filter(signatures::withdraw_hash.is_null()))
                .set(signatures::withdraw_hash.eq(req.withdraw_hash.as_str()))
                .execute(conn)?;
        }
        already_signed = (req.already_signed_email)(linked == 1);
        &already_signed
    } else {
        sigs::insert_token(
            conn,
            signature_id,
            &req.new,
            &req.token_hash,
            req.expires_at,
        )?;
        &req.confirm_email
    };
    outbox::enqueue(conn, email, Some(signature_id), now)?;
    Ok(outcome)
}

/// The signature's own counter allows this many times the per-network cap: the backstop
/// against many networks sending to one address.
const BACKSTOP: u32 = 3;

/// Counts one more email against a signature's cap; `Some(until)` if the cap is reached. The
/// cap counts per network that asked (`network`, the submission's keyed network hash): a
/// stranger who keeps submitting someone's address uses up only their own network's
/// allowance, so the owner asking from theirs still gets an email. The signature's own
/// counter allows [`BACKSTOP`] times as many from all networks together. Each step is one
/// conditional `UPDATE` (or an insert that a concurrent one makes fail), so concurrent
/// submissions cannot both pass a full cap.
pub(crate) fn take_email_allowance(
    conn: &mut DbConnection,
    id: i32,
    network: Option<&str>,
    cap: EmailCap,
    now: NaiveDateTime,
) -> Result<Option<NaiveDateTime>, UseCaseError> {
    // The backstop first: a network it refuses keeps its own allowance. One the network then
    // refuses gives its place in the backstop back.
    if let Some(until) = take_backstop(conn, id, cap, now)? {
        return Ok(Some(until));
    }
    let refused = take_network_allowance(conn, id, network.unwrap_or("-"), cap, now)?;
    if refused.is_some() {
        diesel::update(
            signatures::table
                .find(id)
                .filter(signatures::emails_sent.gt(0)),
        )
        .set(signatures::emails_sent.eq(signatures::emails_sent - 1))
        .execute(conn)?;
    }
    Ok(refused)
}

/// The signature's own counter: [`BACKSTOP`] times the cap, from all networks together.
fn take_backstop(
    conn: &mut DbConnection,
    id: i32,
    cap: EmailCap,
    now: NaiveDateTime,
) -> Result<Option<NaiveDateTime>, UseCaseError> {
    let backstop = EmailCap {
        max: cap.max.saturating_mul(BACKSTOP),
        ..cap
    };
    let window_over = now - cap.window;
    // A window that has run out starts again with this email.
    let restarted = diesel::update(
        signatures::table.find(id).filter(
            signatures::emails_window_start
                .is_null()
                .or(signatures::emails_window_start.le(window_over)),
        ),
    )
    .set((
        signatures::emails_sent.eq(1),
        signatures::emails_window_start.eq(db::to_minute(now)),
    ))
    .execute(conn)?;
    if restarted == 1 {
        return Ok(None);
    }
    let max = i32::try_from(backstop.max).unwrap_or(i32::MAX);
    let counted = diesel::update(
        signatures::table
            .find(id)
            .filter(signatures::emails_sent.lt(max))
            .filter(signatures::emails_window_start.gt(window_over)),
    )
    .set(signatures::emails_sent.eq(signatures::emails_sent + 1))
    .execute(conn)?;
    if counted == 1 {
        return Ok(None);
    }
    let start: Option<NaiveDateTime> = signatures::table
        .find(id)
        .select(signatures::emails_window_start)
        .first(conn)?;
    Ok(Some(start.unwrap_or(now) + cap.window))
}

/// One network's allowance of emails to one signature's address ([`take_email_allowance`]).
fn take_network_allowance(
    conn: &mut DbConnection,
    id: i32,
    network: &str,
    cap: EmailCap,
    now: NaiveDateTime,
) -> Result<Option<NaiveDateTime>, UseCaseError> {
    use crate::db::schema::email_allowances as a;
    let window_over = now - cap.window;
    let mine = a::table
        .filter(a::signature_id.eq(id))
        .filter(a::network.eq(network));
    let restarted = diesel::update(mine.filter(a::window_start.le(window_over)))
        .set((a::sent.eq(1), a::window_start.eq(now)))
        .execute(conn)?;
    if restarted == 1 {
        return Ok(None);
    }
    let max = i32::try_from(cap.max).unwrap_or(i32::MAX);
    let counted = diesel::update(
        mine.filter(a::sent.lt(max))
            .filter(a::window_start.gt(window_over)),
    )
    .set(a::sent.eq(a::sent + 1))
    .execute(conn)?;
    if counted == 1 {
        return Ok(None);
    }
    let start: Option<NaiveDateTime> = mine.select(a::window_start).first(conn).optional()?;
    match start {
        Some(start) => Ok(Some(start + cap.window)),
        None => {
            // A concurrent first email of the same network may insert first: then this one
            // is refused as if the allowance were taken (trying again is safe).
            let inserted = crate::with_backend!(conn, |c| diesel::insert_into(a::table)
                .values((
                    a::signature_id.eq(id),
                    a::network.eq(network),
                    a::window_start.eq(now),
                    a::sent.eq(1),
                ))
                .on_conflict_do_nothing()
                .execute(c))?;
            Ok((inserted == 0).then_some(now + cap.window))
        }
    }
}

/// What a confirmation link leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkState {
    Unknown,
    /// The link expired before it was used; the supporter can sign again.
    Expired {
        petition_slug: String,
    },
    /// The petition closed before the link was used: nothing was counted. The link stays
    /// valid, so it counts if the petition reopens.
    Closed {
        petition_slug: String,
    },
    /// Waiting for the button: what confirming will make public and count.
    Pending {
        petition_slug: String,
        submission: Submission,
        /// The submission's personal data, opened (empty if erased meanwhile).
        personal: Box<Personal>,
    },
    Confirmed {
        petition_slug: String,
        number: i32,
        /// The code of the signer's receipt page (`/petitions/{slug}/receipt/{code}`).
        receipt: Option<String>,
    },
}

/// Where a link stands, changing nothing (for the GET page that mail scanners open).
pub fn link_state(
    conn: &mut DbConnection,
    keys: &Keys,
    hash: &TokenHash,
    now: NaiveDateTime,
) -> Result<LinkState, DbError> {
    let Some(t) = sigs::token(conn, hash)? else {
        return Ok(LinkState::Unknown);
    };
    let open = crate::db::petitions::find_by_slug(conn, &t.petition_slug)?
        .is_some_and(|p| p.is_open_at(now));
    classify(conn, keys, t, now, open)
}

fn classify(
    conn: &mut DbConnection,
    keys: &Keys,
    t: sigs::TokenRow,
    now: NaiveDateTime,
    open: bool,
) -> Result<LinkState, DbError> {
    let petition_slug = t.petition_slug;
    Ok(match (t.status, t.number) {
        (SignatureStatus::Confirmed, Some(number)) => LinkState::Confirmed {
            petition_slug,
            number,
            receipt: keys
                .open_salt(t.salt.as_deref())
                .map_err(|e| crate::db::site::unreadable(conn, keys, "a signature's salt", e))?
                .as_deref()
                .map(crate::log::entry::receipt_code),
        },
        _ if t.expires_at <= now => LinkState::Expired { petition_slug },
        _ if !open => LinkState::Closed { petition_slug },
        _ => LinkState::Pending {
            petition_slug,
            personal: Box::new(match t.submission.personal.as_deref() {
                Some(sealed) => keys
                    .open(Purpose::Submission, sealed)
                    .map_err(|e| db::site::unreadable(conn, keys, "confirmation link", e))?,
                None => Personal::default(),
            }),
            submission: t.submission,
        },
    })
}

/// Confirms the submission a link carries: the signature takes exactly that submission's data
/// (name, country, choices, when and from which network it was sent), is counted and gets its
/// signer number. Idempotent: once a signature is confirmed, every link of it reports the
/// number handed out the first time and changes nothing, so a link someone else requested with
/// the same address, opened in a forgotten tab, cannot rewrite a confirmed signature (nor an
/// export snapshot that holds it). On a closed petition nothing changes.
/// Who gets a receipt email, and what it links to: made by the caller's renderer.
pub struct ReceiptFor<'a> {
    pub recipient: &'a str,
    /// The token of the signer's withdraw link (`/withdraw/{token}`).
    pub withdraw_token: &'a str,
    pub locale: &'a str,
    pub petition_slug: &'a str,
    pub petition_title: &'a str,
    pub code: &'a str,
}

/// Renders the email a signer gets once confirmed (their receipt).
pub type ReceiptRenderer = dyn Fn(&ReceiptFor<'_>) -> NewEmail + Send + Sync;

/// Whose receipt to queue: the signature, where it goes, its code and its withdraw link.
pub(crate) struct Receipt<'a> {
    pub petition_id: i32,
    pub petition_slug: &'a str,
    pub signature_id: i32,
    pub recipient: &'a str,
    pub locale: &'a str,
    pub code: &'a str,
    pub withdraw: &'a ConfirmationToken,
}

/// Queues a signer's receipt email in the caller's transaction (sent once it commits), in the
/// language they read the petition in where it has that version.
pub(crate) fn queue_receipt(
    conn: &mut DbConnection,
    keys: &Keys,
    r: Receipt<'_>,
    now: NaiveDateTime,
    receipt_email: &ReceiptRenderer,
) -> Result<(), DbError> {
    let (_, title) =
        db::petitions::title_in(conn, r.petition_id, crate::i18n::Lang::from_code(r.locale))?;
    let email = receipt_email(&ReceiptFor {
        recipient: r.recipient,
        withdraw_token: r.withdraw.as_str(),
        locale: r.locale,
        petition_slug: r.petition_slug,
        petition_title: &title,
        code: r.code,
    });
    db::outbox::enqueue(
        conn,
        &SealedEmail::new(keys, &email),
        Some(r.signature_id),
        now,
    )
}

/// What the mailbox's owner corrected on the confirm page before confirming: it replaces the
/// submission's name, country, display choice, comment and news choice.
#[derive(Clone, Debug)]
pub struct Corrections {
    pub name: String,
    pub postcode: Option<String>,
    pub country: String,
    pub display: String,
    pub comment: Option<String>,
    pub comment_public: bool,
    pub wants_updates: bool,
}

impl Corrections {
    /// Whether these are the details the submission was sent with.
    pub fn unchanged(&self, s: &Submission, p: &Personal) -> bool {
        self.name == p.name
            && self.postcode == p.postcode
            && self.comment == p.comment
            && self.country == s.country
            && self.display == s.display
            && self.comment_public == (s.comment_public && p.comment.is_some())
            && self.wants_updates == s.wants_updates
    }
}

/// Confirms the signature a link belongs to, in one transaction: it counts (unless the
/// organizers invalidated it meanwhile), gets its number, its commitment and log entry, and its
/// receipt is queued. What the link was for if it confirms nothing now (`LinkState`).
pub fn confirm(
    conn: &mut DbConnection,
    keys: &Keys,
    hash: &TokenHash,
    now: NaiveDateTime,
    corrections: Option<&Corrections>,
    receipt_email: &ReceiptRenderer,
) -> Result<Done<LinkState>, UseCaseError> {
    let state = confirm_in_tx(conn, keys, hash, now, corrections, receipt_email)?;
    let changes = match &state {
        LinkState::Confirmed {
            petition_slug,
            receipt,
            ..
        } => Changes::petition(petition_slug).with_emails(receipt.is_some()),
        _ => Changes::none(),
    };
    Ok(Done::new(state, changes))
}

fn confirm_in_tx(
    conn: &mut DbConnection,
    keys: &Keys,
    hash: &TokenHash,
    now: NaiveDateTime,
    corrections: Option<&Corrections>,
    receipt_email: &ReceiptRenderer,
) -> Result<LinkState, UseCaseError> {
    db::write_tx(conn, |conn| {
        let Some(t) = sigs::token(conn, hash)? else {
            return Ok(LinkState::Unknown);
        };
        // 1. The petition row: whether it is open is read under the lock that closing takes.
        let petition = lock_petition(conn, t.petition_id)?;
        // 2. The signature, re-read under that lock: every change to whether a signature
        // counts takes it first, so what is read here stays true until commit.
        type Current = (String, Option<i32>, Option<NaiveDateTime>, Option<String>);
        let (status, number, invalidated_at, salt): Current = signatures::table
            .find(t.signature_id)
            .select((
                signatures::status,
                signatures::number,
                signatures::invalidated_at,
                signatures::salt,
            ))
            .first(conn)?;
        let t = sigs::TokenRow {
            status: SignatureStatus::from_stored(&status),
            number,
            salt,
            ..t
        };
        let open = petition.is_open_at(now);
        if !open || t.expires_at <= now || t.status == SignatureStatus::Confirmed {
            return Ok(classify(conn, keys, t, now, open)?);
        }
        let mut submission = t.submission.clone();
        let Some(personal) = submission.personal.as_deref() else {
            // Erased (retention) while the link waited: nothing left to confirm.
            return Ok(LinkState::Unknown);
        };
        let mut p: Personal = keys
            .open(Purpose::Submission, personal)
            .map_err(|e| db::site::unreadable(conn, keys, "confirmation link", e))?;
        if let Some(c) = corrections {
            p.name.clone_from(&c.name);
            p.postcode.clone_from(&c.postcode);
            p.comment.clone_from(&c.comment);
            submission.country.clone_from(&c.country);
            submission.display.clone_from(&c.display);
            submission.comment_public = c.comment_public;
            submission.wants_updates = c.wants_updates;
        }
        let s = &submission;
        let display = NameDisplay::from_stored(&s.display);
        // Confirmed now, and not withdrawn (a withdrawn link confirms nothing).
        let counts = SignatureStatus::Confirmed.counts(invalidated_at.is_some(), false);
        let number: i32 = diesel::update(petitions::table.find(t.petition_id))
            .set((
                petitions::signature_count.eq(petitions::signature_count + i64::from(counts)),
                petitions::last_number.eq(petitions::last_number + 1),
            ))
            .returning(petitions::last_number)
            .get_result(conn)?;
        // The commitment that ties this signature to its log entry without naming the signer,
        // and the receipt code derived from its salt.
        let committed = crate::log::entry::Committed {
            petition_slug: &t.petition_slug,
            number,
            name: &p.name,
            email: &p.email,
            country: &s.country,
            postcode: p.postcode.as_deref(),
            comment: p.comment.as_deref(),
        }
        .commit(keys);
        let withdraw = ConfirmationToken::generate();
        let flipped = diesel::update(
            signatures::table
                .find(t.signature_id)
                .filter(signatures::status.eq(SignatureStatus::Pending.as_str())),
        )
        .set((
            (
                signatures::personal.eq(keys.seal(Purpose::Signature, &p)),
                signatures::country.eq(&s.country),
                signatures::public.eq(display.is_public()),
                signatures::display.eq(display.as_str()),
                signatures::withdraw_hash.eq(withdraw.hash().as_str().to_string()),
                signatures::wants_updates.eq(s.wants_updates),
                signatures::locale.eq(&s.locale),
                signatures::ip_hash.eq(&s.ip_hash),
                signatures::created_at.eq(db::to_minute(s.submitted_at)),
                signatures::source.eq(&s.source),
                signatures::comment_public.eq(s.comment_public),
            ),
            signatures::status.eq(SignatureStatus::Confirmed.as_str()),
            signatures::confirmed_at.eq(db::to_minute(now)),
            signatures::number.eq(number),
            (
                signatures::salt.eq(&committed.sealed_salt),
                signatures::commitment.eq(&committed.commitment),
                signatures::receipt_hash.eq(&committed.receipt_hash),
                // Not counted, so no receipt now: a restore sends it.
                signatures::receipt_due.eq(!counts),
            ),
        ))
        .execute(conn)?;
        if flipped != 1 {
            // Impossible under the petition lock; refuse rather than count wrongly.
            return Err(diesel::result::Error::RollbackTransaction.into());
        }
        // Sealed and committed under this instance's key: refused if a rotation changed it.
        db::site::ensure_current_key(conn, keys)?;
        if counts {
            sigs::add_to_country(conn, t.petition_id, &s.country, 1)?;
            if petition.log_started {
                db::log::record(
                    conn,
                    &[db::log::NewEvent {
                        petition_id: t.petition_id,
                        kind: crate::log::entry::EventKind::Confirmed,
                        delta: 1,
                        commitment: Some(committed.commitment),
                        batch: None,
                        receipt: Some(crate::log::entry::receipt_tag(&committed.code)),
                        at: now,
                    }],
                )?;
            }
        }
        // The receipt email, in the same transaction: sent by the outbox once committed. A
        // signature the organizers invalidated while it was pending is confirmed but not
        // counted: it gets its receipt if it is restored (`receipt_due`).
        let code = committed.code;
        if counts {
            queue_receipt(
                conn,
                keys,
                Receipt {
                    petition_id: petition.id,
                    petition_slug: &t.petition_slug,
                    signature_id: t.signature_id,
                    recipient: &p.email,
                    locale: &s.locale,
                    code: &code,
                    withdraw: &withdraw,
                },
                now,
                receipt_email,
            )?;
        }
        Ok(LinkState::Confirmed {
            petition_slug: t.petition_slug,
            number,
            receipt: counts.then_some(code),
        })
    })
}

/// A signature confirmed elsewhere (the demonstration's synthetic ones): who, when signed and
/// when confirmed.
#[derive(Clone, Debug)]
pub struct Imported {
    pub name: String,
    pub email: SignerEmail,
    pub country: Country,
    pub display: NameDisplay,
    pub signed_at: NaiveDateTime,
    pub confirmed_at: NaiveDateTime,
}

/// Stores confirmed signatures in bulk, in one transaction, as [`confirm`] would have left
/// each: sealed, found by bound hashes, numbered in order after the petition's last number,
/// committed (salt, commitment, receipt hash), counted in the petition's and its countries'
/// counters by the rows inserted. Only while the petition's signed log has not started (a log
/// would never see them): refused with `Unavailable` otherwise. Returns how many it stored.
pub fn import_confirmed(
    conn: &mut DbConnection,
    keys: &Keys,
    petition_id: i32,
    signatures_in: &[Imported],
) -> Result<usize, UseCaseError> {
    db::write_tx(conn, |conn| {
        let petition = lock_petition(conn, petition_id)?;
        if petition.log_started {
            return Err(UseCaseError::Unavailable(
                "the petition's signed log has started: its signatures must be confirmed one by \
                 one"
                .into(),
            ));
        }
        let mut per_country: std::collections::BTreeMap<String, i32> = Default::default();
        let rows: Vec<_> = signatures_in
            .iter()
            .enumerate()
            .map(|(n, s)| {
                let number = petition.last_number + n as i32 + 1;
                let code = s.country.code();
                *per_country.entry(code.to_string()).or_default() += 1;
                let committed = crate::log::entry::Committed {
                    petition_slug: &petition.slug,
                    number,
                    name: &s.name,
                    email: s.email.as_str(),
                    country: code,
                    postcode: None,
                    comment: None,
                }
                .commit(keys);
                let personal = Personal {
                    name: s.name.clone(),
                    email: s.email.as_str().to_string(),
                    postcode: None,
                    comment: None,
                };
                // Found by the same keyed hashes as a signature made through the form.
                let mailbox = s.email.dedupe_key();
                (
                    signatures::petition_id.eq(petition_id),
                    signatures::personal.eq(Some(keys.seal(Purpose::Signature, &personal))),
                    signatures::email_key.eq(keys.email_index(petition_id, mailbox)),
                    signatures::domain_key.eq(Some(keys.domain_index_of(petition_id, mailbox))),
                    signatures::country.eq(code),
                    signatures::public.eq(s.display.is_public()),
                    signatures::display.eq(s.display.as_str()),
                    (
                        signatures::salt.eq(Some(committed.sealed_salt)),
                        signatures::commitment.eq(Some(committed.commitment)),
                        signatures::receipt_hash.eq(Some(committed.receipt_hash)),
                    ),
                    signatures::locale.eq("en"),
                    signatures::status.eq(SignatureStatus::Confirmed.as_str()),
                    signatures::number.eq(number),
                    signatures::created_at.eq(db::to_minute(s.signed_at)),
                    signatures::confirmed_at.eq(Some(db::to_minute(s.confirmed_at))),
                    signatures::emails_sent.eq(1),
                )
            })
            .collect();
        let mut inserted = 0usize;
        for chunk in rows.chunks(500) {
            inserted += crate::with_backend!(conn, |c| diesel::insert_into(signatures::table)
                .values(chunk)
                .execute(c))
            .map_err(DbError::from)?;
        }
        for (code, n) in &per_country {
            sigs::add_to_country(conn, petition_id, code, *n)?;
        }
        let total = i32::try_from(inserted).unwrap_or(i32::MAX);
        diesel::update(petitions::table.find(petition_id))
            .set((
                petitions::signature_count.eq(petitions::signature_count + i64::from(total)),
                petitions::last_number.eq(petitions::last_number + total),
            ))
            .execute(conn)?;
        // Sealed and committed under this instance's key: refused if a rotation changed it.
        db::site::ensure_current_key(conn, keys)?;
        db::audit::record(
            conn,
            None,
            Some(petition_id),
            "import-confirmed",
            &format!("{inserted} signatures"),
            db::now(),
        )?;
        Ok(inserted)
    })
}
