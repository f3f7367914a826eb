// Written by hand to match migrations/sqlite (and later migrations/postgres): only types both
// backends share through diesel's MultiConnection.

diesel::table! {
    petitions (id) {
        id -> Integer,
        slug -> Text,
        title -> Text,
        summary -> Text,
        body_markdown -> Text,
        body_html -> Text,
        started_by -> Text,
        owner_email -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamp,
        closes_at -> Nullable<Timestamp>,
        signature_count -> BigInt,
        last_number -> Integer,
        paper_count -> BigInt,
        log_started -> Bool,
        log_origin -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
        language -> Text,
        text_version -> Integer,
    }
}

diesel::table! {
    petition_translations (id) {
        id -> Integer,
        petition_id -> Integer,
        lang -> Text,
        title -> Text,
        summary -> Text,
        body_markdown -> Text,
        body_html -> Text,
        targets -> Text,
        source_version -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(petition_translations -> petitions (petition_id));

diesel::table! {
    petition_goals (id) {
        id -> Integer,
        petition_id -> Integer,
        goal -> Integer,
    }
}

diesel::table! {
    petition_targets (id) {
        id -> Integer,
        petition_id -> Integer,
        position -> Integer,
        name -> Text,
    }
}

diesel::table! {
    country_counts (id) {
        id -> Integer,
        petition_id -> Integer,
        country -> Text,
        count -> Integer,
    }
}

diesel::table! {
    signatures (id) {
        id -> Integer,
        petition_id -> Integer,
        email_key -> Text,
        country -> Text,
        public -> Bool,
        locale -> Text,
        status -> Text,
        number -> Nullable<Integer>,
        created_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
        invalidated_at -> Nullable<Timestamp>,
        invalidation_reason -> Nullable<Text>,
        emails_sent -> Integer,
        ip_hash -> Nullable<Text>,
        wants_updates -> Bool,
        emails_window_start -> Nullable<Timestamp>,
        salt -> Nullable<Text>,
        commitment -> Nullable<Text>,
        receipt_hash -> Nullable<Text>,
        personal -> Nullable<Text>,
        domain_key -> Nullable<Text>,
        display -> Text,
        withdraw_hash -> Nullable<Text>,
        withdrawn_at -> Nullable<Timestamp>,
        erased_at -> Nullable<Timestamp>,
        source -> Nullable<Text>,
        comment_public -> Bool,
        comment_hidden -> Bool,
        withdraw_hash_resent -> Nullable<Text>,
        receipt_due -> Bool,
    }
}

diesel::table! {
    confirmation_tokens (id) {
        id -> Integer,
        signature_id -> Integer,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        country -> Text,
        public -> Bool,
        wants_updates -> Bool,
        locale -> Text,
        ip_hash -> Nullable<Text>,
        personal -> Nullable<Text>,
        display -> Text,
        source -> Nullable<Text>,
        comment_public -> Bool,
    }
}

diesel::table! {
    email_jobs (id) {
        id -> Integer,
        created_at -> Timestamp,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        failed_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        update_id -> Nullable<Integer>,
        signature_id -> Nullable<Integer>,
        content -> Nullable<Text>,
    }
}

diesel::table! {
    site_state (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::joinable!(petition_goals -> petitions (petition_id));
diesel::joinable!(petition_targets -> petitions (petition_id));
diesel::joinable!(country_counts -> petitions (petition_id));
diesel::joinable!(signatures -> petitions (petition_id));
diesel::joinable!(confirmation_tokens -> signatures (signature_id));

diesel::table! {
    organizers (id) {
        id -> Integer,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        is_admin -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    petition_organizers (id) {
        id -> Integer,
        petition_id -> Integer,
        organizer_id -> Integer,
    }
}

diesel::table! {
    setup_tokens (id) {
        id -> Integer,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(petition_organizers -> petitions (petition_id));
diesel::joinable!(petition_organizers -> organizers (organizer_id));

diesel::table! {
    audit_log (id) {
        id -> Integer,
        organizer_id -> Nullable<Integer>,
        petition_id -> Nullable<Integer>,
        action -> Text,
        detail -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(audit_log -> organizers (organizer_id));
diesel::joinable!(audit_log -> petitions (petition_id));

diesel::table! {
    paper_signatures (id) {
        id -> Integer,
        petition_id -> Integer,
        count -> Integer,
        collected_on -> Timestamp,
        note -> Text,
        organizer_id -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(paper_signatures -> petitions (petition_id));

diesel::table! {
    password_resets (id) {
        id -> Integer,
        organizer_id -> Integer,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(password_resets -> organizers (organizer_id));

diesel::table! {
    petition_updates (id) {
        id -> Integer,
        petition_id -> Integer,
        title -> Text,
        body_markdown -> Text,
        body_html -> Text,
        organizer_id -> Nullable<Integer>,
        created_at -> Timestamp,
        recipients -> Integer,
        idempotency_key -> Nullable<Text>,
        fanout_upto -> Integer,
        fanout_after -> Integer,
        fanout_pending -> Bool,
        fanout_lease_until -> Nullable<Timestamp>,
    }
}

diesel::joinable!(petition_updates -> petitions (petition_id));

diesel::table! {
    petition_images (petition_id) {
        petition_id -> Integer,
        content_type -> Text,
        data -> Binary,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(petition_images -> petitions (petition_id));

diesel::table! {
    export_snapshots (id) {
        id -> Integer,
        petition_id -> Integer,
        organizer_id -> Nullable<Integer>,
        created_at -> Timestamp,
        title -> Text,
        country -> Nullable<Text>,
        confirmed_from -> Nullable<Timestamp>,
        confirmed_before -> Nullable<Timestamp>,
        row_count -> BigInt,
        signature_count -> BigInt,
        paper_count -> BigInt,
    }
}

diesel::table! {
    export_snapshot_signatures (snapshot_id, signature_id) {
        snapshot_id -> Integer,
        signature_id -> Integer,
    }
}

diesel::joinable!(export_snapshots -> petitions (petition_id));
diesel::joinable!(export_snapshot_signatures -> export_snapshots (snapshot_id));
diesel::joinable!(export_snapshot_signatures -> signatures (signature_id));

diesel::table! {
    organizer_sessions (id_hash) {
        id_hash -> Text,
        organizer_id -> Integer,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        factor_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    organizer_factors (id) {
        id -> Integer,
        organizer_id -> Integer,
        kind -> Text,
        secret -> Text,
        confirmed_at -> Nullable<Timestamp>,
        last_step -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> Integer,
        organizer_id -> Integer,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(organizer_sessions -> organizers (organizer_id));

diesel::table! {
    network_hash_seeds (day) {
        day -> Text,
        seed -> Text,
    }
}

diesel::table! {
    email_allowances (signature_id, network) {
        signature_id -> Integer,
        network -> Text,
        window_start -> Timestamp,
        sent -> Integer,
    }
}

diesel::table! {
    log_start_tags (signature_id) {
        signature_id -> Integer,
        petition_id -> Integer,
        receipt -> Nullable<Text>,
    }
}

diesel::table! {
    log_pending (id) {
        id -> Integer,
        petition_id -> Integer,
        kind -> Text,
        delta -> BigInt,
        commitment -> Nullable<Text>,
        batch -> Nullable<Integer>,
        receipt -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    log_entries (petition_id, idx) {
        petition_id -> Integer,
        idx -> BigInt,
        kind -> Text,
        delta -> BigInt,
        commitment -> Nullable<Text>,
        data -> Text,
    }
}

diesel::table! {
    log_nodes (petition_id, level, idx) {
        petition_id -> Integer,
        level -> Integer,
        idx -> BigInt,
        hash -> Binary,
    }
}

diesel::table! {
    log_checkpoints (id) {
        id -> Integer,
        petition_id -> Integer,
        size -> BigInt,
        total -> BigInt,
        root -> Binary,
        note -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    log_sequencer (id) {
        id -> Integer,
        holder -> Text,
        lease_until -> Timestamp,
    }
}

diesel::table! {
    delivery_packages (id) {
        id -> Integer,
        petition_id -> Integer,
        organizer_id -> Nullable<Integer>,
        created_at -> Timestamp,
        size -> BigInt,
        total -> BigInt,
        signatures -> BigInt,
        paper -> BigInt,
        with_emails -> Bool,
        manifest_sha256 -> Text,
    }
}

diesel::table! {
    deliveries (id) {
        id -> Integer,
        petition_id -> Integer,
        package_id -> Nullable<Integer>,
        organizer_id -> Nullable<Integer>,
        recipient -> Text,
        delivered_on -> Timestamp,
        size -> BigInt,
        total -> BigInt,
        checkpoint -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    log_cosignatures (id) {
        id -> Integer,
        petition_id -> Integer,
        size -> BigInt,
        witness -> Text,
        line -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(log_start_tags -> signatures (signature_id));

diesel::allow_tables_to_appear_in_same_query!(
    email_allowances,
    organizer_factors,
    recovery_codes,
    log_start_tags,
    petition_translations,
    site_state,
    log_cosignatures,
    delivery_packages,
    deliveries,
    log_pending,
    log_entries,
    log_nodes,
    log_checkpoints,
    log_sequencer,
    organizer_sessions,
    network_hash_seeds,
    export_snapshots,
    export_snapshot_signatures,
    petition_images,
    petition_updates,
    password_resets,
    paper_signatures,
    petitions,
    petition_goals,
    petition_targets,
    country_counts,
    signatures,
    confirmation_tokens,
    email_jobs,
    organizers,
    petition_organizers,
    setup_tokens,
    audit_log,
);
