-- Initial schema: guilds, members, messages, moderation cases, appeals, brigade incidents and
-- the hash-chained audit log. Snowflake ids are stored as BIGINT (Discord ids fit in 63 bits).

CREATE TABLE guilds (
    guild_id     BIGINT PRIMARY KEY,
    -- Validated per-guild overrides (storage::GuildSettings as JSON).
    settings     JSONB NOT NULL DEFAULT '{}'::jsonb,
    -- Bumped on every settings change so caches can tell stale copies apart.
    settings_version BIGINT NOT NULL DEFAULT 0,
    -- Highest case number handed out; incremented in the case's own transaction.
    last_case_no BIGINT NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE members (
    guild_id           BIGINT NOT NULL REFERENCES guilds (guild_id) ON DELETE CASCADE,
    user_id            BIGINT NOT NULL,
    joined_at          TIMESTAMPTZ,
    -- Derived from the snowflake: (id >> 22) + 1420070400000 ms.
    account_created_at TIMESTAMPTZ NOT NULL,
    first_seen         TIMESTAMPTZ NOT NULL,
    last_seen          TIMESTAMPTZ NOT NULL,
    message_count      BIGINT NOT NULL DEFAULT 0,
    decayed_toxicity   DOUBLE PRECISION NOT NULL DEFAULT 0,
    toxicity_at        TIMESTAMPTZ,
    PRIMARY KEY (guild_id, user_id)
);

CREATE TABLE messages (
    message_id BIGINT PRIMARY KEY,
    guild_id   BIGINT NOT NULL,
    channel_id BIGINT NOT NULL,
    author_id  BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    edited_at  TIMESTAMPTZ,
    scores     JSONB NOT NULL DEFAULT '{}'::jsonb,
    max_score  REAL NOT NULL DEFAULT 0,
    decision   TEXT NOT NULL,
    -- Only where the guild stores content; cleared by the retention purge.
    content    TEXT
);
-- A member's recent history.
CREATE INDEX messages_author_recent ON messages (guild_id, author_id, created_at DESC);
-- Retention purge scans only rows that still hold text.
CREATE INDEX messages_content_age ON messages (created_at) WHERE content IS NOT NULL;

CREATE TABLE moderation_cases (
    case_id     BIGSERIAL PRIMARY KEY,
    guild_id    BIGINT NOT NULL REFERENCES guilds (guild_id) ON DELETE CASCADE,
    case_no     BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('note', 'warn', 'delete', 'timeout', 'kick', 'ban', 'unban', 'untimeout')),
    reason      TEXT NOT NULL,
    scores      JSONB NOT NULL DEFAULT '{}'::jsonb,
    message_id  BIGINT,
    -- Text of the triggering message when the guild stores content; redacted by privacy forget.
    message_excerpt TEXT,
    -- NULL: the bot itself; otherwise the moderator's user id.
    actor_id    BIGINT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ,
    reversed_by BIGINT,
    reversed_at TIMESTAMPTZ,
    reversed_reason TEXT,
    dry_run     BOOLEAN NOT NULL DEFAULT false,
    status      TEXT NOT NULL DEFAULT 'applied' CHECK (status IN ('pending', 'applied', 'failed', 'reversed', 'expired')),
    error_note  TEXT,
    redacted_at TIMESTAMPTZ,
    UNIQUE (guild_id, case_no)
);
-- A member's recent cases.
CREATE INDEX cases_member_recent ON moderation_cases (guild_id, user_id, created_at DESC);
-- A guild's open cases.
CREATE INDEX cases_guild_open ON moderation_cases (guild_id, case_no DESC) WHERE status IN ('pending', 'applied');

CREATE TABLE appeals (
    appeal_id   BIGSERIAL PRIMARY KEY,
    case_id     BIGINT NOT NULL REFERENCES moderation_cases (case_id) ON DELETE CASCADE,
    user_id     BIGINT NOT NULL,
    body        TEXT,
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected', 'withdrawn')),
    reviewer_id BIGINT,
    review_note TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    decided_at  TIMESTAMPTZ,
    redacted_at TIMESTAMPTZ
);
-- At most one open appeal per case.
CREATE UNIQUE INDEX appeals_one_open_per_case ON appeals (case_id) WHERE status = 'open';
CREATE INDEX appeals_open ON appeals (created_at) WHERE status = 'open';

CREATE TABLE brigade_incidents (
    incident_id  BIGSERIAL PRIMARY KEY,
    guild_id     BIGINT NOT NULL,
    channel_id   BIGINT,
    kind         TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    window_end   TIMESTAMPTZ NOT NULL,
    participants BIGINT[] NOT NULL DEFAULT '{}',
    response     JSONB NOT NULL DEFAULT '{}'::jsonb,
    closed_at    TIMESTAMPTZ
);
-- Incidents by time, per guild.
CREATE INDEX incidents_guild_time ON brigade_incidents (guild_id, window_start DESC);

-- Append-only audit log, one hash chain per guild (guild 0: events not tied to a guild).
-- row_hash = sha256(canonical(seq, guild_id, kind, actor_id, target_id, created_at, content_digest, prev_hash));
-- content_digest = sha256(payload). Redaction clears payload but keeps the digest, so the chain still verifies.
CREATE TABLE audit_log (
    id             BIGSERIAL PRIMARY KEY,
    guild_id       BIGINT NOT NULL,
    seq            BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    actor_id       BIGINT,
    target_id      BIGINT,
    created_at     TIMESTAMPTZ NOT NULL,
    payload        TEXT,
    content_digest TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    row_hash       TEXT NOT NULL,
    redacted_at    TIMESTAMPTZ,
    UNIQUE (guild_id, seq)
);
CREATE INDEX audit_target ON audit_log (target_id) WHERE target_id IS NOT NULL;

-- Head of each chain; appends lock this row (SELECT ... FOR UPDATE) so a chain never forks,
-- and verification compares it with the last row so a deleted tail is detected.
CREATE TABLE audit_heads (
    guild_id  BIGINT PRIMARY KEY,
    last_seq  BIGINT NOT NULL DEFAULT 0,
    last_hash TEXT NOT NULL
);
