//! Delivery packages made and deliveries recorded. A package's ZIP is not kept (it holds
//! personal data); its row says what it held and which checkpoint it carried. A delivery
//! keeps a copy of the checkpoint handed over, shown publicly with the petition.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{deliveries, delivery_packages};
use super::{DbConnection, DbError};

/// What a package holds, for the caller to record and report.
#[derive(Clone, Debug, Queryable)]
pub struct PackageSummary {
    pub size: i64,
    pub total: i64,
    pub signatures: i64,
    pub paper: i64,
    pub with_emails: bool,
    /// Hex SHA-256 of `manifest.json`: names this package.
    pub manifest_sha256: String,
}

/// A package made, as the dashboard lists it.
#[derive(Clone, Debug, Queryable)]
pub struct Package {
    pub id: i32,
    pub petition_id: i32,
    pub organizer_id: Option<i32>,
    pub created_at: NaiveDateTime,
    pub made: PackageSummary,
}

/// The columns of a [`Package`], in its order.
macro_rules! package_columns {
    () => {
        (
            delivery_packages::id,
            delivery_packages::petition_id,
            delivery_packages::organizer_id,
            delivery_packages::created_at,
            (
                delivery_packages::size,
                delivery_packages::total,
                delivery_packages::signatures,
                delivery_packages::paper,
                delivery_packages::with_emails,
                delivery_packages::manifest_sha256,
            ),
        )
    };
}

pub struct NewPackage<'a> {
    pub petition_id: i32,
    pub organizer_id: Option<i32>,
    pub created_at: NaiveDateTime,
    pub made: &'a PackageSummary,
}

pub fn add_package(conn: &mut DbConnection, p: &NewPackage<'_>) -> Result<i32, DbError> {
    Ok(diesel::insert_into(delivery_packages::table)
        .values((
            delivery_packages::petition_id.eq(p.petition_id),
            delivery_packages::organizer_id.eq(p.organizer_id),
            delivery_packages::created_at.eq(p.created_at),
            delivery_packages::size.eq(p.made.size),
            delivery_packages::total.eq(p.made.total),
            delivery_packages::signatures.eq(p.made.signatures),
            delivery_packages::paper.eq(p.made.paper),
            delivery_packages::with_emails.eq(p.made.with_emails),
            delivery_packages::manifest_sha256.eq(&p.made.manifest_sha256),
        ))
        .returning(delivery_packages::id)
        .get_result(conn)?)
}

/// A petition's packages, newest first (the last 50).
pub fn packages(conn: &mut DbConnection, petition_id: i32) -> Result<Vec<Package>, DbError> {
    Ok(delivery_packages::table
        .filter(delivery_packages::petition_id.eq(petition_id))
        .order(delivery_packages::id.desc())
        .limit(50)
        .select(package_columns!())
        .load(conn)?)
}

/// One package of a petition (`None` for another petition's id).
pub fn package(
    conn: &mut DbConnection,
    petition_id: i32,
    id: i32,
) -> Result<Option<Package>, DbError> {
    Ok(delivery_packages::table
        .filter(delivery_packages::petition_id.eq(petition_id))
        .filter(delivery_packages::id.eq(id))
        .select(package_columns!())
        .first(conn)
        .optional()?)
}

/// A delivery as shown with the petition.
#[derive(Clone, Debug, Queryable)]
pub struct Delivery {
    pub id: i32,
    pub recipient: String,
    pub delivered_on: NaiveDateTime,
    pub size: i64,
    pub total: i64,
    pub checkpoint: String,
}

pub struct NewDelivery<'a> {
    pub petition_id: i32,
    pub package_id: i32,
    pub organizer_id: Option<i32>,
    pub recipient: &'a str,
    pub delivered_on: NaiveDateTime,
    pub size: i64,
    pub total: i64,
    pub checkpoint: &'a str,
    pub created_at: NaiveDateTime,
}

pub fn add_delivery(conn: &mut DbConnection, d: &NewDelivery<'_>) -> Result<i32, DbError> {
    Ok(diesel::insert_into(deliveries::table)
        .values((
            deliveries::petition_id.eq(d.petition_id),
            deliveries::package_id.eq(d.package_id),
            deliveries::organizer_id.eq(d.organizer_id),
            deliveries::recipient.eq(d.recipient),
            deliveries::delivered_on.eq(d.delivered_on),
            deliveries::size.eq(d.size),
            deliveries::total.eq(d.total),
            deliveries::checkpoint.eq(d.checkpoint),
            deliveries::created_at.eq(d.created_at),
        ))
        .returning(deliveries::id)
        .get_result(conn)?)
}

/// A petition's recorded deliveries, in the order they happened.
pub fn deliveries(conn: &mut DbConnection, petition_id: i32) -> Result<Vec<Delivery>, DbError> {
    Ok(deliveries::table
        .filter(deliveries::petition_id.eq(petition_id))
        .order((deliveries::delivered_on.asc(), deliveries::id.asc()))
        .select((
            deliveries::id,
            deliveries::recipient,
            deliveries::delivered_on,
            deliveries::size,
            deliveries::total,
            deliveries::checkpoint,
        ))
        .load(conn)?)
}
