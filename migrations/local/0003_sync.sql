-- Offline-first sync with the city's hub (issue 5, ENGINEERING §E3).
--
-- Base tables hold the state confirmed by the hub with this PC's pending commands on top. To
-- put the hub's log underneath them, the store undoes the pending commands (from the row images
-- in `sync_undo`), replays the log, and runs the pending commands again. The undo triggers
-- themselves are generated from the table definitions when the database is opened
-- (`sync::install_undo_triggers`), so a later migration cannot forget a column.

-- The hub's version of each record this PC knows ("child:<uuid>" → n), plus the provisional
-- bumps of pending commands (undone with them). Base versions of new commands come from here.
CREATE TABLE sync_versions (
    record  TEXT PRIMARY KEY,
    version INTEGER NOT NULL
) STRICT;

-- While a command runs locally, its client_seq is here and the triggers record the old row
-- images under it; outside commands the row is NULL and the triggers stay silent.
CREATE TABLE sync_capture (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    client_seq INTEGER
) STRICT;
INSERT INTO sync_capture (id, client_seq) VALUES (1, NULL);

CREATE TABLE sync_undo (
    id         INTEGER PRIMARY KEY,
    client_seq INTEGER NOT NULL,
    tbl        TEXT NOT NULL,
    op         TEXT NOT NULL CHECK (op IN ('I','U','D')),
    -- primary key of the row (JSON object), and its full old image for U and D
    pk         TEXT NOT NULL,
    old        TEXT
) STRICT;
CREATE INDEX sync_undo_seq ON sync_undo(client_seq);

-- local_effect: the command's effect is in the base tables on top of the hub's state.
-- undoable:     its undo images exist (0 for commands from before this migration and for
--               erasures, whose old images must not be kept).
-- in_log:       the hub's log entry of this command has been replayed here.
ALTER TABLE outbox ADD COLUMN local_effect INTEGER NOT NULL DEFAULT 1;
ALTER TABLE outbox ADD COLUMN undoable     INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN in_log       INTEGER NOT NULL DEFAULT 0;
-- The hub's answer (JSON `Outcome`), once known.
ALTER TABLE outbox ADD COLUMN result       TEXT;
-- Argon2id hash of a new password (CreateUser, ResetPassword) for the facility's other PCs.
ALTER TABLE outbox ADD COLUMN secret_hash  TEXT;
CREATE INDEX outbox_status ON outbox(status, client_seq);

-- The clarification inbox ("Klärungsbedarf"): commands the hub rejected or found in conflict,
-- and hub entries that could not be replayed here. Kept until a person resolves them.
CREATE TABLE inbox (
    id          INTEGER PRIMARY KEY,
    client_seq  INTEGER,
    command_id  TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    args        TEXT NOT NULL,
    user_id     TEXT,
    -- JSON `Outcome` (rejected or conflict)
    outcome     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    resolved_at TEXT,
    resolution  TEXT CHECK (resolution IN ('dismissed','retried')),
    resolved_by TEXT
) STRICT;
CREATE INDEX inbox_open ON inbox(resolved_at);
