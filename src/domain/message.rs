/// A rendered email: who it goes to and what it says, in text and HTML. Sealed whole before it
/// is stored in the outbox.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewEmail {
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
}
