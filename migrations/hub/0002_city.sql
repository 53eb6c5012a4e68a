-- City rules on the hub (issue 5, part 4): the de-duplicated waiting list across providers and
-- the residents' registry extract. Nothing here changes a child: proposals and match statuses
-- sit next to the read models and are decided by people.

-- Possible duplicates: two children of different records that may be the same child.
-- Never applied automatically; a device of an involved facility confirms or rejects.
CREATE TABLE duplicate_proposals (
    id                uuid PRIMARY KEY,
    child_a           uuid NOT NULL,
    child_b           uuid NOT NULL,
    reason            text NOT NULL,
    score             integer NOT NULL CHECK (score BETWEEN 0 AND 100),
    state             text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'confirmed', 'rejected')),
    decided_by_device uuid,
    decided_at        timestamptz,
    created_at        timestamptz NOT NULL,
    CHECK (child_a <> child_b),
    CHECK ((state = 'open') = (decided_at IS NULL))
);
-- One proposal per unordered pair.
CREATE UNIQUE INDEX duplicate_proposals_pair ON duplicate_proposals (least(child_a, child_b), greatest(child_a, child_b));
CREATE INDEX duplicate_proposals_child_a ON duplicate_proposals (child_a);
CREATE INDEX duplicate_proposals_child_b ON duplicate_proposals (child_b);

-- The residents' registry extract (Melderegister). One import replaces the previous one.
CREATE TABLE registry_imports (
    id          uuid PRIMARY KEY,
    imported_at timestamptz NOT NULL,
    file_name   text NOT NULL,
    row_count   integer NOT NULL CHECK (row_count >= 0),
    encoding    text NOT NULL
);

CREATE TABLE registry_residents (
    id                  uuid PRIMARY KEY,
    import_id           uuid NOT NULL REFERENCES registry_imports (id) ON DELETE CASCADE,
    line                integer NOT NULL,
    last_name           text NOT NULL,
    first_names         text NOT NULL,
    birth_date          date NOT NULL,
    street              text NOT NULL,
    house_number        text NOT NULL,
    postal_code         text NOT NULL,
    city                text NOT NULL,
    municipality_key    text NOT NULL
);
-- Matching compares names in the hub (duplicates.rs: normalisation, Kölner Phonetik) among
-- the residents with the child's birth date and postal code.
CREATE INDEX registry_residents_birth_date ON registry_residents (birth_date, postal_code);

-- The last matching result per child. Never changes the child's data.
CREATE TABLE registry_matches (
    child_id    uuid PRIMARY KEY,
    status      text NOT NULL CHECK (status IN ('matched', 'matched_phonetic', 'not_found', 'ambiguous')),
    resident_id uuid,
    checked_at  timestamptz NOT NULL
);
