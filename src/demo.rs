//! Demonstration petitions modelled on real campaigns, with synthetic confirmed signatures
//! spread over countries and weeks. Addresses are under example.org, which never receives mail.

use chrono::{NaiveDateTime, TimeDelta};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::db::{self, DbConnection, petitions::NewPetition};
use crate::domain::{GoalLadder, Slug};
use crate::usecases::signing::Imported;

struct DemoPetition {
    slug: &'static str,
    title: &'static str,
    summary: &'static str,
    body: &'static str,
    started_by: &'static str,
    targets: &'static [&'static str],
    goals: &'static [i64],
    signatures: usize,
    days: i64,
    /// Versions in other languages: `(lang, title, summary, body, addressees)`.
    translations: &'static [DemoTranslation],
}

type DemoTranslation = (
    crate::i18n::Lang,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

const OSCE_TRANSLATIONS: [DemoTranslation; 3] = [
    (
        crate::i18n::Lang::Hy,
        "Գործարկել ԵԱՀԿ Մոսկովյան մեխանիզմը Բաքվում պահվող հայ գերիների համար",
        "Խնդրել ԵԱՀԿ մասնակից պետություններին ուղարկել անկախ փորձագետներ՝ ուսումնասիրելու Ադրբեջանում հայ գերիների կալանքն ու դատավարությունները։",
        "Հայ ռազմագերիներն ու քաղաքացիական անձինք շարունակում են պահվել Բաքվում։ Նրանց ընտանիքները գրեթե լուր չունեն նրանցից, իսկ անկախ դիտորդները չեն կարողացել հետևել դատավարություններին։\n\n\
**ԵԱՀԿ Մոսկովյան մեխանիզմը** թույլ է տալիս մասնակից պետություններին ուղարկել անկախ փորձագետների առաքելություն՝ ուսումնասիրելու մարդու իրավունքների լուրջ իրավիճակը։ Մենք խնդրում ենք ԵԱՀԿ-ին և նրա մասնակից պետություններին՝\n\n\
1. գործարկել Մոսկովյան մեխանիզմը Ադրբեջանում հայ գերիների կալանքի և դատավարությունների վերաբերյալ,\n\
2. պահանջել մուտք ԿԽՄԿ-ի և անկախ դիտորդների համար,\n\
3. հրապարակայնորեն զեկուցել իրենց եզրակացությունների մասին։\n\n\
*Ցուցադրական տվյալներ. այս էջի ստորագրությունները հորինված են։*",
        &[
            "ԵԱՀԿ գործող նախագահ",
            "ԵԱՀԿ գլխավոր քարտուղար",
            "ԵԱՀԿ Ժողովրդավարական հաստատությունների և մարդու իրավունքների գրասենյակ (ԺՀՄԻԳ)",
            "ԵԱՀԿ Մշտական խորհրդում մշտական ներկայացուցիչներ",
        ],
    ),
    (
        crate::i18n::Lang::Fr,
        "Déclencher le mécanisme de Moscou de l’OSCE pour les prisonniers arméniens détenus à Bakou",
        "Demander aux États participants de l’OSCE d’envoyer des experts indépendants examiner la détention et les procès des prisonniers arméniens en Azerbaïdjan.",
        "Des prisonniers de guerre et des civils arméniens restent détenus à Bakou. Leurs familles n’ont que peu ou pas de nouvelles d’eux, et aucun observateur indépendant n’a pu suivre leurs procès.\n\n\
Le **mécanisme de Moscou de l’OSCE** permet aux États participants d’envoyer une mission d’experts indépendants examiner une situation grave en matière de droits humains. Nous demandons à l’OSCE et à ses États participants :\n\n\
1. d’invoquer le mécanisme de Moscou au sujet de la détention et des procès des prisonniers arméniens en Azerbaïdjan ;\n\
2. de demander un accès pour le CICR et pour des observateurs indépendants ;\n\
3. de rendre publiques leurs conclusions.\n\n\
*Données de démonstration : les signatures de cette page sont fictives.*",
        &[
            "Président en exercice de l’OSCE",
            "Secrétaire général de l’OSCE",
            "Bureau des institutions démocratiques et des droits de l’homme de l’OSCE (BIDDH)",
            "Représentants permanents auprès du Conseil permanent de l’OSCE",
        ],
    ),
    (
        crate::i18n::Lang::Ru,
        "Задействовать Московский механизм ОБСЕ в отношении армянских пленных, удерживаемых в Баку",
        "Призвать государства — участники ОБСЕ направить независимых экспертов для изучения условий содержания и судебных процессов над армянскими пленными в Азербайджане.",
        "Армянские военнопленные и гражданские лица по-прежнему удерживаются в Баку. Их семьи почти ничего о них не знают, а независимые наблюдатели не смогли следить за судебными процессами.\n\n\
**Московский механизм ОБСЕ** позволяет государствам-участникам направить миссию независимых экспертов для изучения серьёзной ситуации с правами человека. Мы призываем ОБСЕ и её государства-участники:\n\n\
1. задействовать Московский механизм в связи с содержанием под стражей и судебными процессами над армянскими пленными в Азербайджане;\n\
2. добиться доступа к ним для МККК и независимых наблюдателей;\n\
3. публично сообщить о своих выводах.\n\n\
*Демонстрационные данные: подписи на этой странице вымышлены.*",
        &[
            "Действующий председатель ОБСЕ",
            "Генеральный секретарь ОБСЕ",
            "Бюро ОБСЕ по демократическим институтам и правам человека (БДИПЧ)",
            "Постоянные представители при Постоянном совете ОБСЕ",
        ],
    ),
];

const PETITIONS: [DemoPetition; 2] = [
    DemoPetition {
        slug: "osce-moscow-mechanism",
        title: "Trigger the OSCE Moscow Mechanism for the Armenian prisoners held in Baku",
        summary: "Ask OSCE participating States to send independent experts to examine the detention and trials of Armenian prisoners in Azerbaijan.",
        body: "Armenian prisoners of war and civilians remain detained in Baku. Families have little or no news of them, and independent observers have not been able to follow their trials.\n\n\
The **OSCE Moscow Mechanism** lets participating States send a mission of independent experts to examine a serious human-rights situation. We ask the OSCE and its participating States to:\n\n\
1. invoke the Moscow Mechanism on the detention and trials of Armenian prisoners in Azerbaijan;\n\
2. ask for access for the ICRC and for independent monitors;\n\
3. report publicly on their findings.\n\n\
*Demonstration data: the signatures on this page are synthetic.*",
        started_by: "Armenian diaspora human-rights volunteers",
        targets: &[
            "OSCE Chairperson-in-Office",
            "OSCE Secretary General",
            "OSCE Office for Democratic Institutions and Human Rights (ODIHR)",
            "Permanent Representatives to the OSCE Permanent Council",
        ],
        goals: &[5_500],
        signatures: 3_807,
        days: 56,
        translations: &OSCE_TRANSLATIONS,
    },
    DemoPetition {
        slug: "un-secretary-general-free-the-prisoners",
        title: "Free the Armenian prisoners: an appeal to the UN Secretary-General",
        summary: "An appeal to the UN Secretary-General and ten others to act for the release of Armenian prisoners held in Azerbaijan.",
        body: "We call on the Secretary-General of the United Nations and the officials listed above to use every means at their disposal to secure the **release of Armenian prisoners** held in Azerbaijan, and until then to ensure that they are treated humanely, can contact their families and receive fair trials.\n\n\
*Demonstration data: the signatures on this page are synthetic.*",
        started_by: "Coalition for Armenian detainees",
        targets: &[
            "UN Secretary-General",
            "UN High Commissioner for Human Rights",
            "UN Working Group on Arbitrary Detention",
            "UN Special Rapporteur on Torture",
            "UN Special Rapporteur on Human Rights Defenders",
            "President of the International Committee of the Red Cross",
            "Council of Europe Commissioner for Human Rights",
            "President of the Parliamentary Assembly of the Council of Europe",
            "President of the European Parliament",
            "EU High Representative for Foreign Affairs",
            "OSCE Chairperson-in-Office",
        ],
        goals: &[10_000, 25_000, 40_000, 50_000],
        signatures: 42_424,
        days: 120,
        translations: &[],
    },
];

const FIRST: [&str; 24] = [
    "Անի",
    "Արամ",
    "Նարեկ",
    "Լուսինե",
    "Gor",
    "Mariam",
    "Tigran",
    "Sona",
    "Camille",
    "Julien",
    "Élodie",
    "Lucas",
    "Анна",
    "Дмитрий",
    "Ольга",
    "Артём",
    "Sarah",
    "James",
    "Emily",
    "Daniel",
    "Lena",
    "Marco",
    "Nour",
    "Karine",
];
const LAST: [&str; 24] = [
    "Պետրոսյան",
    "Հովհաննիսյան",
    "Սարգսյան",
    "Grigoryan",
    "Hakobyan",
    "Avetisyan",
    "Martin",
    "Bernard",
    "Dubois",
    "Petit",
    "Ованесян",
    "Саркисян",
    "Иванова",
    "Петров",
    "Smith",
    "Brown",
    "Wilson",
    "Karapetian",
    "Müller",
    "Rossi",
    "Haddad",
    "Aznavourian",
    "Kasparian",
    "Der-Bedrossian",
];
/// Where diaspora petitions are signed from, roughly; the rest spread over other countries.
const COUNTRIES: [(&str, u32); 16] = [
    ("AM", 300),
    ("FR", 150),
    ("US", 120),
    ("RU", 90),
    ("LB", 40),
    ("DE", 40),
    ("GB", 35),
    ("CA", 35),
    ("AR", 25),
    ("IR", 20),
    ("GE", 20),
    ("BE", 20),
    ("NL", 15),
    ("CH", 15),
    ("AU", 15),
    ("IT", 15),
];
const OTHERS: [&str; 10] = ["SY", "GR", "CY", "ES", "SE", "UA", "BR", "UY", "AT", "PL"];

fn country(rng: &mut StdRng) -> &'static str {
    let total: u32 = COUNTRIES.iter().map(|(_, w)| w).sum::<u32>() + 45;
    let mut pick = rng.random_range(0..total);
    for (code, w) in COUNTRIES {
        if pick < w {
            return code;
        }
        pick -= w;
    }
    OTHERS[rng.random_range(0..OTHERS.len())]
}

