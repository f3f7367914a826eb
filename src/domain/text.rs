/// Why a piece of free text was refused; each maps to a translated message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextError {
    Missing,
    TooLong,
    ControlCharacters,
}

/// Whether one line of text holds control or invisible formatting characters.
pub fn has_hidden_characters(s: &str) -> bool {
    has_controls(s, false)
}

pub(crate) fn has_controls(s: &str, allow_newlines: bool) -> bool {
    s.chars().any(|c| {
        (c.is_control() && !(allow_newlines && (c == '\n' || c == '\r' || c == '\t')))
            || is_invisible_format(c)
    })
}

/// Characters that are invisible or can make text display as something else in the signer
/// list and the delivery document: every format character (Unicode category Cf: bidirectional
/// overrides, isolates and marks, zero-width spaces, the soft hyphen, tag characters,
/// interlinear annotation marks…) but the zero-width joiners U+200C and U+200D, which some
/// scripts need; the Hangul fillers, which show as blanks; and the noncharacters, which are not
/// text at all (and not XML: a share card could not be drawn from them).
pub fn is_invisible_format(c: char) -> bool {
    let noncharacter = matches!(c, '\u{FDD0}'..='\u{FDEF}') || (u32::from(c) & 0xFFFE) == 0xFFFE;
    noncharacter
        || matches!(
            c,
            '\u{00AD}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{115F}'..='\u{1160}'
                | '\u{180E}'
                | '\u{200B}'
                | '\u{200E}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
        )
}

/// 1 to `max` characters on one line, no control or invisible characters, inner whitespace
/// folded.
fn one_line(input: &str, max: usize) -> Result<String, TextError> {
    if has_controls(input, false) {
        return Err(TextError::ControlCharacters);
    }
    let folded = input.split_whitespace().collect::<Vec<_>>().join(" ");
    match folded.chars().count() {
        0 => Err(TextError::Missing),
        n if n > max => Err(TextError::TooLong),
        _ => Ok(folded),
    }
}

/// Who received a delivery ("OSCE Secretariat"): 1 to 200 characters on one line, shown
/// publicly with the petition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient(String);

impl Recipient {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(input: &str) -> Result<Recipient, TextError> {
        one_line(input, Self::MAX_CHARS).map(Recipient)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A signer's name: 1 to 100 characters, no line breaks or other control characters (a name
/// with CRLF could forge lines in emails and exports), inner whitespace folded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignerName(String);

impl SignerName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(input: &str) -> Result<SignerName, TextError> {
        one_line(input, Self::MAX_CHARS).map(SignerName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An optional comment of up to 500 characters; line breaks allowed, other controls not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment(String);

impl Comment {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(input: &str) -> Result<Option<Comment>, TextError> {
        if has_controls(input, true) {
            return Err(TextError::ControlCharacters);
        }
        let text = input.trim().replace("\r\n", "\n");
        match text.chars().count() {
            0 => Ok(None),
            n if n > Self::MAX_CHARS => Err(TextError::TooLong),
            _ => Ok(Some(Comment(text))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An optional postcode: up to 16 characters of letters, digits, spaces and hyphens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Postcode(String);

impl Postcode {
    pub fn parse(input: &str) -> Result<Option<Postcode>, TextError> {
        let text = input.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if text.chars().count() > 16 {
            return Err(TextError::TooLong);
        }
        if !text
            .chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || c == '-')
        {
            return Err(TextError::ControlCharacters);
        }
        Ok(Some(Postcode(text.to_uppercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_hide_behind_bidi_overrides_or_invisible_characters() {
        for spoof in [
            "Ani\u{202E}nayssorteP",
            "An\u{200B}i",
            "\u{2067}Ani",
            "\u{FEFF}Ani",
        ] {
            assert_eq!(
                SignerName::parse(spoof),
                Err(TextError::ControlCharacters),
                "{spoof:?}"
            );
        }
        assert_eq!(
            Comment::parse("ok\u{202E}"),
            Err(TextError::ControlCharacters)
        );
        // Joiners some scripts need are kept.
        assert!(SignerName::parse("می\u{200C}خواهم").is_ok());
    }

    #[test]
    fn names_are_trimmed_folded_and_bounded() {
        assert_eq!(
            SignerName::parse("  Անի   Պետրոսյան ").unwrap().as_str(),
            "Անի Պետրոսյան"
        );
        assert_eq!(SignerName::parse("   "), Err(TextError::Missing));
        assert_eq!(
            SignerName::parse(&"ա".repeat(100)).map(|n| n.0.chars().count()),
            Ok(100)
        );
        assert_eq!(SignerName::parse(&"ա".repeat(101)), Err(TextError::TooLong));
    }

    #[test]
    fn every_invisible_format_character_and_noncharacter_is_refused_but_the_joiners() {
        for hidden in [
            '\u{00AD}',
            '\u{180E}',
            '\u{115F}',
            '\u{1160}',
            '\u{3164}',
            '\u{FFA0}',
            '\u{FFF9}',
            '\u{FFFB}',
            '\u{E0001}',
            '\u{E0041}',
            '\u{E007F}',
            '\u{FDD0}',
            '\u{FFFE}',
            '\u{FFFF}',
            '\u{1FFFF}',
            '\u{10FFFF}',
            '\u{2066}',
            '\u{206F}',
        ] {
            assert_eq!(
                SignerName::parse(&format!("An{hidden}i")),
                Err(TextError::ControlCharacters),
                "U+{:04X}",
                u32::from(hidden)
            );
        }
        // Scripts that need them keep the zero-width joiners.
        assert!(SignerName::parse("\u{0915}\u{094D}\u{200D}\u{0937}").is_ok());
        assert!(SignerName::parse("\u{0645}\u{200C}\u{0649}").is_ok());
    }

    #[test]
    fn line_breaks_in_names_are_refused() {
        assert_eq!(
            SignerName::parse("Ana\r\nBcc: x@y"),
            Err(TextError::ControlCharacters)
        );
        assert_eq!(
            SignerName::parse("Ana\u{0}"),
            Err(TextError::ControlCharacters)
        );
    }

    #[test]
    fn comments_keep_newlines_and_postcodes_are_plain() {
        assert_eq!(Comment::parse("a\r\nb").unwrap().unwrap().as_str(), "a\nb");
        assert_eq!(Comment::parse("  ").unwrap(), None);
        assert_eq!(Comment::parse(&"x".repeat(501)), Err(TextError::TooLong));
        assert_eq!(
            Postcode::parse(" 75001 ").unwrap().unwrap().as_str(),
            "75001"
        );
        assert_eq!(
            Postcode::parse("sw1a 1aa").unwrap().unwrap().as_str(),
            "SW1A 1AA"
        );
        assert!(Postcode::parse("<script>").is_err());
    }
}
