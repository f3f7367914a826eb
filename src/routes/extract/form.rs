//! Reading the forms signers send: a bounded body, checkboxes, and the message of a text field
//! that did not parse (the sign form's and the confirm form's).

use actix_web::web;
use futures_util::StreamExt;

use crate::domain::TextError;
use crate::routes::error::AppError;

/// The largest sign request accepted. A full form in Armenian with a 500-character comment,
/// percent-encoded, is under 10 KiB.
pub const MAX_BODY: usize = 32 * 1024;

/// The message of a signer's text field (`name`, `comment`, `postcode`) that did not parse:
/// the sign form's and the confirm form's.
pub fn text_error_key(field: &str, e: TextError) -> &'static str {
    match (field, e) {
        ("name", TextError::Missing) => "error.name.missing",
        ("name", TextError::TooLong) => "error.name.too_long",
        ("name", TextError::ControlCharacters) => "error.name.control",
        ("comment", TextError::ControlCharacters) => "error.comment.control",
        ("comment", _) => "error.comment.too_long",
        _ => "error.postcode.invalid",
    }
}

/// A checkbox counts as ticked only when it sent a value (browsers send `on` or its `value`).
pub fn checked(field: &Option<String>) -> bool {
    field.as_deref().is_some_and(|v| !v.trim().is_empty())
}

/// A form's body, refused past [`MAX_BODY`] with a page that says so.
pub async fn read_body(mut payload: web::Payload) -> Result<web::BytesMut, AppError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| AppError::BadRequest("error.bad_request.message"))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(AppError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
