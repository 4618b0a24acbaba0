-- The registry's first schema. Timestamps are RFC 3339 UTC strings with millisecond
-- precision, so they sort as text on both databases. Keep in step with ../postgres.

CREATE TABLE publishers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    email       TEXT,
    role        TEXT NOT NULL CHECK (role IN ('publisher', 'moderator', 'admin')),
    created_at  TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    publisher_id  BIGINT NOT NULL REFERENCES publishers (id),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    scopes        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    last_used_at  TEXT,
    revoked_at    TEXT
);

CREATE TABLE packages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL UNIQUE,
    canonical_name  TEXT NOT NULL UNIQUE,
    ecosystem       TEXT NOT NULL CHECK (ecosystem IN ('npm', 'crates.io')),
    origin          TEXT NOT NULL CHECK (origin IN ('direct', 'npm', 'crates')),
    display_name    TEXT,
    description     TEXT,
    category        TEXT NOT NULL,
    tags            TEXT NOT NULL,
    license         TEXT,
    repository      TEXT,
    homepage        TEXT,
    readme          TEXT,
    capabilities    TEXT NOT NULL,
    trust_tier      TEXT NOT NULL,
    latest_version  TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX packages_by_update ON packages (updated_at);

CREATE TABLE package_owners (
    package_id    BIGINT NOT NULL REFERENCES packages (id),
    publisher_id  BIGINT NOT NULL REFERENCES publishers (id),
    added_at      TEXT NOT NULL,
    PRIMARY KEY (package_id, publisher_id)
);

-- An npm scope (`@acme`) belongs to whoever first published in it; its owners may
-- publish new packages in it.
CREATE TABLE scope_owners (
    scope         TEXT NOT NULL,
    publisher_id  BIGINT NOT NULL REFERENCES publishers (id),
    added_at      TEXT NOT NULL,
    PRIMARY KEY (scope, publisher_id)
);

CREATE TABLE versions (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    package_id          BIGINT NOT NULL REFERENCES packages (id),
    version             TEXT NOT NULL,
    archive_kind        TEXT NOT NULL CHECK (archive_kind IN ('npm', 'crate')),
    archive_name        TEXT NOT NULL,
    archive_sha256      TEXT NOT NULL,
    archive_size        BIGINT NOT NULL,
    integrity           TEXT NOT NULL,
    manifest_json       TEXT NOT NULL,
    engine_min          TEXT,
    engine_max          TEXT,
    trust_tier          TEXT NOT NULL,
    scan_json           TEXT NOT NULL,
    envelope_sha256     TEXT NOT NULL,
    signing_key_id      TEXT NOT NULL,
    yanked              BOOLEAN NOT NULL DEFAULT FALSE,
    yank_reason         TEXT,
    deprecated          BOOLEAN NOT NULL DEFAULT FALSE,
    deprecation_reason  TEXT,
    published_by        BIGINT REFERENCES publishers (id),
    published_at        TEXT NOT NULL,
    UNIQUE (package_id, version)
);

-- The guard components of a version, each stored as its own blob so the engine can fetch
-- exactly what the signed manifest names.
CREATE TABLE version_files (
    version_id  BIGINT NOT NULL REFERENCES versions (id),
    path        TEXT NOT NULL,
    guard       TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size        BIGINT NOT NULL,
    PRIMARY KEY (version_id, path)
);