/// Loads the demo petitions that are not there yet; returns a line per petition.
pub fn load(conn: &mut DbConnection, keys: &crate::keys::Keys) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    let now = db::now();
    for (i, demo) in PETITIONS.iter().enumerate() {
        if db::petitions::find_by_slug(conn, demo.slug)?.is_some() {
            lines.push(format!("{}\talready loaded", demo.slug));
            continue;
        }
        let created_at = now - TimeDelta::days(demo.days);
        let created = crate::usecases::petitions::create(
            conn,
            None,
            &NewPetition {
                slug: Slug::parse(demo.slug).map_err(anyhow::Error::msg)?,
                title: demo.title.to_string(),
                summary: demo.summary.to_string(),
                body_markdown: demo.body.to_string(),
                started_by: demo.started_by.to_string(),
                owner_email: None,
                goals: GoalLadder::parse(demo.goals.to_vec()).map_err(anyhow::Error::msg)?,
                targets: demo.targets.iter().map(|t| t.to_string()).collect(),
                created_at,
                closes_at: None,
                language: crate::i18n::Lang::En,
            },
        )?;
        let Some(id) = created.value else {
            lines.push(format!("{}\talready loaded", demo.slug));
            continue;
        };
        for &(lang, title, summary, body, targets) in demo.translations {
            let translation = db::petitions::Translation {
                lang,
                text: crate::domain::PetitionText {
                    title: title.to_string(),
                    summary: summary.to_string(),
                    body_markdown: body.to_string(),
                    targets: targets.iter().map(|t| t.to_string()).collect(),
                },
            };
            // What it changed needs no acting on: no server shows it before it is loaded.
            let _loaded = crate::usecases::petitions::translate(
                conn,
                None,
                id,
                &translation,
                None,
                created_at,
            )?;
        }
        let mut rng = StdRng::seed_from_u64(i as u64 + 1);
        insert_signatures(conn, keys, &mut rng, id, demo, created_at, now)?;
        lines.push(format!(
            "{}\t{} confirmed signatures",
            demo.slug, demo.signatures
        ));
    }
    Ok(lines)
}

