-- One transcript per recording: the recording worker's idempotency key. A redelivered
-- transcription job finds the transcript already there and stores nothing twice.
DROP INDEX transcripts_recording_idx;
CREATE UNIQUE INDEX transcripts_recording_key ON transcripts (recording_id)
    WHERE recording_id IS NOT NULL;
