-- beatmap database schema: one DDL accepted by SQLite (3.35+) and PostgreSQL (13+).
-- Generated from storage/models.py by `make schema`; tests/test_schema.py checks that the
-- two agree and that `beatmap init` (Alembic) produces exactly this.
-- Ids are BIGINT made by the application (storage/ids.py): no sequences, so one DDL fits both.

CREATE TABLE audit_log (
    id BIGINT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT,
    object_id TEXT,
    reason TEXT,
    detail JSON,
    CONSTRAINT pk_audit_log PRIMARY KEY (id)
);

CREATE INDEX ix_audit_log_action ON audit_log (action);

CREATE INDEX ix_audit_log_at ON audit_log (at);

CREATE TABLE beats (
    id BIGINT NOT NULL,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    force TEXT,
    source TEXT NOT NULL,
    geometry JSON NOT NULL,
    min_lat FLOAT NOT NULL,
    min_lon FLOAT NOT NULL,
    max_lat FLOAT NOT NULL,
    max_lon FLOAT NOT NULL,
    centre_lat FLOAT NOT NULL,
    centre_lon FLOAT NOT NULL,
    details JSON,
    imported_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT pk_beats PRIMARY KEY (id),
    CONSTRAINT uq_beats_key UNIQUE (key)
);

CREATE TABLE crawl_runs (
    id BIGINT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status TEXT NOT NULL,
    purpose TEXT NOT NULL,
    actor TEXT,
    mode TEXT NOT NULL,
    config JSON NOT NULL,
    stats JSON NOT NULL,
    CONSTRAINT pk_crawl_runs PRIMARY KEY (id)
);

CREATE TABLE geocode_cache (
    query TEXT NOT NULL,
    provider TEXT NOT NULL,
    response JSON,
    fetched_at TIMESTAMP NOT NULL,
    CONSTRAINT pk_geocode_cache PRIMARY KEY (query)
);

CREATE TABLE meta (
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT pk_meta PRIMARY KEY (key)
);

CREATE TABLE topics (
    key TEXT NOT NULL,
    label TEXT NOT NULL,
    category TEXT NOT NULL,
    safety BOOLEAN NOT NULL,
    CONSTRAINT pk_topics PRIMARY KEY (key)
);

CREATE TABLE users (
    id BIGINT NOT NULL,
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    disabled BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP,
    last_seen_beats_at TIMESTAMP,
    session_gen INTEGER DEFAULT 0 NOT NULL,
    CONSTRAINT pk_users PRIMARY KEY (id),
    CONSTRAINT uq_users_username UNIQUE (username)
);

CREATE TABLE venues (
    id BIGINT NOT NULL,
    key TEXT NOT NULL,
    platform TEXT NOT NULL,
    name TEXT,
    description TEXT,
    url TEXT NOT NULL,
    host TEXT NOT NULL,
    crawlable BOOLEAN NOT NULL,
    known_only_reason TEXT,
    state TEXT NOT NULL,
    status TEXT NOT NULL,
    sensitive BOOLEAN NOT NULL,
    sensitive_reason TEXT,
    contact JSON,
    member_count BIGINT,
    post_count BIGINT NOT NULL,
    discovered_via TEXT NOT NULL,
    depth INTEGER NOT NULL,
    merged_into_id BIGINT,
    first_seen_at TIMESTAMP NOT NULL,
    last_post_at TIMESTAMP,
    last_crawled_at TIMESTAMP,
    revisit_after TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT pk_venues PRIMARY KEY (id),
    CONSTRAINT uq_venues_key UNIQUE (key),
    CONSTRAINT fk_venues_merged_into_id_venues FOREIGN KEY(merged_into_id) REFERENCES venues (id) ON DELETE SET NULL
);

CREATE INDEX ix_venues_host ON venues (host);

CREATE INDEX ix_venues_platform ON venues (platform);

CREATE INDEX ix_venues_state ON venues (state);

