//! Answering a request with a page the cache made once (`live::Rendered`): `304` when the
//! client has it, else the body in the best encoding it accepts.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use chrono::DateTime;
use chrono::Utc;

use crate::live::Rendered;

/// The response to `req`: `304` if it has this version, else the body in the best encoding
/// it accepts, with `cache_control`.
pub fn respond(page: &Rendered, req: &HttpRequest, cache_control: &str) -> HttpResponse {
    let (encoding, body, tag) = match accepted(req) {
        Encoding::Br if !page.br.is_empty() => (Some("br"), &page.br, 2),
        Encoding::Br | Encoding::Gzip if !page.gzip.is_empty() => (Some("gzip"), &page.gzip, 1),
        _ => (None, &page.body, 0),
    };
    let mut res = if not_modified(req, &page.etag, page.last_modified) {
        HttpResponse::NotModified().finish()
    } else {
        let mut res = HttpResponse::Ok();
        res.content_type(page.content_type);
        if let Some(encoding) = encoding {
            res.insert_header((header::CONTENT_ENCODING, encoding));
        }
        res.body(body.clone())
    };
    let headers = res.headers_mut();
    if let Some(v) = &page.etag_headers[tag] {
        headers.insert(header::ETAG, v.clone());
    }
    if let Some(v) = &page.modified_header {
        headers.insert(header::LAST_MODIFIED, v.clone());
    }
    if let Ok(v) = HeaderValue::from_str(cache_control) {
        headers.insert(header::CACHE_CONTROL, v);
    }
    headers.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    res
}

/// Whether the client already has this version: its `If-None-Match` names one of the body's
/// ETags (in any encoding: it is the same content), or, with no `If-None-Match`, its
/// `If-Modified-Since` is not older than the body.
fn not_modified(req: &HttpRequest, etag: &str, modified: DateTime<Utc>) -> bool {
    if let Some(tags) = req.headers().get(header::IF_NONE_MATCH) {
        let tags = tags.to_str().unwrap_or_default();
        return tags.trim() == "*"
            || tags.split(',').any(|t| {
                let t = t.trim().trim_start_matches("W/").trim_matches('"');
                let base = t
                    .strip_suffix("-gz")
                    .or_else(|| t.strip_suffix("-br"))
                    .unwrap_or(t);
                base == etag
            });
    }
    req.headers()
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
        .is_some_and(|since| modified.timestamp() <= since.timestamp())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Br,
    Gzip,
    Identity,
}

/// The best encoding the request accepts: brotli, then gzip (a `q=0` refuses one).
fn accepted(req: &HttpRequest) -> Encoding {
    let Some(value) = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return Encoding::Identity;
    };
    let takes = |name: &str| {
        value.split(',').any(|part| {
            let mut it = part.split(';');
            let coding = it.next().unwrap_or_default().trim();
            let refused = it.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            coding.eq_ignore_ascii_case(name) && !refused
        })
    };
    if takes("br") {
        Encoding::Br
    } else if takes("gzip") {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_best_accepted_encoding_is_chosen_and_q0_refuses() {
        let enc = |v: &str| {
            accepted(
                &TestRequest::default()
                    .insert_header(("accept-encoding", v))
                    .to_http_request(),
            )
        };
        assert_eq!(enc("gzip, deflate, br"), Encoding::Br);
        assert_eq!(enc("gzip"), Encoding::Gzip);
        assert_eq!(enc("br;q=0, gzip;q=0.5"), Encoding::Gzip);
        assert_eq!(enc("identity"), Encoding::Identity);
        assert_eq!(
            accepted(&TestRequest::default().to_http_request()),
            Encoding::Identity
        );
    }
}
