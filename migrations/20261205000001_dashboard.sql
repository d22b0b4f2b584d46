-- The web dashboard: who may open a guild besides its admins and moderators, the daily message
-- counts its overview charts read, and indexes for its filtered, keyset-paginated lists.

CREATE TABLE dashboard_grants (
    guild_id     BIGINT NOT NULL,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('user', 'role')),
    subject_id   BIGINT NOT NULL,
    granted_by   BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (guild_id, subject_kind, subject_id)
);

-- Messages per guild and day; label '' holds every message, other labels the flagged messages
-- whose top label it is. Written by the message writer in the batch's own transaction, counting
-- only rows it inserted (a replayed batch or an edit never counts twice).
CREATE TABLE message_days (
    guild_id BIGINT NOT NULL,
    day      DATE NOT NULL,
    label    TEXT NOT NULL,
    messages BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day, label)
);
INSERT INTO message_days (guild_id, day, label, messages)
SELECT guild_id, (created_at AT TIME ZONE 'UTC')::date, '', count(*)
FROM messages GROUP BY 1, 2;

-- The cases list, newest first, one filter at a time (keyset on case_no).
CREATE INDEX cases_guild_action ON moderation_cases (guild_id, action, case_no DESC);
CREATE INDEX cases_guild_status ON moderation_cases (guild_id, status, case_no DESC);
CREATE INDEX cases_guild_manual ON moderation_cases (guild_id, (actor_id IS NULL), case_no DESC);
-- The cases list with dates: each UTC day's newest cases, the other filters read from the
-- index. Ordering a time range by case number from one (guild, case_no) index reads every
-- newer case first; from a (guild, created_at) index, every case of the range.
CREATE INDEX cases_guild_day_no ON moderation_cases
    (guild_id, ((created_at AT TIME ZONE 'UTC')::date), case_no DESC)
    INCLUDE (created_at, action, status, actor_id);
-- The member search's most sanctioned, and the overview's first (partial) day, from the index
-- alone.
CREATE INDEX cases_guild_day ON moderation_cases (guild_id, created_at) INCLUDE (action, user_id);
CREATE INDEX cases_guild_automatic ON moderation_cases (guild_id, created_at) INCLUDE (status)
    WHERE actor_id IS NULL AND NOT dry_run;

-- Cases per guild, UTC day of creation, action, and what the overview tells apart (automatic,
-- dry run, reversed), kept by the triggers below in each change's own transaction: the overview
-- reads a few hundred rows instead of every case of its 30 days (300,000 in a guild with a
-- million cases, 50 to 150 ms on two cores).
CREATE TABLE case_days (
    guild_id  BIGINT NOT NULL,
    day       DATE NOT NULL,
    action    TEXT NOT NULL,
    automatic BOOLEAN NOT NULL,
    dry_run   BOOLEAN NOT NULL,
    reversed  BOOLEAN NOT NULL,
    cases     BIGINT NOT NULL,
    PRIMARY KEY (guild_id, day, action, automatic, dry_run, reversed)
);

CREATE FUNCTION case_days_count() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE case_days SET cases = cases - 1
        WHERE guild_id = OLD.guild_id AND day = (OLD.created_at AT TIME ZONE 'UTC')::date
          AND action = OLD.action AND automatic = (OLD.actor_id IS NULL)
          AND dry_run = OLD.dry_run AND reversed = (OLD.status = 'reversed');
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO case_days AS d (guild_id, day, action, automatic, dry_run, reversed, cases)
        VALUES (NEW.guild_id, (NEW.created_at AT TIME ZONE 'UTC')::date, NEW.action,
                NEW.actor_id IS NULL, NEW.dry_run, NEW.status = 'reversed', 1)
        ON CONFLICT (guild_id, day, action, automatic, dry_run, reversed)
        DO UPDATE SET cases = d.cases + 1;
    END IF;
    RETURN NULL;
END $$;

-- Only a change of what is counted moves a case between rows (not pending -> applied).
CREATE TRIGGER case_days_insert_delete AFTER INSERT OR DELETE ON moderation_cases
    FOR EACH ROW EXECUTE FUNCTION case_days_count();
CREATE TRIGGER case_days_update AFTER UPDATE ON moderation_cases
    FOR EACH ROW
    WHEN ((OLD.guild_id, OLD.created_at, OLD.action, OLD.actor_id IS NULL, OLD.dry_run,
           OLD.status = 'reversed')
          IS DISTINCT FROM
          (NEW.guild_id, NEW.created_at, NEW.action, NEW.actor_id IS NULL, NEW.dry_run,
           NEW.status = 'reversed'))
    EXECUTE FUNCTION case_days_count();

-- The triggers lock out writers until this migration commits, so nothing is counted twice.
INSERT INTO case_days (guild_id, day, action, automatic, dry_run, reversed, cases)
SELECT guild_id, (created_at AT TIME ZONE 'UTC')::date, action, actor_id IS NULL, dry_run,
       status = 'reversed', count(*)
FROM moderation_cases GROUP BY 1, 2, 3, 4, 5, 6;
-- The what-if replay reads a period's messages in (created_at, message_id) order.
CREATE INDEX messages_guild_time ON messages (guild_id, created_at, message_id);
-- The audit page: by kind, and by member (actor or target).
CREATE INDEX audit_guild_kind ON audit_log (guild_id, kind, seq DESC);
CREATE INDEX audit_guild_actor ON audit_log (guild_id, actor_id, seq) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_guild_target ON audit_log (guild_id, target_id, seq) WHERE target_id IS NOT NULL;

-- A key of an audit row's JSON payload, or NULL where the text is not valid jsonb (Postgres'
-- jsonb cannot hold \u0000, which a note's text may carry): one bad row must neither fail the
-- append that writes it nor every read of the index. The exception block makes it parallel
-- unsafe.
CREATE FUNCTION audit_payload_field(payload TEXT, key TEXT) RETURNS JSONB
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL UNSAFE AS $$
BEGIN
    RETURN payload::jsonb -> key;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;
-- A case's page: the audit rows naming its number (or, for notes, its id).
CREATE INDEX audit_case_no ON audit_log (guild_id, audit_payload_field(payload, 'case_no'))
    WHERE payload IS NOT NULL;
CREATE INDEX audit_case_id ON audit_log (guild_id, audit_payload_field(payload, 'case_id'))
    WHERE audit_payload_field(payload, 'case_id') IS NOT NULL;
