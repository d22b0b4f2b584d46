-- Reliability: every automatic action carries an idempotency key (one case per message and
-- decision, per incident participant), and the process that recorded a case, so a restart
-- can reconcile the cases its previous run left pending.

ALTER TABLE moderation_cases ADD COLUMN action_key TEXT;
ALTER TABLE moderation_cases ADD COLUMN recorded_by TEXT;
CREATE UNIQUE INDEX cases_action_key ON moderation_cases (guild_id, action_key) WHERE action_key IS NOT NULL;
-- Cases left pending (crash between recording and Discord's answer).
CREATE INDEX cases_pending ON moderation_cases (recorded_by) WHERE status = 'pending';
