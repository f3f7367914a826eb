//! Small numbers hidden: a country with fewer than `public_country_min` signatures is not
//! listed on its own in public (a lone signer from a country can be named by anyone who knows
//! who is from there); organizers still see every country.

use crate::helpers::{Mail, spawn_app_with};
use crate::organizers::{add_organizer, login};

#[tokio::test]
async fn countries_with_few_signers_are_summed_in_public_and_exact_for_organizers() {
    let app = spawn_app_with(Mail::Memory, &[]).await;
    add_organizer(&app, "ana@example.org", "correct horse battery", true);
    app.create_owned_petition("p-few", &[100], "ana@example.org")
        .await;
    let mut n = 0;
    for (country, count) in [("AM", 5), ("AZ", 1), ("GE", 2)] {
        for i in 0..count {
            let email = format!("{country}{i}@example.org");
            app.sign("p-few", &[("email", email.as_str()), ("country", country)])
                .await;
            n += 1;
        }
    }
    for raw in app.wait_for_emails(n).await {
        app.post_form(&app.confirmation_path(&raw), &[]).await;
    }
    assert_eq!(app.count("p-few").await, 8);

    let json = app.json("p-few").await;
    assert_eq!(
        json["signatures_by_country"],
        serde_json::json!([{"code": "AM", "count": 5}])
    );
    assert_eq!(json["signatures_in_other_countries"], 3);
    let page = app.text("/petitions/p-few").await;
    assert!(
        page.contains("<td>Armenia</td><td class=\"num\">5</td>"),
        "{page}"
    );
    assert!(
        page.contains("<td>Other countries</td><td class=\"num\">3</td>"),
        "{page}"
    );
    assert!(!page.contains("<td>Azerbaijan</td>"));
    assert!(!page.contains("<td>Georgia</td>"));
    // Nor does the list of recent signers name those countries beside a name.
    assert!(
        page.contains("<span class=\"country\">Armenia</span>"),
        "{page}"
    );
    assert!(
        !page.contains("<span class=\"country\">Azerbaijan</span>")
            && !page.contains("<span class=\"country\">Georgia</span>"),
        "{page}"
    );

    login(&app, "ana@example.org", "correct horse battery").await;
    let manage = app.text("/dashboard/petitions/p-few").await;
    assert!(
        manage.contains("Azerbaijan") && manage.contains("Georgia"),
        "{manage}"
    );

    // The operator may list every country (public_country_min = 1).
    let open =
        crate::helpers::spawn_app_on(app.db.clone(), Mail::Memory, &[("public_country_min", "1")])
            .await;
    let json = open.json("p-few").await;
    assert_eq!(json["signatures_by_country"].as_array().unwrap().len(), 3);
    assert_eq!(json["signatures_in_other_countries"], 0);
}
