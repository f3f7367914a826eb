//! Languages and translated text. Every user-visible string goes through [`Tr`].
//!
//! Translations live in `locales/*.yml` and are compiled in by `rust-i18n`. Which language a
//! request asks for is the web layer's (`routes::extract::lang`).

/// The languages the interface is translated into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    Fr,
    Ru,
    Hy,
}

/// Name of the cookie that remembers a visitor's language choice.
pub const LANG_COOKIE: &str = "lang";

impl Lang {
    pub const ALL: [Lang; 4] = [Lang::Hy, Lang::En, Lang::Fr, Lang::Ru];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Ru => "ru",
            Lang::Hy => "hy",
        }
    }

    /// The language's own name, for the language switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
            Lang::Ru => "Русский",
            Lang::Hy => "Հայերեն",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "fr" => Some(Lang::Fr),
            "ru" => Some(Lang::Ru),
            "hy" => Some(Lang::Hy),
            _ => None,
        }
    }

    /// The language whose code is exactly `code` (`hy`, `en`, `fr`, `ru`): for links and
    /// options, where `en-GB` or `EN` is not one of ours.
    pub fn from_exact(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The `lang` parameter of a query string, if it names a supported language.
    pub fn from_query(query: &str) -> Option<Lang> {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| Lang::from_exact(&v))
    }

    /// Picks the best supported language from an `Accept-Language` header, honouring q-values.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(Lang, f32)> = None;
        for part in header.split(',').take(20) {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("");
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Lang::from_code(tag)
                && q > 0.0
                && best.is_none_or(|(_, bq)| q > bq)
            {
                best = Some((lang, q));
            }
        }
        best.map(|(l, _)| l)
    }
}

/// A translator bound to one language.
#[derive(Clone, Copy, Debug)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        Tr { lang }
    }

    /// The translation of `key`.
    pub fn t(&self, key: &str) -> String {
        rust_i18n::t!(key, locale = self.lang.code()).into_owned()
    }

    /// The translation of `key` with `%{name}` placeholders filled in.
    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut text = self.t(key);
        for (name, value) in args {
            text = text.replace(&format!("%{{{name}}}"), value);
        }
        text
    }

    /// A whole number with the language's digit grouping: `3,807` in English, `3 807` in French.
    /// What groups a number's digits by three in this language.
    pub fn number_separator(&self) -> &'static str {
        match self.lang {
            Lang::En => ",",
            // Narrow no-break space, as French and Russian typography use.
            Lang::Fr | Lang::Ru | Lang::Hy => "\u{202f}",
        }
    }

    pub fn number(&self, n: i64) -> String {
        let sep = self.number_separator();
        let digits = n.unsigned_abs().to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 3 + 1);
        if n < 0 {
            out.push('-');
        }
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push_str(sep);
            }
            out.push(ch);
        }
        out
    }

    /// A date in a form readable in every supported language (`22 Nov 2026` style, localised
    /// month names).
    pub fn date(&self, d: chrono::NaiveDateTime) -> String {
        use chrono::Datelike;
        let month = self.t(&format!("month.{}", d.month()));
        format!("{} {} {}", d.day(), month, d.year())
    }

    /// A date and time of day, UTC (`22 Nov 2026, 14:05 UTC`).
    pub fn datetime(&self, d: chrono::NaiveDateTime) -> String {
        format!("{}, {} UTC", self.date(d), d.format("%H:%M"))
    }

    pub fn code(&self) -> &'static str {
        self.lang.code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_prefers_the_highest_quality_supported_language() {
        assert_eq!(
            Lang::from_accept_language("de-DE,de;q=0.9,ru;q=0.8,en;q=0.5"),
            Some(Lang::Ru)
        );
        assert_eq!(Lang::from_accept_language("hy-AM"), Some(Lang::Hy));
        assert_eq!(Lang::from_accept_language("de, ja"), None);
        assert_eq!(Lang::from_accept_language("fr;q=0"), None);
    }

    #[test]
    fn numbers_are_grouped_per_language() {
        assert_eq!(Tr::new(Lang::En).number(3807), "3,807");
        assert_eq!(Tr::new(Lang::En).number(42_424_000), "42,424,000");
        assert_eq!(Tr::new(Lang::En).number(999), "999");
        assert_eq!(Tr::new(Lang::Fr).number(5500), "5\u{202f}500");
    }

    fn keys(yaml: &str) -> Vec<&str> {
        yaml.lines()
            .filter_map(|l| l.split_once(':').map(|(k, _)| k))
            .filter(|k| !k.starts_with(' ') && !k.starts_with('#'))
            .collect()
    }

    #[test]
    fn every_locale_file_has_exactly_the_english_keys() {
        let en = keys(include_str!("../locales/en.yml"));
        for (code, yaml) in [
            ("fr", include_str!("../locales/fr.yml")),
            ("ru", include_str!("../locales/ru.yml")),
            ("hy", include_str!("../locales/hy.yml")),
        ] {
            assert_eq!(keys(yaml), en, "{code}.yml differs from en.yml");
        }
    }

    /// Every key written as a literal in the code and the templates (`t("…")`, `tf("…"`,
    /// `BadRequest("…")`, `Conflict("…")`) has its message in every language: a typo in a key
    /// would show the key itself to a person.
    #[test]
    fn every_key_the_code_names_has_its_message_in_every_language() {
        fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    files(&path, out);
                } else if path
                    .extension()
                    .is_some_and(|e| e == "rs" || e == "html" || e == "txt")
                {
                    out.push(path);
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut paths = Vec::new();
        files(&root.join("src"), &mut paths);
        files(&root.join("templates"), &mut paths);
        let en = keys(include_str!("../locales/en.yml"));
        let mut named = std::collections::BTreeSet::new();
        for path in &paths {
            let text = std::fs::read_to_string(path).unwrap();
            for opening in ["t(\"", "tf(\"", "BadRequest(\"", "Conflict(\""] {
                for (at, _) in text.match_indices(opening) {
                    let rest = &text[at + opening.len()..];
                    let Some(end) = rest.find('"') else { continue };
                    let key = &rest[..end];
                    // Keys are dotted lowercase words; anything else is not a key.
                    if key.contains('.')
                        && key.chars().all(|c| {
                            c.is_ascii_lowercase() || c.is_ascii_digit() || "._".contains(c)
                        })
                    {
                        named.insert((key.to_string(), path.display().to_string()));
                    }
                }
            }
        }
        assert!(
            named.len() > 100,
            "the scan finds the keys ({})",
            named.len()
        );
        let missing: Vec<_> = named
            .iter()
            .filter(|(key, _)| !en.iter().any(|k| k == key))
            .collect();
        assert!(missing.is_empty(), "keys with no message: {missing:?}");
    }

    #[test]
    fn every_language_translates_every_key() {
        for lang in Lang::ALL {
            let tr = Tr::new(lang);
            for key in [
                "sign.submit",
                "confirm.title",
                "email.confirm.subject",
                "month.11",
            ] {
                let text = tr.t(key);
                assert!(!text.contains(key), "{key} missing in {}", lang.code());
            }
        }
    }
}
