-- Channel changes the bot makes and must undo exactly, even after a restart or from another
-- process: a lockdown's @everyone overwrite (and what it was before), an incident's slow-mode
-- (and the interval before).

CREATE TABLE channel_locks (
    guild_id   BIGINT NOT NULL,
    channel_id BIGINT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('lockdown', 'slowmode')),
    -- What to restore: {"had": bool, "allow": "bits", "deny": "bits"} or {"seconds": n}.
    previous   JSONB NOT NULL,
    by_id      BIGINT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (guild_id, channel_id, kind)
);
