use validator::ValidateEmail;

/// A signer's email address: trimmed, syntactically valid, at most 254 characters, with a
/// dedupe key under which every spelling of the same mailbox counts once per petition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignerEmail {
    address: String,
    key: String,
}

/// Other names of one provider's mailboxes, each folded to one domain: the same mailbox,
/// whichever name is typed (README, "One mailbox, one signature"). Only true aliases: domains
/// whose mailboxes are separate (`inbox.ru` and `mail.ru`, `hotmail.com` and `outlook.com`)
/// are not folded.
const ALIASES: [(&str, &str); 11] = [
    ("googlemail.com", "gmail.com"),
    ("protonmail.com", "proton.me"),
    ("protonmail.ch", "proton.me"),
    ("pm.me", "proton.me"),
    ("me.com", "icloud.com"),
    ("mac.com", "icloud.com"),
    ("ya.ru", "yandex.ru"),
    ("yandex.com", "yandex.ru"),
    ("yandex.by", "yandex.ru"),
    ("yandex.kz", "yandex.ru"),
    ("yandex.ua", "yandex.ru"),
];
/// Providers that deliver `name+tag` to `name` (after [`ALIASES`]).
const PLUS_TAGGING: [&str; 8] = [
    "gmail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "icloud.com",
    "fastmail.com",
    "proton.me",
    "yandex.ru",
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
        let (typed_local, typed_domain) = address.rsplit_once('@').ok_or("email.invalid")?;
        // Mail goes to a domain on the internet: not to an address literal (`a@[127.0.0.1]`)
        // or a single-label name (`a@localhost`), which would point a relay at internal hosts.
        if typed_domain.starts_with('[') || typed_domain.ends_with('.') {
            return Err("email.invalid");
        }
        // One spelling of each domain: IDNA (UTS 46) to ASCII, so `bücher.example` and
        // `xn--bcher-kva.example` are one, and relays without SMTPUTF8 can take it.
        let ascii = idna::domain_to_ascii(typed_domain).map_err(|_| "email.invalid")?;
        if !ascii.contains('.') || ascii.len() > 253 {
            return Err("email.invalid");
        }
        let domain = ALIASES
            .iter()
            .find(|(alias, _)| *alias == ascii)
            .map_or(ascii.as_str(), |(_, canonical)| canonical)
            .to_string();
        let mut local = typed_local.to_lowercase();
        if PLUS_TAGGING.contains(&domain.as_str()) {
            local = strip_tag(&local).to_string();
        }
        match domain.as_str() {
            // Gmail ignores dots in the name; Yandex takes a dot and a hyphen as the same.
            "gmail.com" => local = local.replace('.', ""),
            "yandex.ru" => local = local.replace('.', "-"),
            _ => {}
        }
        Ok(SignerEmail {
            address: format!("{typed_local}@{ascii}"),
            key: format!("{local}@{domain}"),
        })
    }

    /// The address as the signer typed it (trimmed), its domain in ASCII (IDNA) lower case:
    /// where emails go.
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
            "Ana@example.org"
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
    fn an_international_domain_is_one_mailbox_in_unicode_and_in_punycode() {
        assert_eq!(key("ani@пример.рф"), key("ani@xn--e1afmkfd.xn--p1ai"));
        assert_eq!(key("ANI@ПРИМЕР.РФ"), key("ani@xn--e1afmkfd.xn--p1ai"));
        assert_eq!(key("a@bücher.example"), key("a@xn--bcher-kva.example"));
        assert_eq!(
            SignerEmail::parse("ani@пример.рф").unwrap().as_str(),
            "ani@xn--e1afmkfd.xn--p1ai",
            "mail goes to the ASCII form"
        );
    }

    #[test]
    fn a_providers_alias_domains_are_one_mailbox() {
        assert_eq!(key("x@googlemail.com"), key("x@gmail.com"));
        assert_eq!(key("ani@protonmail.com"), key("ani@proton.me"));
        assert_eq!(key("ani+p@pm.me"), key("ani@proton.me"));
        assert_eq!(key("ani@me.com"), key("ani@icloud.com"));
        assert_eq!(key("ani@mac.com"), key("ani@icloud.com"));
        assert_eq!(key("ani.p@ya.ru"), key("ani-p@yandex.ru"));
        assert_eq!(key("ani.p@yandex.com"), key("ani-p@yandex.ru"));
        // Separate mailboxes stay apart.
        assert_ne!(key("ani@inbox.ru"), key("ani@mail.ru"));
        assert_ne!(key("ani@hotmail.com"), key("ani@outlook.com"));
        assert_ne!(key("ani.p@proton.me"), key("anip@proton.me"));
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
