//! Operations: metrics for whoever runs the site, an OpenAPI document for whoever builds on it.

use crate::helpers::{Mail, spawn_app_with, spawn_client};

#[tokio::test]
async fn metrics_need_the_token_from_anywhere_but_this_machine() {
    let app = spawn_app_with(
        Mail::Memory,
        &[("metrics_token", "s3cret-token-for-metrics")],
    )
    .await;
    app.create_petition("p-metrics", &[100]).await;
    assert_eq!(app.sign("p-metrics", &[]).await.status().as_u16(), 303);
    app.wait_for_emails(1).await;
    let get = |headers: Vec<(&'static str, &'static str)>| {
        let url = format!("{}/metrics", app.address);
        async move {
            let mut req = spawn_client().get(url);
            for (k, v) in headers {
                req = req.header(k, v);
            }
            req.send().await.unwrap()
        }
    };
    // Through a proxy (the request names another client): the token is needed, and checked.
    for headers in [
        vec![("X-Forwarded-For", "203.0.113.9")],
        vec![("Forwarded", "for=203.0.113.9")],
        vec![
            ("X-Forwarded-For", "203.0.113.9"),
            ("Authorization", "Bearer wrong"),
        ],
        vec![
            ("X-Forwarded-For", "203.0.113.9"),
            ("Authorization", "Basic czNjcmV0"),
        ],
    ] {
        let res = get(headers.clone()).await;
        assert_eq!(res.status().as_u16(), 401, "{headers:?}");
        let body = res.text().await.unwrap();
        assert!(!body.contains("undersigned_"), "{headers:?}: {body}");
    }
    let res = get(vec![
        ("X-Forwarded-For", "203.0.113.9"),
        ("Authorization", "Bearer s3cret-token-for-metrics"),
    ])
    .await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body = res.text().await.unwrap();
    for line in [
        "undersigned_signatures_signed_total 1",
        "undersigned_signatures_counted 0",
        "undersigned_http_requests_total{method=\"POST\",route=\"/petitions/{slug}/sign\",status=\"303\"} 1",
        "undersigned_http_request_duration_seconds_count{route=\"/petitions/{slug}/sign\"} 1",
        "undersigned_db_pool_connections ",
        "undersigned_outbox_depth ",
        "undersigned_log_lag_seconds ",
    ] {
        assert!(body.contains(line), "{line}\n{body}");
    }
    assert!(
        !body.contains("ani@example.org") && !body.contains("/confirm/"),
        "{body}"
    );
    // From this machine itself, as a local scraper asks: no token needed.
    assert_eq!(get(vec![]).await.status().as_u16(), 200);
}

#[tokio::test]
async fn without_a_token_metrics_are_for_this_machine_only() {
    let app = crate::helpers::spawn_app().await;
    let res = spawn_client()
        .get(format!("{}/metrics", app.address))
        .header("X-Forwarded-For", "198.51.100.4")
        .header("Authorization", "Bearer ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
}
