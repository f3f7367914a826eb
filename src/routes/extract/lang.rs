//! The language a request asks for, and the translator handlers take as an argument.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header};

use crate::i18n::{LANG_COOKIE, Lang, Tr};

/// The language for a request: `?lang=` (a link to one language's version), the `lang`
/// cookie, then `Accept-Language`, then English.
pub fn of_request(req: &HttpRequest) -> Lang {
    // A public page is the same for everyone asking in one language, so that proxies can
    // keep it: its language comes from the address or the browser, never from a cookie.
    let public = || {
        req.match_pattern()
            .is_some_and(|p| crate::routes::PUBLIC_ROUTES.contains(&p.as_str()))
    };
    Lang::from_query(req.query_string())
        .or_else(|| {
            req.cookie(LANG_COOKIE)
                .filter(|_| !public())
                .and_then(|c| Lang::from_code(c.value()))
        })
        .or_else(|| {
            req.headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or(Lang::En)
}

impl FromRequest for Tr {
    type Error = actix_web::Error;
    type Future = Ready<Result<Tr, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Tr::new(of_request(req))))
    }
}
