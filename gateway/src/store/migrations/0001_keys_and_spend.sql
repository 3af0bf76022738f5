-- sluice's store, version 1: virtual keys made through the admin API, and spend by hour.
-- Portable between SQLite and PostgreSQL: TEXT, BIGINT and DOUBLE PRECISION only; times are
-- Unix seconds; booleans are 0/1.

CREATE TABLE sluice_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    team TEXT,
    -- SHA-256 of the key, hex; the key itself is never stored.
    hash TEXT NOT NULL UNIQUE,
    -- The key's first characters, to recognise it in a list.
    prefix TEXT NOT NULL,
    -- JSON arrays of route names and model globs the key may use; empty: any.
    routes TEXT NOT NULL,
    models TEXT NOT NULL,
    requests_per_minute BIGINT,
    tokens_per_minute BIGINT,
    budget_usd DOUBLE PRECISION,
    budget_window TEXT,
    expires_at BIGINT,
    disabled BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Spend added up by hour and by key, team, route, provider and model.
CREATE TABLE sluice_spend (
    hour BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    team TEXT NOT NULL,
    route TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    requests BIGINT NOT NULL,
    input_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    usd_nano BIGINT NOT NULL,
    PRIMARY KEY (hour, key_id, team, route, provider, model)
);

-- Bumped by every change to sluice_keys: replicas poll it to know when to reload.
CREATE TABLE sluice_version (
    id BIGINT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO sluice_version (id, version) VALUES (1, 0);
