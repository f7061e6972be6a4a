-- Issue 16 (minutes): one generation at a time per meeting; deleted action items stay deleted.

-- At most one `queued` or `running` generation per meeting: `minutes/generate/` inserts with
-- ON CONFLICT on this index and answers the task already there. Older duplicates (made before
-- this rule) end as `failed` so the index can be built.
UPDATE minutes_tasks t
SET status = 'failed', finished_at = now(),
    error = 'Superseded by a newer generation of the same minutes.'
WHERE t.status IN ('queued', 'running')
  AND EXISTS (SELECT 1 FROM minutes_tasks n
              WHERE n.meeting_id = t.meeting_id AND n.status IN ('queued', 'running')
                AND (n.created_at, n.id) > (t.created_at, t.id));
CREATE UNIQUE INDEX minutes_tasks_one_active ON minutes_tasks (meeting_id)
    WHERE status IN ('queued', 'running');

-- A user's deletion of an action item, keyed like a regeneration matches items (the item's
-- `generated_key`, and the normalized key of its title): a regeneration proposing an item under
-- a key deleted here leaves it out. Written in the transaction of the delete.
CREATE TABLE action_item_tombstones (
    meeting_id    uuid NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    generated_key varchar(500) NOT NULL,
    deleted_by_id uuid REFERENCES users (id) ON DELETE SET NULL,
    deleted_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (meeting_id, generated_key)
);
