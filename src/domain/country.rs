use std::collections::HashMap;
use std::sync::LazyLock;

use crate::i18n::Lang;

/// Short country names per ISO 3166-1 alpha-2 code, in en, fr, ru and hy.
static TABLE: &str = include_str!("countries.tsv");

struct Entry {
    code: &'static str,
    names: [&'static str; 4],
}

static ENTRIES: LazyLock<Vec<Entry>> = LazyLock::new(|| {
    TABLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|line| {
            let mut cols = line.split('\t');
            let code = cols.next()?;
            let en = cols.next()?;
            let fr = cols.next().unwrap_or(en);
            let ru = cols.next().unwrap_or(en);
            let hy = cols.next().unwrap_or(en);
            Some(Entry {
                code,
                names: [en, fr, ru, hy],
            })
        })
        .collect()
});

static BY_CODE: LazyLock<HashMap<&'static str, usize>> = LazyLock::new(|| {
    ENTRIES
        .iter()
        .enumerate()
        .map(|(i, e)| (e.code, i))
        .collect()
});

/// An ISO 3166-1 alpha-2 country code that exists, e.g. `AM` or `FR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Country(&'static str);

impl Country {
    pub fn parse(input: &str) -> Result<Country, &'static str> {
        let code = input.trim().to_ascii_uppercase();
        if code.is_empty() {
            return Err("country.missing");
        }
        BY_CODE
            .get(code.as_str())
            .map(|&i| Country(ENTRIES[i].code))
            .ok_or("country.invalid")
    }

    pub fn code(self) -> &'static str {
        self.0
    }

    /// The country's name in `lang`; the code itself for a code no longer in the table.
    pub fn name_of(code: &str, lang: Lang) -> &'static str {
        let col = match lang {
            Lang::En => 0,
            Lang::Fr => 1,
            Lang::Ru => 2,
            Lang::Hy => 3,
        };
        BY_CODE
            .get(code)
            .map(|&i| ENTRIES[i].names[col])
            .unwrap_or("—")
    }

    /// Every country as `(code, name in lang)`, in the language's alphabetical order (Unicode
    /// collation: "Égypte" between "Équateur" and "Érythrée", not after "Zimbabwe"), for a
    /// select box. Sorted once per language.
    pub fn all(lang: Lang) -> Vec<(&'static str, &'static str)> {
        static SORTED: [std::sync::OnceLock<Vec<(&'static str, &'static str)>>; 4] =
            [const { std::sync::OnceLock::new() }; 4];
        let slot = Lang::ALL.iter().position(|l| *l == lang).unwrap_or(0);
        SORTED[slot]
            .get_or_init(|| {
                let mut list: Vec<_> = ENTRIES
                    .iter()
                    .map(|e| (e.code, Country::name_of(e.code, lang)))
                    .collect();
                let locale: icu_locale_core::Locale = lang
                    .code()
                    .parse()
                    .unwrap_or(icu_locale_core::Locale::UNKNOWN);
                match icu_collator::Collator::try_new(locale.into(), Default::default()) {
                    Ok(collator) => list.sort_by(|a, b| collator.compare(a.1, b.1)),
                    // The data is compiled in; without it, code-point order still lists all.
                    Err(_) => list.sort_by(|a, b| a.1.cmp(b.1)),
                }
                list
            })
            .clone()
    }

    /// Every known code, for demo data and tests.
    pub fn codes() -> impl Iterator<Item = &'static str> {
        ENTRIES.iter().map(|e| e.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_have_their_common_names_in_each_languages_alphabetical_order() {
        let fr = Country::all(Lang::Fr);
        let at = |name: &str| fr.iter().position(|(_, n)| *n == name).unwrap();
        assert!(at("Égypte") < at("Équateur") && at("Équateur") < at("Espagne"));
        assert!(at("Espagne") < at("Zimbabwe"));
        assert_eq!(Country::name_of("RU", Lang::Fr), "Russie");
        assert_eq!(Country::name_of("IR", Lang::Hy), "Իրան");
        assert_eq!(Country::name_of("RU", Lang::En), "Russia");
        let ru = Country::all(Lang::Ru);
        let at = |name: &str| ru.iter().position(|(_, n)| *n == name).unwrap();
        // Ё sorts with Е, not before А as its code point would.
        assert!(at("Австралия") < at("Египет") && at("Египет") < at("Япония"));
        let hy = Country::all(Lang::Hy);
        assert!(hy.first().unwrap().1.starts_with('Ա'), "{:?}", hy.first());
        for lang in Lang::ALL {
            assert_eq!(Country::all(lang).len(), Country::codes().count());
        }
    }

    #[test]
    fn known_codes_parse_in_any_case_and_unknown_ones_do_not() {
        assert_eq!(Country::parse(" am ").unwrap().code(), "AM");
        assert_eq!(Country::parse("FR").unwrap().code(), "FR");
        assert_eq!(Country::parse("XX"), Err("country.invalid"));
        assert_eq!(Country::parse("Armenia"), Err("country.invalid"));
        assert_eq!(Country::parse(""), Err("country.missing"));
    }

    #[test]
    fn names_are_translated() {
        assert_eq!(Country::name_of("AM", Lang::En), "Armenia");
        assert_eq!(Country::name_of("AM", Lang::Fr), "Arménie");
        assert_eq!(Country::name_of("AM", Lang::Ru), "Армения");
        assert_eq!(Country::name_of("AM", Lang::Hy), "Հայաստան");
        assert!(Country::all(Lang::En).len() > 240);
    }
}
