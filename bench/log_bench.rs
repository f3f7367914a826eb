//! The signed log at scale, on a fresh SQLite file: appends N events (default 1,000,000)
//! through the sequencer's own use case, then times inclusion and consistency proofs taken
//! from the stored subtrees, and checks a sample of them.
//!
//! Run: `cargo run --release --example log_bench [-- N]` (bench/log.sh does exactly this).

use std::time::Instant;

use undersigned::db::{self, log as dblog};
use undersigned::domain::{GoalLadder, Slug};
use undersigned::log::entry::EventKind;
use undersigned::log::{LogSigner, merkle};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() -> anyhow::Result<()> {
    let n: i64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile_dir()?;
    let url = format!("sqlite://{}/bench.db", dir.display());
    let pool = db::connect(&url, 2)?;
    let mut conn = pool.get()?;
    db::migrate(&mut conn)?;
    let petition = db::petitions::create(
        &mut conn,
        &db::petitions::NewPetition {
            slug: Slug::parse("bench").map_err(|e| anyhow::anyhow!("{e:?}"))?,
            title: "Bench".into(),
            summary: String::new(),
            body_markdown: String::new(),
            started_by: String::new(),
            owner_email: None,
            goals: GoalLadder::parse(vec![1_000_000]).map_err(|e| anyhow::anyhow!("{e:?}"))?,
            targets: vec![],
            created_at: db::now(),
            closes_at: None,
            language: undersigned::i18n::Lang::En,
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    {
        use diesel::prelude::*;
        use undersigned::db::schema::petitions as p;
        diesel::update(p::table.find(petition))
            .set(p::log_started.eq(true))
            .execute(&mut *conn)?;
    }
    let keys =
        undersigned::keys::Keys::derive(b"a bench master key, thirty-two chars", String::new());
    let signer = LogSigner::new(
        keys.log_signing_seed(),
        &url::Url::parse("https://petitions.example")?,
    );

    // Queue the events (what confirmations do, one row each), then sequence them.
    let queued = Instant::now();
    let now = db::now();
    for start in (0..n).step_by(10_000) {
        let events: Vec<dblog::NewEvent> = (start..(start + 10_000).min(n))
            .map(|i| dblog::NewEvent {
                petition_id: petition,
                kind: EventKind::Confirmed,
                delta: 1,
                commitment: Some(format!("{:064x}", i)),
                batch: None,
                receipt: Some(format!("{:064x}", i + 1)),
                at: now,
            })
            .collect();
        db::write_tx(&mut conn, |c| dblog::record(c, &events))?;
    }
    let queued = queued.elapsed();
    let appending = Instant::now();
    let mut appended = 0;
    while appended < n as usize {
        let got = undersigned::usecases::log::sequence(&mut conn, petition, &signer, db::now())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if got == 0 {
            break;
        }
        appended += got;
    }
    let appending = appending.elapsed();
    let latest =
        dblog::latest(&mut conn, petition)?.ok_or_else(|| anyhow::anyhow!("no checkpoint"))?;
    let root: merkle::Hash = latest.root.as_slice().try_into()?;
    let size = latest.size as u64;

    // Proofs against the final tree, as the endpoints compute them (fresh cache each time).
    let mut inclusion = vec![];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for k in 0..1_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let index = x % size;
        let t = Instant::now();
        let proof = dblog::inclusion_proof(&mut conn, petition, index, size)?;
        inclusion.push(t.elapsed().as_secs_f64() * 1000.0);
        if k % 100 == 0 {
            let data = dblog::entries(&mut conn, petition, index as i64, index as i64 + 1)?;
            let leaf = merkle::leaf_hash(data[0].1.as_bytes());
            anyhow::ensure!(merkle::verify_inclusion(index, size, &leaf, &proof, &root));
        }
    }
    inclusion.sort_by(f64::total_cmp);
    let t = Instant::now();
    let consistency = dblog::consistency_proof(&mut conn, petition, size / 3 + 1, size)?;
    let consistency_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let mut nodes = dblog::Nodes {
        conn: &mut conn,
        petition_id: petition,
        cache: Default::default(),
    };
    let old_root = merkle::root(&mut nodes, size / 3 + 1)?;
    let root_ms = t.elapsed().as_secs_f64() * 1000.0;
    anyhow::ensure!(merkle::verify_consistency(
        size / 3 + 1,
        size,
        &old_root,
        &root,
        &consistency
    ));

    println!("events:              {n}");
    println!(
        "queueing:            {:.1} s ({:.0} events/s)",
        queued.as_secs_f64(),
        n as f64 / queued.as_secs_f64()
    );
    println!(
        "sequencing:          {:.1} s ({:.0} entries/s, with a signed checkpoint every {} entries)",
        appending.as_secs_f64(),
        n as f64 / appending.as_secs_f64(),
        undersigned::usecases::log::MAX_BATCH
    );
    println!(
        "inclusion proof:     p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (1,000 random entries)",
        percentile(&inclusion, 0.5),
        percentile(&inclusion, 0.99),
        inclusion[inclusion.len() - 1]
    );
    println!(
        "consistency proof:   {consistency_ms:.2} ms ({} hashes)",
        consistency.len()
    );
    println!("root of an old size: {root_ms:.2} ms");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("undersigned-log-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
