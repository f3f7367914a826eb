/// Where a signer came from, as the organizer tagged the link they handed out
/// (`?src=telegram-hy`): 1 to 40 lowercase ASCII letters, digits, `-`, `_` and `.`. Anything
/// else is no tag at all: a mangled link still signs, it is just not tallied.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Source(String);

impl Source {
    pub const MAX_CHARS: usize = 40;

    pub fn parse(input: &str) -> Option<Source> {
        let s = input.trim().to_ascii_lowercase();
        let ok = (1..=Self::MAX_CHARS).contains(&s.len())
            && s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
            });
        ok.then_some(Source(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The tag a link carries in its query string (`?src=`): its first `src`, if it is a tag.
    pub fn from_query(query: &str) -> Option<Source> {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "src")
            .and_then(|(_, v)| Source::parse(&v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tags_are_short_plain_and_lower_case() {
        assert_eq!(
            Source::parse(" Telegram-HY ").unwrap().as_str(),
            "telegram-hy"
        );
        assert_eq!(
            Source::parse("newsletter_fr.2026").unwrap().as_str(),
            "newsletter_fr.2026"
        );
        for bad in [
            "",
            "a b",
            "<script>",
            "ссылка",
            &"x".repeat(41),
            "a/b",
            "a?b=c",
        ] {
            assert!(Source::parse(bad).is_none(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn a_parsed_tag_is_safe_in_a_url_and_html(s in "\\PC{0,60}") {
            if let Some(tag) = Source::parse(&s) {
                prop_assert!(tag.as_str().len() <= 40);
                prop_assert!(tag.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
                prop_assert_eq!(Source::parse(tag.as_str()), Some(tag.clone()));
            }
        }
    }
}
