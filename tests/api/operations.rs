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
async fn behind_a_trusted_proxy_metrics_always_need_the_token_and_methods_stay_few() {
    let app = spawn_app_with(
        Mail::Memory,
        &[
            ("metrics_token", "proxy-token-0123456789"),
            ("trust_proxy_headers", "true"),
            ("client_ip_header", "X-Real-IP"),
        ],
    )
    .await;
    // Every request comes from the proxy on this machine, forwarded header or not.
    for header in [None, Some(("X-Real-IP", "203.0.113.7"))] {
        let mut req = spawn_client().get(format!("{}/metrics", app.address));
        if let Some((k, v)) = header {
            req = req.header(k, v);
        }
        assert_eq!(
            req.send().await.unwrap().status().as_u16(),
            401,
            "{header:?}"
        );
    }
    // Made-up methods share one label: a flood of them cannot grow the metrics.
    for method in ["FOO1", "FOO2", "BAR"] {
        spawn_client()
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}/", app.address),
            )
            .send()
            .await
            .unwrap();
    }
    let body = spawn_client()
        .get(format!("{}/metrics", app.address))
        .bearer_auth("proxy-token-0123456789")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("method=\"OTHER\""), "{body}");
    assert!(!body.contains("FOO1") && !body.contains("BAR"), "{body}");
}

#[tokio::test]
async fn without_a_token_metrics_are_for_this_machine_only() {
    let app = crate::helpers::spawn_app().await;
    for (k, v) in [
        ("X-Forwarded-For", "198.51.100.4"),
        ("X-Real-IP", "198.51.100.4"),
    ] {
        let res = spawn_client()
            .get(format!("{}/metrics", app.address))
            .header(k, v)
            .header("Authorization", "Bearer ")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 401, "{k}");
    }
}

/// Whether `value` fits `schema` (the parts of JSON Schema the API's description uses: `$ref`,
/// `type` (one or several), `properties` with `required`, `items`, `oneOf`), and names no field
/// the description leaves out. Returns what does not fit.
fn fits(
    doc: &serde_json::Value,
    schema: &serde_json::Value,
    value: &serde_json::Value,
    at: &str,
) -> Vec<String> {
    use serde_json::Value;
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/components/schemas/");
        return fits(doc, &doc["components"]["schemas"][name], value, at);
    }
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        return if options.iter().any(|o| fits(doc, o, value, at).is_empty()) {
            vec![]
        } else {
            vec![format!("{at}: fits none of oneOf")]
        };
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let typed = types.is_empty()
        || types.contains(&kind)
        || (kind == "integer" && types.contains(&"number"));
    if !typed {
        return vec![format!("{at}: a {kind}, described as {types:?}")];
    }
    let mut wrong = vec![];
    match value {
        Value::Object(fields) => {
            let properties = schema["properties"].as_object();
            for required in schema["required"].as_array().into_iter().flatten() {
                let name = required.as_str().unwrap_or_default();
                if !fields.contains_key(name) {
                    wrong.push(format!("{at}.{name}: required, missing"));
                }
            }
            for (name, field) in fields {
                match properties.and_then(|p| p.get(name)) {
                    Some(s) => wrong.extend(fits(doc, s, field, &format!("{at}.{name}"))),
                    None if schema.get("additionalProperties").is_some() => wrong.extend(fits(
                        doc,
                        &schema["additionalProperties"],
                        field,
                        &format!("{at}.{name}"),
                    )),
                    None => wrong.push(format!("{at}.{name}: not described")),
                }
            }
        }
        Value::Array(items) if schema.get("items").is_some() => {
            for (i, item) in items.iter().enumerate() {
                wrong.extend(fits(doc, &schema["items"], item, &format!("{at}[{i}]")));
            }
        }
        _ => {}
    }
    wrong
}

