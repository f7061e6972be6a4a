-- meetIN relational schema: every table of the original README plus the copilot tables the
-- contract adds. Ids are uuid4; enums are lowercase text with CHECK constraints; every
-- updated_at is maintained by one trigger function.

CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

-- accounts --------------------------------------------------------------------------------------

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         varchar(254) NOT NULL CHECK (email <> ''),
    username      varchar(150) NOT NULL CHECK (username <> ''),
    first_name    varchar(150) NOT NULL DEFAULT '',
    last_name     varchar(150) NOT NULL DEFAULT '',
    password_hash text NOT NULL,
    is_active     boolean NOT NULL DEFAULT true,
    is_staff      boolean NOT NULL DEFAULT false,
    is_superuser  boolean NOT NULL DEFAULT false,
    date_joined   timestamptz NOT NULL DEFAULT now(),
    last_login    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- Emails are unique whatever their case, so login can match them case-insensitively.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_username_key ON users (username);
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE organizations (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       varchar(255) NOT NULL CHECK (btrim(name) <> ''),
    owner_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX organizations_owner_idx ON organizations (owner_id);
CREATE TRIGGER organizations_updated_at BEFORE UPDATE ON organizations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE organization_members (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            text NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member', 'viewer')),
    joined_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organization_members_org_user_key UNIQUE (organization_id, user_id)
);
-- "Which organizations is this user in" is on every request's authorization path.
CREATE INDEX organization_members_user_idx ON organization_members (user_id, organization_id);

-- meetings --------------------------------------------------------------------------------------

CREATE TABLE meetings (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id     uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    created_by_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title               varchar(500) NOT NULL CHECK (btrim(title) <> ''),
    description         text NOT NULL DEFAULT '',
    language_preference text NOT NULL DEFAULT 'auto' CHECK (language_preference IN ('en', 'fr', 'auto')),
    scheduled_at        timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX meetings_org_created_idx ON meetings (organization_id, created_at DESC);
CREATE INDEX meetings_created_by_idx ON meetings (created_by_id);
CREATE TRIGGER meetings_updated_at BEFORE UPDATE ON meetings
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE live_sessions (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    meeting_id          uuid NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended', 'failed')),
    provider            varchar(50) NOT NULL DEFAULT 'deepgram',
    provider_session_id varchar(255),
    config_json         jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(config_json) = 'object'),
    error_message       text,
    started_at          timestamptz NOT NULL DEFAULT now(),
    ended_at            timestamptz,
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE INDEX live_sessions_meeting_idx ON live_sessions (meeting_id, started_at DESC);
-- At most one active session per meeting, even under concurrent starts.
CREATE UNIQUE INDEX live_sessions_one_active_key ON live_sessions (meeting_id) WHERE status = 'active';
CREATE INDEX live_sessions_retention_idx ON live_sessions (status, started_at);

CREATE TABLE recordings (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    meeting_id     uuid NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    storage_key    varchar(500) NOT NULL,
    mime_type      varchar(100) NOT NULL DEFAULT 'audio/webm',
    duration_ms    integer CHECK (duration_ms BETWEEN 0 AND 86400000),
    size_bytes     bigint CHECK (size_bytes BETWEEN 0 AND 524288000),
    status         text NOT NULL DEFAULT 'created'
                   CHECK (status IN ('created', 'uploaded', 'processing', 'ready', 'failed')),
    failure_reason text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    uploaded_at    timestamptz,
    CONSTRAINT recordings_storage_key_key UNIQUE (storage_key)
);
CREATE INDEX recordings_meeting_idx ON recordings (meeting_id, created_at DESC);
CREATE INDEX recordings_retention_idx ON recordings (status, created_at);

CREATE TABLE speakers (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    meeting_id   uuid NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    label        varchar(100) NOT NULL CHECK (label <> ''),
    display_name varchar(255),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT speakers_meeting_label_key UNIQUE (meeting_id, label)
);

-- transcription ---------------------------------------------------------------------------------

CREATE TABLE transcripts (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    meeting_id        uuid NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    recording_id      uuid REFERENCES recordings (id) ON DELETE SET NULL,
    live_session_id   uuid REFERENCES live_sessions (id) ON DELETE SET NULL,
    provider          varchar(50) NOT NULL DEFAULT 'deepgram',
    language_detected varchar(10),
    created_at        timestamptz NOT NULL DEFAULT now()
);
-- "The" transcript of a meeting is its newest.
CREATE INDEX transcripts_meeting_created_idx ON transcripts (meeting_id, created_at DESC);
CREATE INDEX transcripts_recording_idx ON transcripts (recording_id) WHERE recording_id IS NOT NULL;
CREATE INDEX transcripts_live_session_idx ON transcripts (live_session_id) WHERE live_session_id IS NOT NULL;

CREATE TABLE transcript_segments (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    transcript_id     uuid NOT NULL REFERENCES transcripts (id) ON DELETE CASCADE,
    start_ms          integer NOT NULL CHECK (start_ms >= 0),
    end_ms            integer NOT NULL,
    speaker_id        uuid REFERENCES speakers (id) ON DELETE SET NULL,
    speaker_label_raw varchar(100),
    text              text NOT NULL,
    confidence        double precision CHECK (confidence BETWEEN 0 AND 1),
    is_final          boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (end_ms >= start_ms)
);
CREATE INDEX transcript_segments_transcript_start_idx ON transcript_segments (transcript_id, start_ms);
CREATE INDEX transcript_segments_span_idx ON transcript_segments (start_ms, end_ms);
CREATE INDEX transcript_segments_speaker_idx ON transcript_segments (speaker_id) WHERE speaker_id IS NOT NULL;

CREATE TABLE minutes (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    meeting_id         uuid NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    transcript_id      uuid NOT NULL REFERENCES transcripts (id) ON DELETE CASCADE,
    content_json       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(content_json) = 'object'),
    content_md         text NOT NULL DEFAULT '',
    output_language    text NOT NULL DEFAULT 'en' CHECK (output_language IN ('en', 'fr')),
    generated_by_model varchar(100),
    model_version      varchar(50),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT minutes_meeting_key UNIQUE (meeting_id)
);
CREATE INDEX minutes_transcript_idx ON minutes (transcript_id);
CREATE TRIGGER minutes_updated_at BEFORE UPDATE ON minutes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE minutes_versions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    minutes_id    uuid NOT NULL REFERENCES minutes (id) ON DELETE CASCADE,
    content_json  jsonb NOT NULL CHECK (jsonb_typeof(content_json) = 'object'),
    content_md    text NOT NULL DEFAULT '',
    -- A generation by the worker has no user; an edit has its editor.
    source        text NOT NULL DEFAULT 'edit' CHECK (source IN ('generation', 'edit')),
    created_by_id uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX minutes_versions_minutes_created_idx ON minutes_versions (minutes_id, created_at DESC);

CREATE TABLE action_items (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    meeting_id         uuid NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    minutes_id         uuid NOT NULL REFERENCES minutes (id) ON DELETE CASCADE,
    title              varchar(500) NOT NULL CHECK (btrim(title) <> ''),
    description        text NOT NULL DEFAULT '',
    assignee_id        uuid REFERENCES users (id) ON DELETE SET NULL,
    due_date           date,
    priority           text NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high')),
    status             text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'done', 'blocked')),
    source_segment_ids jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(source_segment_ids) = 'array'),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX action_items_meeting_status_idx ON action_items (meeting_id, status);
