-- Hostile and careless input (issue 16): a transcription that never finishes is taken again,
-- and not for ever; `transcribe/` queues one job, not one per call.

-- processing_started_at: when the current run claimed the recording; a `processing` recording
--   older than the worker's longest run (its Lambda timeout plus a margin) was abandoned by a
--   run that died (out of memory, timed out, killed) and may be taken again, once.
-- transcription_attempts: runs that claimed it since it was last queued by a person; past
--   three, the recording fails instead of taking a worker down again.
-- queued_at: when its last transcription job was sent, so repeated `transcribe/` calls send
--   one job.
ALTER TABLE recordings
    ADD COLUMN processing_started_at  timestamptz,
    ADD COLUMN transcription_attempts integer NOT NULL DEFAULT 0
               CHECK (transcription_attempts BETWEEN 0 AND 1000),
    ADD COLUMN queued_at              timestamptz;

UPDATE recordings SET processing_started_at = COALESCE(uploaded_at, created_at)
 WHERE status = 'processing';