fn insert_signatures(
    conn: &mut DbConnection,
    keys: &crate::keys::Keys,
    rng: &mut StdRng,
    petition_id: i32,
    demo: &DemoPetition,
    created_at: NaiveDateTime,
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    let span = (now - created_at).num_seconds().max(1) as f64;
    // Most signatures come early, as a campaign is shared, then a long tail.
    let mut times: Vec<NaiveDateTime> = (0..demo.signatures)
        .map(|_| {
            let u: f64 = rng.random();
            created_at + TimeDelta::seconds((u.powf(2.2) * span) as i64)
        })
        .collect();
    times.sort();
    let signers: Vec<Imported> = times
        .iter()
        .enumerate()
        .map(|(n, &signed)| {
            let first = FIRST[rng.random_range(0..FIRST.len())];
            let last = LAST[rng.random_range(0..LAST.len())];
            let confirmed = (signed + TimeDelta::seconds(rng.random_range(30..7200))).min(now);
            let code = country(rng);
            let display = match rng.random_range(0..10) {
                0..4 => crate::domain::NameDisplay::None,
                4..7 => crate::domain::NameDisplay::Initials,
                _ => crate::domain::NameDisplay::Full,
            };
            Ok(Imported {
                name: format!("{first} {last}"),
                email: crate::domain::SignerEmail::parse(&format!(
                    "demo-{petition_id}-{n}@example.org"
                ))
                .map_err(|e| anyhow::anyhow!("demo address: {e}"))?,
                country: crate::domain::Country::parse(code)
                    .map_err(|_| anyhow::anyhow!("demo country {code}"))?,
                display,
                signed_at: signed,
                confirmed_at: confirmed,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    // A running server's sequencer that started this petition's log meanwhile makes the demo
    // stop here rather than count signatures the log would never see.
    crate::usecases::signing::import_confirmed(conn, keys, petition_id, &signers).map_err(|e| {
        match e {
            crate::usecases::UseCaseError::Unavailable(_) => anyhow::anyhow!(
                "a running server started this petition's signed log while the demo loaded \
                 it; load the demo into a fresh database"
            ),
            other => other.into(),
        }
    })?;
    Ok(())
}