CREATE INDEX action_items_minutes_idx ON action_items (minutes_id);
CREATE INDEX action_items_assignee_due_idx ON action_items (assignee_id, due_date) WHERE assignee_id IS NOT NULL;
CREATE TRIGGER action_items_updated_at BEFORE UPDATE ON action_items
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- core ------------------------------------------------------------------------------------------

CREATE TABLE share_links (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    meeting_id    uuid NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    -- SHA-256 of the secret token, hex; the token itself is shown once and never stored.
    token_hash    char(64) NOT NULL CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    permission    text NOT NULL DEFAULT 'view' CHECK (permission IN ('view', 'comment', 'edit')),
    expires_at    timestamptz,
    revoked_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT share_links_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX share_links_meeting_idx ON share_links (meeting_id, created_at DESC);

CREATE TABLE audit_logs (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- The trail outlives the user who acted.
    actor_id        uuid REFERENCES users (id) ON DELETE SET NULL,
    action          varchar(100) NOT NULL CHECK (action <> ''),
    entity_type     text NOT NULL CHECK (entity_type IN (
                        'meeting', 'transcript', 'minutes', 'user', 'organization', 'membership',
                        'recording', 'live_session', 'action_item', 'share_link', 'copilot_suggestion')),
    entity_id       uuid NOT NULL,
    metadata        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_logs_org_created_idx ON audit_logs (organization_id, created_at DESC);
CREATE INDEX audit_logs_actor_created_idx ON audit_logs (actor_id, created_at DESC);

-- ai copilot ------------------------------------------------------------------------------------

CREATE TABLE copilot_suggestions (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    meeting_id              uuid NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    type                    text NOT NULL CHECK (type IN ('action_item', 'decision', 'risk', 'question')),
    payload_json            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload_json) = 'object'),
    status                  text NOT NULL DEFAULT 'proposed'
                            CHECK (status IN ('proposed', 'accepted', 'rejected', 'edited')),
    dedupe_key              varchar(255) NOT NULL,
    source_segment_ids      jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(source_segment_ids) = 'array'),
    confidence              double precision CHECK (confidence BETWEEN 0 AND 1),
    created_by              text NOT NULL DEFAULT 'ai' CHECK (created_by IN ('ai', 'user')),
    accepted_action_item_id uuid REFERENCES action_items (id) ON DELETE SET NULL,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX copilot_suggestions_meeting_created_idx ON copilot_suggestions (meeting_id, created_at DESC);
