//! The delivery package from the dashboard (the same ZIP as `undersigned delivery-package`),
//! and recording a delivery: which package went to whom, and when. The petition then shows
//! the delivered checkpoint publicly.

use std::io::{Read, Seek, SeekFrom};

use actix_web::{HttpResponse, post, web};
use serde::Deserialize;

use crate::db;
use crate::db::deliveries::PackageSummary;
use crate::package::{self, PackageError};
use crate::routes::AppState;
use crate::routes::error::AppError;
use crate::routes::extract::guards::{ManagedPetition, Posted};
use crate::routes::organizer::to_petition_section;

crate::with_csrf!(PackageRequest, DeliveryRequest);
use crate::usecases::{self, deliveries::DeliveryForm};

impl From<PackageError> for AppError {
    fn from(e: PackageError) -> AppError {
        match e {
            PackageError::UseCase(e) => e.into(),
            PackageError::Db(e) => e.into(),
            other => AppError::Internal(other.into()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PackageRequest {
    #[serde(default)]
    csrf_token: String,
    /// Include email addresses (`on`); off by default.
    #[serde(default)]
    emails: Option<String>,
}

/// Makes the package and sends it as a download. It is written to an unlinked file in
/// `data_dir`, so nothing of it stays on disk after the download, whatever happens.
#[post("/petitions/{slug}/package")]
pub async fn make(
    state: web::Data<AppState>,
    Posted(form, petition): Posted<PackageRequest, ManagedPetition>,
) -> Result<HttpResponse, AppError> {
    let (who, view) = (petition.organizer.who, petition.view);
    let with_emails = form.emails.is_some();
    let petition = view.petition;
    let slug = petition.slug.clone();
    let dir = state.settings.data_dir.join("tmp");
    let base = state.base_url.as_str().trim_end_matches('/').to_string();
    let signer = state.log.clone();
    let keys = state.keys.clone();
    let pool = state.pool.clone();
    let now = db::now();
    let (file, made) = web::block(
        move || -> Result<(std::fs::File, PackageSummary), AppError> {
            crate::files::private_dir(&dir)?;
            let path = dir.join(format!(
                "package-{}.zip",
                crate::domain::ConfirmationToken::generate().as_str()
            ));
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(anyhow::Error::from)?;
            std::fs::remove_file(&path).map_err(anyhow::Error::from)?;
            let mut conn = pool.get().map_err(db::DbError::from)?;
            let site = package::Site {
                base_url: &base,
                signer: &signer,
                keys: &keys,
            };
            let made = package::build(
                &mut conn,
                &petition,
                &site,
                with_emails,
                Some(who.id),
                &mut file,
            )?;
            file.seek(SeekFrom::Start(0)).map_err(anyhow::Error::from)?;
            Ok((file, made))
        },
    )
    .await
    .map_err(|_| AppError::Internal(anyhow::anyhow!("making the package panicked")))??;
    tracing::info!(petition.slug = %slug, organizer.id = who.id, entries = made.size, "delivery package made");
    // Making it signed a checkpoint of the petition's log (and started the log if it had not):
    // the page and the JSON show the latest one.
    state.apply(&crate::usecases::Changes::petition(&slug));
    let chunks = futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let read = web::block(move || {
            let mut buf = vec![0u8; 1 << 16];
            let n = file.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((file, buf))
        })
        .await;
        match read {
            Ok(Ok((_, buf))) if buf.is_empty() => None,
            Ok(Ok((file, buf))) => Some((Ok(web::Bytes::from(buf)), Some(file))),
            Ok(Err(e)) => Some((Err(actix_web::error::ErrorInternalServerError(e)), None)),
            Err(e) => Some((Err(actix_web::error::ErrorInternalServerError(e)), None)),
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"{slug}-delivery-{}.zip\"",
                now.format("%Y%m%d-%H%M")
            ),
        ))
        .streaming(chunks))
}

#[derive(Debug, Default, Deserialize)]
pub struct DeliveryRequest {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    package: String,
    #[serde(default)]
    recipient: String,
    #[serde(default)]
    delivered_on: String,
}

impl DeliveryRequest {
    fn check(&self, now: chrono::NaiveDateTime) -> Result<DeliveryForm, AppError> {
        let package_id = self
            .package
            .trim()
            .parse()
            .map_err(|_| AppError::BadRequest("error.delivery.package"))?;
        let recipient = crate::domain::Recipient::parse(&self.recipient)
            .map_err(|_| AppError::BadRequest("error.delivery.recipient"))?;
        let delivered_on = crate::routes::parse_day(&self.delivered_on)?
            .ok_or(AppError::BadRequest("error.delivery.date"))?;
        // A delivery is recorded after it happened (a day's grace for time zones).
        if delivered_on > now + chrono::TimeDelta::days(1) {
            return Err(AppError::BadRequest("error.delivery.date"));
        }
        Ok(DeliveryForm {
            package_id,
            recipient: recipient.as_str().to_string(),
            delivered_on,
        })
    }
}

/// Records a delivery of one of the petition's packages.
#[post("/petitions/{slug}/deliveries")]
pub async fn record(
    state: web::Data<AppState>,
    Posted(form, petition): Posted<DeliveryRequest, ManagedPetition>,
) -> Result<HttpResponse, AppError> {
    let (who, view) = (petition.organizer.who, petition.view);
    let now = db::now();
    let delivery = form.check(now)?;
    let petition_id = view.petition.id;
    state
        .act(move |c| usecases::deliveries::record(c, Some(who.id), petition_id, &delivery, now))
        .await?;
    Ok(to_petition_section(&view.petition.slug, "deliveries"))
}
