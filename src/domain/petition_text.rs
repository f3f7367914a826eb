//! A petition's text as an organizer gives it (the original or a version in another language),
//! checked once for the dashboard and the command line alike.

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest one-line summary, in characters.
pub const MAX_SUMMARY_CHARS: usize = 300;
/// Longest Markdown body, in characters.
pub const MAX_BODY_CHARS: usize = 50_000;
/// Most addressees, and the longest name of one.
pub const MAX_TARGETS: usize = 50;
pub const MAX_TARGET_CHARS: usize = 200;

/// A petition's text, checked: a one-line title and summary, a Markdown body with `\n` line
/// ends, and at most [`MAX_TARGETS`] one-line addressees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PetitionText {
    pub title: String,
    pub summary: String,
    pub body_markdown: String,
    pub targets: Vec<String>,
}

/// Folds runs of whitespace (newlines included) into single spaces.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl PetitionText {
    /// Checks a text given as a form gives it (`targets` one per line). The errors name the
    /// field and the translation key of the message.
    pub fn parse(
        title: &str,
        summary: &str,
        body: &str,
        targets: &str,
    ) -> Result<PetitionText, Vec<(&'static str, &'static str)>> {
        let mut errors = vec![];
        // Control characters and invisible formatting make a title display as something else
        // (and no share card can be drawn from them).
        let controls = |s: &str| super::text::has_controls(s, true);
        let title = one_line(title);
        if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS || controls(&title) {
            errors.push(("title", "editor.error_title"));
        }
        let summary = one_line(summary);
        if summary.chars().count() > MAX_SUMMARY_CHARS || controls(&summary) {
            errors.push(("summary", "editor.error_summary"));
        }
        if body.chars().count() > MAX_BODY_CHARS || controls(body) {
            errors.push(("body", "editor.error_body"));
        }
        let targets: Vec<String> = targets
            .lines()
            .map(one_line)
            .filter(|t| !t.is_empty())
            .collect();
        if targets.len() > MAX_TARGETS
            || targets
                .iter()
                .any(|t| t.chars().count() > MAX_TARGET_CHARS || controls(t))
        {
            errors.push(("targets", "editor.error_targets"));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(PetitionText {
            title,
            summary,
            body_markdown: body.replace("\r\n", "\n"),
            targets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_text_is_folded_to_its_lines_and_checked_field_by_field() {
        let t =
            PetitionText::parse(" Free\n them ", "", "Line 1\r\nLine 2", "A\n\n  B  \n").unwrap();
        assert_eq!(t.title, "Free them");
        assert_eq!(t.body_markdown, "Line 1\nLine 2");
        assert_eq!(t.targets, ["A", "B"]);
        let errors = PetitionText::parse("", &"s".repeat(301), "", &"t\n".repeat(51)).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["title", "summary", "targets"]);
        let hidden = PetitionText::parse("Free\u{1}them", "a\u{202E}b", "", "").unwrap_err();
        let fields: Vec<&str> = hidden.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["title", "summary"]);
    }

    proptest! {
        #[test]
        fn whatever_is_accepted_is_within_the_limits(
            title in "\\PC{0,250}", summary in "\\PC{0,350}", targets in "[a-zA-Z \\n]{0,300}",
        ) {
            if let Ok(t) = PetitionText::parse(&title, &summary, "", &targets) {
                prop_assert!(!t.title.is_empty() && t.title.chars().count() <= MAX_TITLE_CHARS);
                prop_assert!(!t.title.contains('\n') && t.summary.chars().count() <= MAX_SUMMARY_CHARS);
                prop_assert!(t.targets.iter().all(|x| !x.is_empty() && !x.contains('\n')));
            }
        }
    }
}
