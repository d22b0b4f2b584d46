-- What the daemon keeps between restarts: each member's standing (strikes, recent toxicity,
-- per-message records) and the detector's id of each incident, so that several processes
-- reporting the same incident update one row.

CREATE TABLE member_standing (
    guild_id   BIGINT NOT NULL,
    user_id    BIGINT NOT NULL,
    -- behaviour::MemberStanding as JSON.
    standing   JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (guild_id, user_id)
);

ALTER TABLE brigade_incidents ADD COLUMN detector_id TEXT;
CREATE UNIQUE INDEX incidents_detector_id ON brigade_incidents (detector_id) WHERE detector_id IS NOT NULL;