#[tokio::test]
async fn the_openapi_document_describes_what_the_running_app_answers() {
    let app = crate::helpers::spawn_app_with(Mail::Memory, &[("log_interval_ms", "50")]).await;
    app.create_petition("p-doc", &[10, 100]).await;
    crate::translations::petition_in_four_languages(&app).await;
    let raw = app.get("/api/v1/openapi.json").await;
    assert_eq!(raw.status().as_u16(), 200);
    let doc: serde_json::Value = raw.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    // A petition with a signature, so that its log has a checkpoint.
    app.sign("p-doc", &[]).await;
    let link = app.confirmation_path(&app.wait_for_emails(1).await[0]);
    app.post_form(&link, &[]).await;
    crate::log::wait_for_log_total(&app, "p-doc", 1).await;

    let calls = [
        ("/api/v1/petitions", "/api/v1/petitions".to_string(), 200),
        (
            "/api/v1/petitions/{slug}",
            "/api/v1/petitions/p-doc".into(),
            200,
        ),
        (
            "/api/v1/petitions/{slug}",
            "/api/v1/petitions/p-langs".into(),
            200,
        ),
        (
            "/api/v1/petitions/{slug}",
            "/api/v1/petitions/p-doc?fields=count".into(),
            200,
        ),
        (
            "/api/v1/petitions/{slug}",
            "/api/v1/petitions/p-doc?fields=names".into(),
            400,
        ),
        (
            "/api/v1/petitions/{slug}",
            "/api/v1/petitions/nope".into(),
            404,
        ),
        (
            "/api/v1/petitions/{slug}/log",
            "/api/v1/petitions/p-doc/log".into(),
            200,
        ),
        (
            "/api/v1/petitions/{slug}/log/entries",
            "/api/v1/petitions/p-doc/log/entries?start=0&end=1".into(),
            200,
        ),
        (
            "/api/v1/petitions/{slug}/log/entries",
            "/api/v1/petitions/p-doc/log/entries?start=5&end=1".into(),
            400,
        ),
        (
            "/api/v1/petitions/{slug}/log/inclusion",
            "/api/v1/petitions/p-doc/log/inclusion?index=0&size=1".into(),
            200,
        ),
        (
            "/api/v1/petitions/{slug}/log/consistency",
            "/api/v1/petitions/p-doc/log/consistency?first=1&second=1".into(),
            200,
        ),
    ];
    let mut covered = std::collections::BTreeSet::new();
    for (path, url, status) in calls {
        let res = app.get(&url).await;
        assert_eq!(res.status().as_u16(), status, "{url}");
        let described = &doc["paths"][path]["get"]["responses"][status.to_string()];
        assert!(
            described.is_object(),
            "{url}: status {status} is not described"
        );
        let schema = &described["content"]["application/json"]["schema"];
        let body: serde_json::Value = res.json().await.unwrap();
        let wrong = fits(&doc, schema, &body, "$");
        assert!(wrong.is_empty(), "{url}: {wrong:#?}\n{body}");
        covered.insert(path);
    }
    // Every described route was called, and each exists.
    let described: std::collections::BTreeSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(described, covered);
}

#[test]
fn the_description_check_catches_missing_extra_and_mistyped_fields() {
    let doc = serde_json::json!({"components": {"schemas": {"P": {
        "type": "object", "required": ["a"],
        "properties": {"a": {"type": "integer"}, "b": {"type": ["string", "null"]}}
    }}}});
    let schema = serde_json::json!({"$ref": "#/components/schemas/P"});
    assert!(fits(&doc, &schema, &serde_json::json!({"a": 1, "b": null}), "$").is_empty());
    assert_eq!(
        fits(&doc, &schema, &serde_json::json!({"b": "x"}), "$").len(),
        1
    );
    assert_eq!(
        fits(&doc, &schema, &serde_json::json!({"a": 1, "c": 2}), "$").len(),
        1
    );
    assert_eq!(
        fits(&doc, &schema, &serde_json::json!({"a": "1"}), "$").len(),
        1
    );
}

#[tokio::test]
async fn json_logs_are_one_object_a_line_naming_routes_not_paths() {
    let shared = crate::helpers::TestDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = crate::group_commit::serve(
        &shared,
        dir.path(),
        &[("UNDERSIGNED_LOG_FORMAT", "json")],
        std::process::Stdio::piped(),
    );
    let res = reqwest::get(format!("{url}/confirm/secret-token-in-the-path"))
        .await
        .unwrap();
    // An unknown link: its page says so.
    assert_eq!(res.status().as_u16(), 404);
    child.kill().unwrap();
    child.wait().unwrap();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let request = lines
        .iter()
        .find(|l| l["message"] == "request")
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(request["http.route"], "/confirm/{token}");
    assert_eq!(request["http.status"], 404);
    assert!(!log.contains("secret-token-in-the-path"), "{log}");
}

#[tokio::test]
async fn when_emails_fall_behind_the_dashboard_and_the_metrics_say_so() {
    // A mail relay that is down: nothing goes out.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = spawn_app_with(Mail::Smtp(port), &[]).await;
    crate::organizers::add_organizer(&app, "ana@example.org", "correct horse battery", false);
    app.create_petition("p-behind", &[100]).await;
    crate::organizers::login(&app, "ana@example.org", "correct horse battery").await;
    assert!(!app.text("/dashboard").await.contains("Emails are behind"));
    for email in ["one@example.org", "two@example.org"] {
        assert_eq!(
            app.sign("p-behind", &[("email", email)])
                .await
                .status()
                .as_u16(),
            303
        );
    }
    // Queued five minutes ago, as after a long outage.
    undersigned::db::run(&app.pool, |c| {
        use diesel::prelude::*;
        use undersigned::db::schema::email_jobs as j;
        diesel::update(j::table)
            .set(j::created_at.eq(undersigned::db::now() - chrono::TimeDelta::minutes(5)))
            .execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    let dashboard = app.text("/dashboard").await;
    assert!(
        dashboard.contains("Emails are behind: 2 waiting to go out, the oldest for 5 min."),
        "{dashboard}"
    );
    let metrics = app.text("/metrics").await;
    assert!(metrics.contains("undersigned_outbox_depth 2"), "{metrics}");
    let age: i64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("undersigned_outbox_oldest_age_seconds "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!((300..400).contains(&age), "{age}");
}