CREATE INDEX copilot_suggestions_dedupe_idx ON copilot_suggestions (meeting_id, dedupe_key);
CREATE INDEX copilot_suggestions_meeting_type_status_idx ON copilot_suggestions (meeting_id, type, status);
CREATE INDEX copilot_suggestions_retention_idx ON copilot_suggestions (status, created_at);
CREATE TRIGGER copilot_suggestions_updated_at BEFORE UPDATE ON copilot_suggestions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE copilot_runs (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    meeting_id         uuid NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    mode               text NOT NULL CHECK (mode IN ('realtime_incremental', 'post_meeting')),
    provider           varchar(50) NOT NULL DEFAULT 'openai',
    model              varchar(100) NOT NULL DEFAULT '',
    input_token_count  integer CHECK (input_token_count >= 0),
    output_token_count integer CHECK (output_token_count >= 0),
    status             text NOT NULL DEFAULT 'started'
                       CHECK (status IN ('started', 'success', 'failed', 'timeout')),
    error_message      text,
    started_at         timestamptz NOT NULL DEFAULT now(),
    finished_at        timestamptz,
    segment_count      integer NOT NULL DEFAULT 0 CHECK (segment_count >= 0),
    suggestion_count   integer NOT NULL DEFAULT 0 CHECK (suggestion_count >= 0),
    processing_time_ms integer CHECK (processing_time_ms >= 0)
);
CREATE INDEX copilot_runs_meeting_started_idx ON copilot_runs (meeting_id, started_at DESC);
CREATE INDEX copilot_runs_retention_idx ON copilot_runs (status, started_at);

CREATE TABLE speaker_user_map (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    meeting_id    uuid NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    speaker_id    uuid NOT NULL REFERENCES speakers (id) ON DELETE CASCADE,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by_id uuid REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT speaker_user_map_meeting_speaker_key UNIQUE (meeting_id, speaker_id)
);
CREATE INDEX speaker_user_map_user_idx ON speaker_user_map (user_id);
