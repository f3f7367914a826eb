//! Why a rule says no: one enum, so a refusal is a value the compiler checks, and the message a
//! person reads is found by its key in every language (a test checks each key in each locale).

/// A rule refusing an action in the state things are in. Use cases return it; the web floor
/// shows its message (`key`) on a 409 page or beside the field it concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A delivery dated before its package was made.
    DeliveryBeforePackage,
    /// A closing date changed on a petition that closed by its date (reopen it first).
    ClosedByDate,
    /// The original language made the language of one of its translations.
    LanguageTaken,
    /// A paper batch of no signatures, or more than one entry may hold.
    PaperCount,
    /// A paper total beyond any campaign's (it would pass `usecases::paper::MAX_TOTAL`).
    PaperTotal,
    /// Paper signatures added to or removed from a closed petition.
    PaperClosed,
    /// A translation into the petition's own original language.
    TranslationIsOriginal,
    /// An update form sent again with other words (the back button).
    UpdateFormUsed,
    /// Signatures invalidated or restored on a closed petition (its count is frozen).
    ModerationClosed,
    /// A signature sent to a closed petition.
    PetitionClosed,
    /// An account for an address that has one already.
    EmailTaken,
}

impl Refusal {
    /// Every refusal, for the test that finds each key in every locale.
    pub const ALL: [Refusal; 11] = [
        Refusal::DeliveryBeforePackage,
        Refusal::ClosedByDate,
        Refusal::LanguageTaken,
        Refusal::PaperCount,
        Refusal::PaperTotal,
        Refusal::PaperClosed,
        Refusal::TranslationIsOriginal,
        Refusal::UpdateFormUsed,
        Refusal::ModerationClosed,
        Refusal::PetitionClosed,
        Refusal::EmailTaken,
    ];

    /// The translation key of the message a person reads.
    pub const fn key(self) -> &'static str {
        match self {
            Refusal::DeliveryBeforePackage => "deliveries.before_package",
            Refusal::ClosedByDate => "editor.error_closed_by_date",
            Refusal::LanguageTaken => "editor.error_language_taken",
            Refusal::PaperCount => "paper.error_count",
            Refusal::PaperTotal => "paper.error_total",
            Refusal::PaperClosed => "paper.error_closed",
            Refusal::TranslationIsOriginal => "translate.error_original",
            Refusal::UpdateFormUsed => "updates.form_used",
            Refusal::ModerationClosed => "moderation.closed",
            Refusal::PetitionClosed => "error.closed.message",
            Refusal::EmailTaken => "accounts.taken",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::Refusal;
    use crate::i18n::{Lang, Tr};

    #[test]
    fn every_refusal_has_its_message_in_every_language() {
        for lang in Lang::ALL {
            let tr = Tr::new(lang);
            for refusal in Refusal::ALL {
                let key = refusal.key();
                assert!(!tr.t(key).contains(key), "{key} missing in {}", lang.code());
            }
        }
    }
}
