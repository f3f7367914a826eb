//! How a signer's name may appear in public: the sign form's `display` field.

/// The signer's choice. Nothing is shown unless they chose to be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NameDisplay {
    /// "Anahit Mkrtchyan"
    Full,
    /// "Anahit M.": the first name and the initial of the last.
    Initials,
    /// Not shown (counted, and in the delivered list only).
    #[default]
    None,
}

impl NameDisplay {
    /// From the form: `display` when given (unknown values are refused), else the older
    /// `public` checkbox, which meant the full name.
    pub fn from_form(display: Option<&str>, public: bool) -> Option<NameDisplay> {
        match display.map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => NameDisplay::parse(d),
            None if public => Some(NameDisplay::Full),
            None => Some(NameDisplay::None),
        }
    }

    pub fn parse(s: &str) -> Option<NameDisplay> {
        match s {
            "full" => Some(NameDisplay::Full),
            "initials" => Some(NameDisplay::Initials),
            "none" => Some(NameDisplay::None),
            _ => None,
        }
    }

    /// A stored value; anything unknown shows nothing.
    pub fn from_stored(s: &str) -> NameDisplay {
        NameDisplay::parse(s).unwrap_or_default()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NameDisplay::Full => "full",
            NameDisplay::Initials => "initials",
            NameDisplay::None => "none",
        }
    }

    /// Whether the name appears in public at all.
    pub fn is_public(self) -> bool {
        self != NameDisplay::None
    }

    /// The name as the public sees it.
    pub fn shown(self, name: &str) -> Option<String> {
        match self {
            NameDisplay::Full => Some(name.trim().to_string()),
            NameDisplay::None => None,
            NameDisplay::Initials => {
                let mut words = name.split_whitespace();
                let first = words.next()?;
                Some(
                    match words.next_back().and_then(|last| last.chars().next()) {
                        Some(initial) => format!("{first} {initial}."),
                        None => first.to_string(),
                    },
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::NameDisplay;

    #[test]
    fn initials_keep_the_first_name_and_the_last_initial_in_any_script() {
        let i = NameDisplay::Initials;
        assert_eq!(i.shown("Anahit Mkrtchyan").as_deref(), Some("Anahit M."));
        assert_eq!(
            i.shown("  Anna Maria  Petrosyan ").as_deref(),
            Some("Anna P.")
        );
        assert_eq!(i.shown("Անահիտ Մկրտչյան").as_deref(), Some("Անահիտ Մ."));
        assert_eq!(i.shown("Cher").as_deref(), Some("Cher"));
        assert_eq!(NameDisplay::None.shown("Anahit Mkrtchyan"), None);
        assert_eq!(
            NameDisplay::Full.shown("Anahit Mkrtchyan").as_deref(),
            Some("Anahit Mkrtchyan")
        );
    }

    #[test]
    fn the_old_public_checkbox_means_the_full_name() {
        assert_eq!(NameDisplay::from_form(None, true), Some(NameDisplay::Full));
        assert_eq!(NameDisplay::from_form(None, false), Some(NameDisplay::None));
        assert_eq!(
            NameDisplay::from_form(Some("initials"), true),
            Some(NameDisplay::Initials)
        );
        assert_eq!(NameDisplay::from_form(Some("everything"), false), None);
    }
}
