use validator::ValidateEmail;

/// A signer's email address: trimmed, syntactically valid, at most 254 characters, with a
/// dedupe key under which every spelling of the same mailbox counts once per petition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignerEmail {
    address: String,
    key: String,
}

/// Providers that ignore dots in the local part and deliver `name+tag` to `name`.
const GMAIL: [&str; 2] = ["gmail.com", "googlemail.com"];
/// Providers that deliver `name+tag` to `name` but treat dots as significant.
const PLUS_TAGGING: [&str; 12] = [
    "outlook.com",
    "hotmail.com",
    "live.com",
    "icloud.com",
    "me.com",
    "fastmail.com",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "yandex.ru",
    "ya.ru",
    "yahoo.com",
];

impl SignerEmail {
    pub fn parse(input: &str) -> Result<SignerEmail, &'static str> {
        let address = input.trim();
        if address.is_empty() {
            return Err("email.missing");
        }
        if address.len() > 254 || address.chars().any(char::is_control) {
            return Err("email.invalid");
        }
        if !address.validate_email() {
            return Err("email.invalid");
        }
        let (local, domain) = address.rsplit_once('@').ok_or("email.invalid")?;
        // Mail goes to a domain on the internet: not to an address literal (`a@[127.0.0.1]`)
        // or a single-label name (`a@localhost`), which would point a relay at internal hosts.
        if domain.starts_with('[') || !domain.contains('.') || domain.ends_with('.') {
            return Err("email.invalid");
        }
        let domain = domain.to_lowercase();
        let mut local = local.to_lowercase();
        let domain = if GMAIL.contains(&domain.as_str()) {
            local = strip_tag(&local).replace('.', "");
            "gmail.com".to_string()
        } else {
            if PLUS_TAGGING.contains(&domain.as_str()) {
                local = strip_tag(&local).to_string();
            }
            domain
        };
        Ok(SignerEmail {
            address: address.to_string(),
            key: format!("{local}@{domain}"),
        })
    }

    /// The address as the signer typed it (trimmed): where emails go.
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The normalised form used to count one mailbox once.
    pub fn dedupe_key(&self) -> &str {
        &self.key
    }
}

fn strip_tag(local: &str) -> &str {
    local.split('+').next().unwrap_or(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> String {
        SignerEmail::parse(s).unwrap().dedupe_key().to_string()
    }

    #[test]
    fn addresses_that_point_at_hosts_rather_than_domains_are_refused() {
        for bad in [
            "a@[127.0.0.1]",
            "a@localhost",
            "a@intranet.",
            "a@[IPv6:::1]",
        ] {
            assert_eq!(
                SignerEmail::parse(bad).err(),
                Some("email.invalid"),
                "{bad}"
            );
        }
        assert!(SignerEmail::parse("a@mail.example.am").is_ok());
    }

    #[test]
    fn case_and_spaces_do_not_make_a_new_signer() {
        assert_eq!(key("Ana@Example.org"), key("  ana@example.org "));
        assert_eq!(
            SignerEmail::parse(" Ana@Example.org ").unwrap().as_str(),
            "Ana@Example.org"
        );
    }

    #[test]
    fn gmail_dots_tags_and_googlemail_are_one_mailbox() {
        let k = key("ana.petrosyan@gmail.com");
        assert_eq!(k, "anapetrosyan@gmail.com");
        assert_eq!(key("AnaPetrosyan+petition@gmail.com"), k);
        assert_eq!(key("a.n.a.petrosyan@googlemail.com"), k);
    }

    #[test]
    fn dots_elsewhere_are_significant() {
        assert_ne!(key("ana.p@example.org"), key("anap@example.org"));
        assert_ne!(key("ana+x@example.org"), key("ana@example.org"));
        assert_eq!(key("ana+x@outlook.com"), key("ana@outlook.com"));
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "",
            "   ",
            "ana",
            "ana@",
            "@example.org",
            "a b@example.org",
            "ana@exa\r\nmple.org",
        ] {
            assert!(SignerEmail::parse(bad).is_err(), "{bad:?}");
        }
        assert!(SignerEmail::parse(&format!("{}@example.org", "a".repeat(300))).is_err());
    }
}
