-- Minutes generation (issue: minutes, versions and action items).

-- A `minutes/generate/` request: its task_id, what it asked for and how it ended. The worker
-- takes a task `queued` → `running` → `succeeded` | `failed` and writes the minutes in the
-- transaction that marks it `succeeded`, so a redelivered job has exactly one effect.
CREATE TABLE minutes_tasks (
    id                uuid PRIMARY KEY,
    meeting_id        uuid NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    transcript_id     uuid NOT NULL REFERENCES transcripts (id) ON DELETE CASCADE,
    requested_by_id   uuid REFERENCES users (id) ON DELETE SET NULL,
    output_language   text NOT NULL CHECK (output_language IN ('en', 'fr')),
    status            text NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    error             text CHECK (char_length(error) <= 1000),
    minutes_id        uuid REFERENCES minutes (id) ON DELETE SET NULL,
    engine            varchar(100),
    prompt_tokens     integer CHECK (prompt_tokens >= 0),
    completion_tokens integer CHECK (completion_tokens >= 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz
);
CREATE INDEX minutes_tasks_meeting_idx ON minutes_tasks (meeting_id, created_at DESC);

-- Optimistic concurrency: every write of a meeting's minutes bumps `version`; GET answers it
-- as the ETag and a write may name the version it read (If-Match, or `version`).
ALTER TABLE minutes ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1);
-- The minutes version each snapshot recorded, and the language it was in.
ALTER TABLE minutes_versions
    ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    ADD COLUMN output_language text NOT NULL DEFAULT 'en' CHECK (output_language IN ('en', 'fr'));
CREATE UNIQUE INDEX minutes_versions_minutes_version_key ON minutes_versions (minutes_id, version);

-- Action items the worker made carry the normalized title they were made from, so a
-- regeneration updates them instead of adding duplicates. An item a user created has no key;
-- one a user edited is marked, and a regeneration leaves both alone.
ALTER TABLE action_items
    ADD COLUMN generated_key varchar(500),
    ADD COLUMN user_edited boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX action_items_generated_key ON action_items (meeting_id, generated_key)
    WHERE generated_key IS NOT NULL;
