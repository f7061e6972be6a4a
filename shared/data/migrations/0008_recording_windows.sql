-- Issue 18: a long recording transcribed in windows, side by side. The windows are planned once
-- per recording (their bounds from meetin_messages::transcript::windows::plan); each window's
-- job stores its transcription here once; the recording's transcript is merged from them when
-- the last one is in. Deleted with the recording.
CREATE TABLE recording_windows (
    recording_id   uuid    NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
    window_index   integer NOT NULL CHECK (window_index >= 0 AND window_index < 1000),
    start_ms       bigint  NOT NULL CHECK (start_ms >= 0),
    end_ms         bigint  NOT NULL CHECK (end_ms > start_ms),
    keep_from_ms   bigint  NOT NULL CHECK (keep_from_ms >= start_ms),
    keep_to_ms     bigint  NOT NULL CHECK (keep_to_ms >= keep_from_ms AND keep_to_ms <= end_ms),
    -- meetin_messages::transcript::Transcription as JSON, on the window's clock; NULL until
    -- its job has run.
    transcription  jsonb,
    transcribed_at timestamptz,
    PRIMARY KEY (recording_id, window_index)
);
