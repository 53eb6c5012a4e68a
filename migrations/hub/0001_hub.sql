-- The hub's PostgreSQL schema (ENGINEERING §E3). Needs PostgreSQL >= 13 (xid8,
-- pg_current_xact_id) and the contrib extension btree_gist (Debian: in package postgresql).

CREATE EXTENSION IF NOT EXISTS btree_gist;

-- ---------------------------------------------------------------------------------------------
-- City reference data and read models kept from applied commands.

CREATE TABLE providers (
    id   uuid PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE facilities (
    id           uuid PRIMARY KEY,
    provider_id  uuid NOT NULL REFERENCES providers (id),
    name         text NOT NULL,
    profile      text NOT NULL DEFAULT '',
    address      jsonb NOT NULL,
    municipality text NOT NULL,
    updated_at   timestamptz NOT NULL
);

CREATE TABLE facility_capacities (
    facility_id uuid NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    care_type   text NOT NULL CHECK (care_type IN ('nursery', 'kindergarten', 'after_school')),
    capacity    integer NOT NULL CHECK (capacity >= 0),
    PRIMARY KEY (facility_id, care_type)
);

-- Children as the hub knows them (for the city's waiting list, registry matching and
-- de-duplication, which later modules add). Deleted with the child's file.
CREATE TABLE children (
    id           uuid PRIMARY KEY,
    facility_id  uuid NOT NULL,
    first_name   text NOT NULL,
    last_name    text NOT NULL,
    birth_date   date NOT NULL,
    address      jsonb NOT NULL,
    municipality text NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX children_facility ON children (facility_id);
CREATE INDEX children_birth_date ON children (birth_date);

CREATE TABLE applications (
    id           uuid PRIMARY KEY,
    child_id     uuid NOT NULL,
    -- The facility (device scope) the application was submitted in.
    facility_id  uuid NOT NULL,
    wanted_start date NOT NULL,
    care_type    text NOT NULL CHECK (care_type IN ('nursery', 'kindergarten', 'after_school')),
    care_tenths  integer NOT NULL,
    origin       text NOT NULL,
    state        text NOT NULL CHECK (state IN ('open', 'reserved', 'admitted', 'rejected', 'withdrawn')),
    priority     integer NOT NULL DEFAULT 0,
    submitted_at timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX applications_child ON applications (child_id);
CREATE INDEX applications_state ON applications (state);

-- Up to 5 ranked facility choices.
CREATE TABLE application_choices (
    application_id uuid NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    rank           integer NOT NULL CHECK (rank BETWEEN 1 AND 5),
    facility_id    uuid NOT NULL,
    PRIMARY KEY (application_id, rank),
    UNIQUE (application_id, facility_id)
);
CREATE INDEX application_choices_facility ON application_choices (facility_id);

CREATE TABLE tickets (
    id                uuid PRIMARY KEY,
    child_id          uuid NOT NULL,
    facility_id       uuid NOT NULL,
    home_municipality text NOT NULL,
    state             text NOT NULL CHECK (state IN ('requested', 'approved', 'denied')),
    reference         text,
    requested_at      timestamptz NOT NULL,
    decided_at        timestamptz
);
CREATE INDEX tickets_child ON tickets (child_id);
CREATE INDEX tickets_requested ON tickets (requested_at) WHERE state = 'requested';

-- Places: one row per hold (reservation) that may become a contract. The exclusion
-- constraint makes a double booking of a slot impossible, whatever the application code does.
CREATE TABLE bookings (
    id             uuid PRIMARY KEY, -- the reservation id
    facility_id    uuid NOT NULL,
    care_type      text NOT NULL CHECK (care_type IN ('nursery', 'kindergarten', 'after_school')),
    slot           integer NOT NULL CHECK (slot >= 1),
    period         daterange NOT NULL CHECK (NOT isempty(period)),
    kind           text NOT NULL CHECK (kind IN ('hold', 'contract')),
    active         boolean NOT NULL,
    expires_at     timestamptz,
    application_id uuid NOT NULL,
    child_id       uuid NOT NULL,
    contract_id    uuid UNIQUE,
    created_at     timestamptz NOT NULL,
    CHECK ((kind = 'hold') = (expires_at IS NOT NULL)),
    EXCLUDE USING gist (facility_id WITH =, care_type WITH =, slot WITH =, period WITH &&) WHERE (active)
);
CREATE INDEX bookings_expiring ON bookings (expires_at) WHERE active AND kind = 'hold';
CREATE INDEX bookings_child ON bookings (child_id) WHERE active;
CREATE INDEX bookings_application ON bookings (application_id);

-- ---------------------------------------------------------------------------------------------
-- Record versions (the conflict policy's memory).

CREATE TABLE records (
    ref         text PRIMARY KEY, -- "child:<uuid>", "application:<uuid>", …
    facility_id uuid,
    provider_id uuid,
    version     bigint NOT NULL,
    last_change text NOT NULL -- "<Command> von <author> am <time>", for conflicts
);

CREATE TABLE record_fields (
    ref        text NOT NULL REFERENCES records (ref) ON DELETE CASCADE,
    field      text NOT NULL,
    version    bigint NOT NULL, -- the record's version when the field was last set
    value      jsonb NOT NULL,
    changed_by text NOT NULL,
    PRIMARY KEY (ref, field)
);

-- ---------------------------------------------------------------------------------------------
-- Devices, enrolment, tokens.

CREATE TABLE enrolment_codes (
    code_hash   bytea PRIMARY KEY, -- sha256 of the normalised code; the code itself is never stored
    facility_id uuid NOT NULL REFERENCES facilities (id),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    used_by     uuid
);

CREATE TABLE devices (
    id              uuid PRIMARY KEY,
    name            text NOT NULL,
    facility_id     uuid NOT NULL REFERENCES facilities (id),
    provider_id     uuid NOT NULL,
    enrolled_at     timestamptz NOT NULL,
    revoked_at      timestamptz,
    last_push_at    timestamptz,
    last_pull_at    timestamptz,
    audit_head_seq  bigint,
    audit_head_hash text
);

CREATE TABLE device_tokens (
    device_id          uuid PRIMARY KEY REFERENCES devices (id),
    access_hash        bytea NOT NULL UNIQUE, -- sha256 of the bearer token
    access_expires_at  timestamptz NOT NULL,
    refresh_hash       bytea NOT NULL UNIQUE,
    refresh_expires_at timestamptz NOT NULL,
    issued_at          timestamptz NOT NULL
);

-- ---------------------------------------------------------------------------------------------
-- The command log and the results of pushed commands.

-- One result per pushed command: the idempotency memory. A repeated push returns `outcome`.
CREATE TABLE results (
    device_id  uuid NOT NULL REFERENCES devices (id),
    client_seq bigint NOT NULL CHECK (client_seq >= 1),
    command_id uuid NOT NULL UNIQUE,
    outcome    jsonb NOT NULL,
    stored_at  timestamptz NOT NULL,
    PRIMARY KEY (device_id, client_seq)
);

-- Applied commands. `xid` is the writing transaction's id: pull orders by (xid, seq) and only
-- reads rows whose transaction is older than every running one (see pull.rs).
CREATE TABLE log (
    seq            bigserial PRIMARY KEY,
    xid            xid8 NOT NULL DEFAULT pg_current_xact_id(),
    -- Origin: a device's command (device_id, client_seq, command_id) or the hub's own (command_id).
    device_id      uuid,
    client_seq     bigint,
    command_id     uuid NOT NULL UNIQUE,
    user_id        uuid,
    hub_time       timestamptz NOT NULL,
    command        jsonb NOT NULL,
    versions       jsonb NOT NULL,
    secret_hash    text,
    facility_id    uuid,
    provider_id    uuid,
    CHECK ((device_id IS NULL) = (client_seq IS NULL))
);
-- One index per branch of the scope filter, each in log order, so a pull is a merge of three
-- index range scans instead of a scan of the whole city's log.
CREATE INDEX log_facility ON log (facility_id, xid, seq);
CREATE INDEX log_provider ON log (provider_id, xid, seq) WHERE facility_id IS NULL;
CREATE INDEX log_city ON log (xid, seq) WHERE facility_id IS NULL AND provider_id IS NULL;
