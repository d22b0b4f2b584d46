-- The tuning loop: the behaviour score a case was decided at, and the moderators' verdict on
-- it (Confirm: the action was right; Reverse or an approved appeal: it was not).

ALTER TABLE moderation_cases ADD COLUMN behaviour_score DOUBLE PRECISION;
ALTER TABLE moderation_cases ADD COLUMN label TEXT CHECK (label IN ('confirmed', 'reversed'));
ALTER TABLE moderation_cases ADD COLUMN labelled_by BIGINT;
ALTER TABLE moderation_cases ADD COLUMN labelled_at TIMESTAMPTZ;
CREATE INDEX cases_labelled ON moderation_cases (guild_id) WHERE label IS NOT NULL;