CREATE TABLE beat_topics (
    beat_id BIGINT NOT NULL,
    topic TEXT NOT NULL,
    weight FLOAT NOT NULL,
    source TEXT NOT NULL,
    detail TEXT,
    CONSTRAINT pk_beat_topics PRIMARY KEY (beat_id, topic),
    CONSTRAINT fk_beat_topics_beat_id_beats FOREIGN KEY(beat_id) REFERENCES beats (id) ON DELETE CASCADE
);

CREATE TABLE crawl_ledger (
    url_fp TEXT NOT NULL,
    url TEXT NOT NULL,
    host TEXT,
    venue_id BIGINT,
    state TEXT NOT NULL,
    lease_owner TEXT,
    lease_expires_at TIMESTAMP,
    attempts INTEGER NOT NULL,
    last_error TEXT,
    http_status INTEGER,
    depth INTEGER NOT NULL,
    priority FLOAT NOT NULL,
    discovered_at TIMESTAMP NOT NULL,
    fetched_at TIMESTAMP,
    next_fetch_at TIMESTAMP,
    run_id BIGINT,
    etag TEXT,
    last_modified TEXT,
    CONSTRAINT pk_crawl_ledger PRIMARY KEY (url_fp),
    CONSTRAINT fk_crawl_ledger_venue_id_venues FOREIGN KEY(venue_id) REFERENCES venues (id) ON DELETE SET NULL,
    CONSTRAINT fk_crawl_ledger_run_id_crawl_runs FOREIGN KEY(run_id) REFERENCES crawl_runs (id) ON DELETE SET NULL
);

CREATE INDEX ix_crawl_ledger_host_state ON crawl_ledger (host, state);

CREATE INDEX ix_crawl_ledger_state_next_fetch_at ON crawl_ledger (state, next_fetch_at);

CREATE INDEX ix_crawl_ledger_venue_id ON crawl_ledger (venue_id);

CREATE TABLE links (
    src_venue_id BIGINT NOT NULL,
    dst_venue_id BIGINT NOT NULL,
    count INTEGER NOT NULL,
    anchor_text TEXT,
    example_url TEXT,
    first_seen_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    CONSTRAINT pk_links PRIMARY KEY (src_venue_id, dst_venue_id),
    CONSTRAINT fk_links_src_venue_id_venues FOREIGN KEY(src_venue_id) REFERENCES venues (id) ON DELETE CASCADE,
    CONSTRAINT fk_links_dst_venue_id_venues FOREIGN KEY(dst_venue_id) REFERENCES venues (id) ON DELETE CASCADE
);

CREATE INDEX ix_links_dst_venue_id ON links (dst_venue_id);

