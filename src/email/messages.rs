//! The emails undersigned sends, rendered from templates in the signer's language.
//! Each message has a subject, a plain-text part and an HTML part.

use askama::Template;

use crate::domain::NewEmail;
use crate::i18n::Tr;

/// Which message to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Confirm,
    AlreadySigned,
    /// Sent once confirmed: the link is the signer's receipt.
    Receipt,
}

/// What a message about one petition says. It carries nothing the sign form's visitor typed:
/// anyone can submit any address, so a greeting by the submitted "name" would let strangers
/// send their own words from the organisation's address.
pub struct PetitionEmail<'a> {
    pub tr: Tr,
    pub kind: Kind,
    pub petition_title: &'a str,
    pub petition_url: &'a str,
    /// The confirmation link (empty for messages without one).
    pub link: &'a str,
    pub valid_days: u32,
    /// The signer's withdraw link (receipts only; empty otherwise).
    pub withdraw: &'a str,
}

#[derive(Template)]
#[template(path = "emails/petition.txt")]
struct TextPart<'a> {
    m: &'a PetitionEmail<'a>,
}

#[derive(Template)]
#[template(path = "emails/petition.html")]
struct HtmlPart<'a> {
    m: &'a PetitionEmail<'a>,
}

impl PetitionEmail<'_> {
    pub fn is_confirm(&self) -> bool {
        self.kind == Kind::Confirm
    }

    pub fn is_receipt(&self) -> bool {
        self.kind == Kind::Receipt
    }

    pub fn t(&self, key: &str) -> String {
        self.tr.tf(
            key,
            &[
                ("title", self.petition_title),
                ("days", &self.valid_days.to_string()),
            ],
        )
    }

    /// Renders the message for `recipient`.
    pub fn render(&self, recipient: &str) -> Result<NewEmail, askama::Error> {
        let subject_key = match self.kind {
            Kind::Confirm => "email.confirm.subject",
            Kind::AlreadySigned => "email.already.subject",
            Kind::Receipt => "email.receipt.subject",
        };
        Ok(NewEmail {
            recipient: recipient.to_string(),
            subject: self.t(subject_key),
            body_text: TextPart { m: self }.render()?,
            body_html: HtmlPart { m: self }.render()?,
        })
    }

    /// [`PetitionEmail::render`], or, should a template fail (they are compiled in: a bug),
    /// the title and the link in plain text: a signature's email is never lost over it.
    pub fn render_or_plain(&self, recipient: &str) -> NewEmail {
        self.render(recipient).unwrap_or_else(|e| {
            tracing::error!(error = %e, kind = ?self.kind, "email template failed");
            NewEmail {
                recipient: recipient.to_string(),
                subject: self.petition_title.to_string(),
                body_text: self.link.to_string(),
                body_html: String::new(),
            }
        })
    }
}

/// An organizer's update, emailed to a signer who opted in.
pub struct UpdateEmail<'a> {
    pub tr: Tr,
    pub petition_title: &'a str,
    pub petition_url: &'a str,
    pub title: &'a str,
    /// Sanitised HTML of the update's Markdown.
    pub body_html: &'a str,
    /// The update's Markdown, as the plain-text part.
    pub body_text: &'a str,
    pub unsubscribe_url: &'a str,
}

#[derive(Template)]
#[template(path = "emails/update.txt")]
struct UpdateText<'a> {
    m: &'a UpdateEmail<'a>,
}

#[derive(Template)]
#[template(path = "emails/update.html")]
struct UpdateHtml<'a> {
    m: &'a UpdateEmail<'a>,
}

impl UpdateEmail<'_> {
    pub fn t(&self, key: &str) -> String {
        self.tr.tf(key, &[("title", self.petition_title)])
    }

    pub fn render(&self, recipient: &str) -> Result<NewEmail, askama::Error> {
        Ok(NewEmail {
            recipient: recipient.to_string(),
            subject: format!("{} — {}", self.title, self.petition_title),
            body_text: UpdateText { m: self }.render()?,
            body_html: UpdateHtml { m: self }.render()?,
        })
    }
}

/// The password reset email for an organizer.
pub struct ResetEmail<'a> {
    pub tr: Tr,
    pub name: &'a str,
    pub link: &'a str,
    /// An invitation to a new account rather than a reset of an existing password.
    pub invite: bool,
}

