-- The city's duplicate proposals and registry matches on this PC (issue 5): the last state the
-- hub sent, so the office sees it offline, and the decisions made here until the next sync
-- round has sent them. Local-only tables: they are no domain records, never undone or replayed
-- (store::sync's LOCAL_ONLY list), and the next fetch replaces the cache as a whole.

-- One row per facility this PC fetched for (a PC has one; the demo seeds two): when the cache
-- was last filled, the registry extract the hub matched against, and the last failure of the
-- city step of a sync round (German; cleared by the next good fetch).
CREATE TABLE city_fetch (
    facility_id   TEXT PRIMARY KEY,
    fetched_at    TEXT,
    -- JSON `RegistryImport`, NULL while the hub has no extract
    extract       TEXT,
    last_error    TEXT,
    last_error_at TEXT
) STRICT;

-- Duplicate proposals as the hub sent them (`DuplicateView`). The hub sends one row per own
-- child, so a pair of two children of this facility comes twice.
CREATE TABLE city_proposals (
    id          TEXT NOT NULL,
    child_id    TEXT NOT NULL,
    facility_id TEXT NOT NULL,
    -- JSON `DuplicateView`
    view        TEXT NOT NULL,
    fetched_at  TEXT NOT NULL,
    PRIMARY KEY (id, child_id)
) STRICT;

-- The registry status of each own child (`ChildRegistryStatus`).
CREATE TABLE city_registry (
    child_id    TEXT PRIMARY KEY,
    facility_id TEXT NOT NULL,
    -- JSON `ChildRegistryStatus`
    status      TEXT NOT NULL,
    fetched_at  TEXT NOT NULL
) STRICT;

-- Decisions made on this PC. Sent in the next sync round; `sent_at` once the hub took it,
-- `error` (German, the hub's words) when the hub refused it for good — the proposal is gone or
-- the other facility decided otherwise; the hub's state then stands.
CREATE TABLE city_decisions (
    id          INTEGER PRIMARY KEY,
    proposal_id TEXT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('confirmed', 'rejected')),
    decided_by  TEXT NOT NULL,
    decided_at  TEXT NOT NULL,
    sent_at     TEXT,
    error       TEXT
) STRICT;
CREATE INDEX city_decisions_proposal ON city_decisions(proposal_id);

-- Erasure (DeleteChild, also replayed from another PC) takes the child's names out of the
-- cache at once, not only at the next fetch.
CREATE TRIGGER city_forget_child AFTER DELETE ON children
BEGIN
    DELETE FROM city_decisions WHERE proposal_id IN (SELECT id FROM city_proposals WHERE child_id = OLD.id);
    DELETE FROM city_proposals WHERE child_id = OLD.id;
    DELETE FROM city_registry WHERE child_id = OLD.id;
END;