CREATE TABLE outreach (
    id BIGINT NOT NULL,
    venue_id BIGINT NOT NULL,
    beat_id BIGINT,
    user_id BIGINT,
    status TEXT NOT NULL,
    note TEXT,
    revisit_on DATE,
    created_at TIMESTAMP NOT NULL,
    CONSTRAINT pk_outreach PRIMARY KEY (id),
    CONSTRAINT fk_outreach_venue_id_venues FOREIGN KEY(venue_id) REFERENCES venues (id) ON DELETE CASCADE,
    CONSTRAINT fk_outreach_beat_id_beats FOREIGN KEY(beat_id) REFERENCES beats (id) ON DELETE SET NULL,
    CONSTRAINT fk_outreach_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX ix_outreach_venue_id_created_at ON outreach (venue_id, created_at);

CREATE TABLE pages (
    id BIGINT NOT NULL,
    url_fp TEXT NOT NULL,
    url TEXT NOT NULL,
    venue_id BIGINT,
    kind TEXT NOT NULL,
    http_status INTEGER NOT NULL,
    content_type TEXT,
    content_hash TEXT,
    etag TEXT,
    last_modified TEXT,
    title TEXT,
    fetched_at TIMESTAMP NOT NULL,
    run_id BIGINT,
    CONSTRAINT pk_pages PRIMARY KEY (id),
    CONSTRAINT uq_pages_url_fp UNIQUE (url_fp),
    CONSTRAINT fk_pages_venue_id_venues FOREIGN KEY(venue_id) REFERENCES venues (id) ON DELETE SET NULL,
    CONSTRAINT fk_pages_run_id_crawl_runs FOREIGN KEY(run_id) REFERENCES crawl_runs (id) ON DELETE SET NULL
);

CREATE INDEX ix_pages_venue_id ON pages (venue_id);

CREATE TABLE places (
    id BIGINT NOT NULL,
    name TEXT NOT NULL,
    norm_name TEXT NOT NULL,
    alt_names JSON NOT NULL,
    feature_type TEXT NOT NULL,
    lat FLOAT NOT NULL,
    lon FLOAT NOT NULL,
    beat_id BIGINT,
    locality TEXT,
    district TEXT,
    prominence FLOAT NOT NULL,
    coarse BOOLEAN NOT NULL,
    source TEXT NOT NULL,
    source_id TEXT NOT NULL,
    CONSTRAINT pk_places PRIMARY KEY (id),
    CONSTRAINT uq_places_source_source_id UNIQUE (source, source_id),
    CONSTRAINT fk_places_beat_id_beats FOREIGN KEY(beat_id) REFERENCES beats (id) ON DELETE SET NULL
);

CREATE INDEX ix_places_beat_id ON places (beat_id);

CREATE INDEX ix_places_norm_name ON places (norm_name);

CREATE TABLE postcodes (
    postcode TEXT NOT NULL,
    outcode TEXT NOT NULL,
    lat FLOAT NOT NULL,
    lon FLOAT NOT NULL,
    quality BIGINT,
    beat_id BIGINT,
    CONSTRAINT pk_postcodes PRIMARY KEY (postcode),
    CONSTRAINT fk_postcodes_beat_id_beats FOREIGN KEY(beat_id) REFERENCES beats (id) ON DELETE SET NULL
);

CREATE INDEX ix_postcodes_outcode ON postcodes (outcode);

CREATE TABLE seeds (
    id BIGINT NOT NULL,
    url TEXT NOT NULL,
    beat_id BIGINT,
    note TEXT,
    source TEXT NOT NULL,
    venue_id BIGINT,
    created_at TIMESTAMP NOT NULL,
    CONSTRAINT pk_seeds PRIMARY KEY (id),
    CONSTRAINT uq_seeds_url UNIQUE (url),
    CONSTRAINT fk_seeds_beat_id_beats FOREIGN KEY(beat_id) REFERENCES beats (id) ON DELETE SET NULL,
    CONSTRAINT fk_seeds_venue_id_venues FOREIGN KEY(venue_id) REFERENCES venues (id) ON DELETE SET NULL
);

CREATE TABLE venue_aliases (
    alias TEXT NOT NULL,
    venue_id BIGINT NOT NULL,
    reason TEXT NOT NULL,
    CONSTRAINT pk_venue_aliases PRIMARY KEY (alias),
    CONSTRAINT fk_venue_aliases_venue_id_venues FOREIGN KEY(venue_id) REFERENCES venues (id) ON DELETE CASCADE
);

CREATE INDEX ix_venue_aliases_venue_id ON venue_aliases (venue_id);

CREATE TABLE venue_scores (
    venue_id BIGINT NOT NULL,
    beat_id BIGINT NOT NULL,
    rank INTEGER NOT NULL,
    score FLOAT NOT NULL,
    locality FLOAT NOT NULL,
    activity FLOAT NOT NULL,
    reach FLOAT NOT NULL,
    topical FLOAT NOT NULL,
    feedback FLOAT NOT NULL,
    reason TEXT NOT NULL,
    evidence JSON NOT NULL,
    computed_at TIMESTAMP NOT NULL,
    CONSTRAINT pk_venue_scores PRIMARY KEY (venue_id, beat_id),
    CONSTRAINT fk_venue_scores_venue_id_venues FOREIGN KEY(venue_id) REFERENCES venues (id) ON DELETE CASCADE,
    CONSTRAINT fk_venue_scores_beat_id_beats FOREIGN KEY(beat_id) REFERENCES beats (id) ON DELETE CASCADE
);

CREATE INDEX ix_venue_scores_beat_id_score ON venue_scores (beat_id, score);

CREATE TABLE posts (
    id BIGINT NOT NULL,
    post_fp TEXT NOT NULL,
    venue_id BIGINT NOT NULL,
    page_id BIGINT,
    url TEXT NOT NULL,
    title TEXT,
    text TEXT,
    published_at TIMESTAMP,
    author_key TEXT,
    thread TEXT,
    board TEXT,
    created_at TIMESTAMP NOT NULL,
    tagged_at TIMESTAMP,
    purged_at TIMESTAMP,
    CONSTRAINT pk_posts PRIMARY KEY (id),
    CONSTRAINT uq_posts_post_fp UNIQUE (post_fp),
    CONSTRAINT fk_posts_venue_id_venues FOREIGN KEY(venue_id) REFERENCES venues (id) ON DELETE CASCADE,
    CONSTRAINT fk_posts_page_id_pages FOREIGN KEY(page_id) REFERENCES pages (id) ON DELETE SET NULL
);

CREATE INDEX ix_posts_page_id ON posts (page_id);

CREATE INDEX ix_posts_venue_id_published_at ON posts (venue_id, published_at);

CREATE TABLE place_mentions (
    id BIGINT NOT NULL,
    post_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    surface TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    place_id BIGINT,
    postcode TEXT,
    beat_id BIGINT,
    confidence FLOAT NOT NULL,
    ambiguous BOOLEAN NOT NULL,
    CONSTRAINT pk_place_mentions PRIMARY KEY (id),
    CONSTRAINT fk_place_mentions_post_id_posts FOREIGN KEY(post_id) REFERENCES posts (id) ON DELETE CASCADE,
    CONSTRAINT fk_place_mentions_place_id_places FOREIGN KEY(place_id) REFERENCES places (id) ON DELETE SET NULL,
    CONSTRAINT fk_place_mentions_beat_id_beats FOREIGN KEY(beat_id) REFERENCES beats (id) ON DELETE SET NULL
);

CREATE INDEX ix_place_mentions_beat_id ON place_mentions (beat_id);

CREATE INDEX ix_place_mentions_place_id ON place_mentions (place_id);

CREATE INDEX ix_place_mentions_post_id ON place_mentions (post_id);

CREATE TABLE post_beats (
    post_id BIGINT NOT NULL,
    beat_id BIGINT NOT NULL,
    weight FLOAT NOT NULL,
    CONSTRAINT pk_post_beats PRIMARY KEY (post_id, beat_id),
    CONSTRAINT fk_post_beats_post_id_posts FOREIGN KEY(post_id) REFERENCES posts (id) ON DELETE CASCADE,
    CONSTRAINT fk_post_beats_beat_id_beats FOREIGN KEY(beat_id) REFERENCES beats (id) ON DELETE CASCADE
);

CREATE INDEX ix_post_beats_beat_id ON post_beats (beat_id);

CREATE TABLE post_topics (
    post_id BIGINT NOT NULL,
    topic TEXT NOT NULL,
    count INTEGER NOT NULL,
    CONSTRAINT pk_post_topics PRIMARY KEY (post_id, topic),
    CONSTRAINT fk_post_topics_post_id_posts FOREIGN KEY(post_id) REFERENCES posts (id) ON DELETE CASCADE
);

CREATE INDEX ix_post_topics_topic ON post_topics (topic);
