//! Sealed signer data at scale. Fills the petition `--slug` (created if missing) of the site the
//! `UNDERSIGNED_*` environment names with N confirmed signatures, each sealed under the site's
//! key as the sign path seals them, then times the organizers' searches on them: a name (each
//! row opened), an exact address (its keyed hash), and a page of the unfiltered list.
//!
//! Run: `cargo run --release --example signer_data -- N [SLUG]` (bench/export_1m.sh and
//! bench/search.sh do).

use std::time::Instant;

use diesel::prelude::*;
use undersigned::db::{self, schema::signatures, views::signers};
use undersigned::domain::{GoalLadder, NameDisplay, Slug};
use undersigned::sealed::{Personal, Purpose};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: i32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let slug = args.next().unwrap_or_else(|| "million".to_string());
    let settings = undersigned::config::Settings::load(None)?;
    let keys = undersigned::secrets::load(&settings)?;
    let pool = db::connect(&settings.database_url, 2)?;
    let mut conn = pool.get()?;
    undersigned::usecases::keys::prepare(&mut conn, &keys)?;
    // As the server opens a database: its own index key, its hashes bound to their petitions.
    let keys = undersigned::usecases::keys::with_index_key(&mut conn, keys)?;
    undersigned::usecases::keys::bind_to_petitions(&mut conn, &keys)?;
    let petition = match db::petitions::find_by_slug(&mut conn, &slug)? {
        Some(p) => p.id,
        None => db::petitions::create(
            &mut conn,
            &db::petitions::NewPetition {
                slug: Slug::parse(&slug).map_err(|e| anyhow::anyhow!("{e:?}"))?,
                title: "Bench".into(),
                summary: String::new(),
                body_markdown: String::new(),
                started_by: String::new(),
                owner_email: None,
                goals: GoalLadder::parse(vec![i64::from(n).max(1)])
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?,
                targets: vec![],
                created_at: db::now(),
                closes_at: None,
                language: undersigned::i18n::Lang::En,
            },
        )?,
    };

    let started = Instant::now();
    let now = db::now();
    for first in (0..n).step_by(1_000) {
        let rows: Vec<_> = (first..(first + 1_000).min(n))
            .map(|i| {
                let name = match i % 3 {
                    0 => format!("Անի Պետրոսյան {i}"),
                    1 => format!("Ольга Иванова {i}"),
                    _ => format!("=Camille Martin {i}"),
                };
                let email = format!("signer{i}@example.org");
                let personal = Personal {
                    name,
                    email: email.clone(),
                    postcode: None,
                    comment: None,
                };
                (
                    signatures::petition_id.eq(petition),
                    signatures::personal.eq(Some(keys.seal(Purpose::Signature, &personal))),
                    signatures::email_key.eq(keys.email_index(petition, &email)),
                    signatures::domain_key.eq(Some(keys.domain_index_of(petition, &email))),
                    signatures::country.eq(["AM", "FR", "RU", "US"][i as usize % 4]),
                    signatures::public.eq(i % 2 == 0),
                    signatures::display.eq(if i % 2 == 0 {
                        NameDisplay::Initials.as_str()
                    } else {
                        NameDisplay::None.as_str()
                    }),
                    signatures::locale.eq("en"),
                    signatures::status.eq("confirmed"),
                    signatures::number.eq(i + 1),
                    signatures::created_at.eq(now),
                    signatures::confirmed_at.eq(Some(now)),
                    (
                        signatures::emails_sent.eq(1),
                        signatures::commitment.eq(Some(format!("{:064x}", i))),
                    ),
                )
            })
            .collect();
        conn.transaction::<_, diesel::result::Error, _>(|c| {
            undersigned::with_backend!(&mut **c, |c| diesel::insert_into(signatures::table)
                .values(&rows)
                .execute(c))
        })?;
    }
    diesel::update(undersigned::db::schema::petitions::table.find(petition))
        .set((
            undersigned::db::schema::petitions::signature_count.eq(i64::from(n)),
            undersigned::db::schema::petitions::last_number.eq(n),
        ))
        .execute(&mut conn)?;
    println!(
        "sealed and stored {n} signatures in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let time = |what: &str, criteria: signers::Criteria, conn: &mut db::PooledConnection| {
        let started = Instant::now();
        let (rows, total) = signers::list(conn, &keys, petition, &criteria, 0)?;
        println!(
            "{what}: {total} matching, first page of {} in {:.0} ms",
            rows.len(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        anyhow::Ok(())
    };
    time("list, no filter", signers::Criteria::default(), &mut conn)?;
    time(
        "list, no filter (again)",
        signers::Criteria::default(),
        &mut conn,
    )?;
    time(
        "search by exact address",
        signers::Criteria {
            email_index: Some(keys.email_index(petition, &format!("signer{}@example.org", n / 2))),
            ..Default::default()
        },
        &mut conn,
    )?;
    time(
        "search by part of a name (every row opened)",
        signers::Criteria {
            text: Some(format!("иванова {}", n - n % 3 - 2)),
            ..Default::default()
        },
        &mut conn,
    )?;
    Ok(())
}