#[derive(Template)]
#[template(path = "emails/reset.txt")]
struct ResetText<'a> {
    m: &'a ResetEmail<'a>,
}

#[derive(Template)]
#[template(path = "emails/reset.html")]
struct ResetHtml<'a> {
    m: &'a ResetEmail<'a>,
}

impl ResetEmail<'_> {
    pub fn t(&self, key: &str) -> String {
        let key = match (self.invite, key) {
            (true, "reset.email_subject") => "invite.email_subject",
            (true, "reset.email_intro") => "invite.email_intro",
            (true, "reset.email_not_you") => "invite.email_not_you",
            _ => key,
        };
        self.tr.tf(key, &[("name", self.name)])
    }

    pub fn render(&self, recipient: &str) -> Result<NewEmail, askama::Error> {
        Ok(NewEmail {
            recipient: recipient.to_string(),
            subject: self.t("reset.email_subject"),
            body_text: ResetText { m: self }.render()?,
            body_html: ResetHtml { m: self }.render()?,
        })
    }

    /// [`ResetEmail::render`], or, should a template fail (a bug), the link in plain text.
    pub fn render_or_plain(&self, recipient: &str) -> NewEmail {
        self.render(recipient).unwrap_or_else(|e| {
            tracing::error!(error = %e, "reset email template failed");
            NewEmail {
                recipient: recipient.to_string(),
                subject: self.t("reset.email_subject"),
                body_text: self.link.to_string(),
                body_html: String::new(),
            }
        })
    }
}

/// What the site holds about a signer, sent to them on request: label and value per line.
pub struct DataEmail<'a> {
    pub tr: Tr,
    pub petition_title: &'a str,
    pub rows: Vec<(String, String)>,
    /// How long it is kept and how to have it erased.
    pub retention: String,
    pub withdraw_url: &'a str,
}

#[derive(Template)]
#[template(path = "emails/data.txt")]
struct DataText<'a> {
    m: &'a DataEmail<'a>,
}

#[derive(Template)]
#[template(path = "emails/data.html")]
struct DataHtml<'a> {
    m: &'a DataEmail<'a>,
}

impl DataEmail<'_> {
    pub fn t(&self, key: &str) -> String {
        self.tr.tf(key, &[("title", self.petition_title)])
    }

    pub fn render(&self, recipient: &str) -> Result<NewEmail, askama::Error> {
        Ok(NewEmail {
            recipient: recipient.to_string(),
            subject: self.t("email.data.subject"),
            body_text: DataText { m: self }.render()?,
            body_html: DataHtml { m: self }.render()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{Lang, Tr};

    fn email(kind: Kind, lang: Lang) -> NewEmail {
        PetitionEmail {
            tr: Tr::new(lang),
            kind,
            petition_title: "Free the detainees <now>",
            petition_url: "http://localhost/petitions/p",
            link: "http://localhost/confirm/abc",
            valid_days: 7,
            withdraw: "http://localhost/withdraw/xyz",
        }
        .render("ana@example.org")
        .unwrap()
    }

    #[test]
    fn confirmation_email_carries_title_link_and_what_if_not_you() {
        let e = email(Kind::Confirm, Lang::En);
        assert!(e.subject.contains("Free the detainees <now>"));
        assert!(e.body_text.contains("http://localhost/confirm/abc"));
        assert!(
            e.body_html
                .contains("href=\"http://localhost/confirm/abc\"")
        );
        assert!(e.body_text.contains("7 days"));
        assert!(
            e.body_text.to_lowercase().contains("ignore"),
            "{}",
            e.body_text
        );
    }

    #[test]
    fn titles_are_escaped_in_html_email() {
        let e = email(Kind::Confirm, Lang::En);
        let escaped = |s: &str| s.replace('<', "&#60;").replace('>', "&#62;");
        assert!(!e.body_html.contains("<now>"));
        assert!(e.body_html.contains(&escaped("Free the detainees <now>")));
        assert!(e.body_text.contains("Free the detainees <now>"));
    }

    #[test]
    fn emails_are_written_in_the_signers_language() {
        let ru = email(Kind::Confirm, Lang::Ru);
        assert_ne!(ru.subject, email(Kind::Confirm, Lang::En).subject);
        let hy = email(Kind::AlreadySigned, Lang::Hy);
        assert!(!hy.body_text.contains("/confirm/"));
    }
}
