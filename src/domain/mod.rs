//! Parse-don't-validate types. Form input becomes one of these at the edge of the app; code
//! past the handlers takes only these, so the guarantees they carry hold everywhere.

mod country;
mod display;
mod email;
mod goals;
pub mod image;
mod message;
mod petition_text;
mod refusal;
mod slug;
mod source;
mod state;
mod text;
mod token;

pub use country::Country;
pub use display::NameDisplay;
pub use email::SignerEmail;
pub use goals::GoalLadder;
pub use message::NewEmail;
pub use petition_text::{PetitionText, one_line};
pub use refusal::Refusal;
pub use slug::Slug;
pub use source::Source;
pub use state::{PetitionStatus, SignatureStatus};
pub use text::{
    Comment, Postcode, Recipient, SignerName, TextError, has_hidden_characters, is_invisible_format,
};
pub use token::{ConfirmationToken, TokenHash};

/// Cells that a spreadsheet would evaluate as a formula start with one of these.
const FORMULA_PREFIXES: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Makes a value safe to open in a spreadsheet: a cell that would run as a formula gets a
/// leading apostrophe (OWASP's advice for CSV injection). Other values are returned as they are.
pub fn neutralise_formula(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(FORMULA_PREFIXES) {
        std::borrow::Cow::Owned(format!("'{value}"))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_cells_are_neutralised_and_others_kept() {
        assert_eq!(
            neutralise_formula("=HYPERLINK(\"x\")"),
            "'=HYPERLINK(\"x\")"
        );
        assert_eq!(neutralise_formula("+374 10"), "'+374 10");
        assert_eq!(neutralise_formula("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise_formula("-1"), "'-1");
        assert_eq!(neutralise_formula("Անի Պետրոսյան"), "Անի Պետրոսյան");
    }
}
