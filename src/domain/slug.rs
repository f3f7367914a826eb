/// A petition's URL name: 3 to 80 lowercase ASCII letters, digits and single hyphens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(input: &str) -> Result<Slug, String> {
        let s = input.trim();
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !(3..=80).contains(&s.len())
            || !ok_chars
            || s.starts_with('-')
            || s.ends_with('-')
            || s.contains("--")
        {
            return Err(format!(
                "slug {s:?}: use 3-80 lowercase letters, digits and single hyphens, e.g. osce-moscow-mechanism"
            ));
        }
        Ok(Slug(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_url_safe() {
        assert!(Slug::parse("osce-moscow-mechanism").is_ok());
        for bad in [
            "ab", "Upper", "a b", "-lead", "trail-", "dou--ble", "../etc", "ա-բ-գ",
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }
}
