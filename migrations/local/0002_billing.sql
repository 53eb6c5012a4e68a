-- Fees and billing (issue 4): the provider as SEPA creditor, rule sets, mandates, pick-up
-- persons for the contract, billing runs and immutable invoices.

-- The provider collects the fees: its address for letters and its SEPA creditor data.
ALTER TABLE providers ADD COLUMN street      TEXT NOT NULL DEFAULT '';
ALTER TABLE providers ADD COLUMN postal_code TEXT NOT NULL DEFAULT '';
ALTER TABLE providers ADD COLUMN city        TEXT NOT NULL DEFAULT '';
ALTER TABLE providers ADD COLUMN creditor_id TEXT NOT NULL DEFAULT '';
ALTER TABLE providers ADD COLUMN iban        TEXT NOT NULL DEFAULT '';
ALTER TABLE providers ADD COLUMN bic         TEXT NOT NULL DEFAULT '';
-- The youth office that reimburses the reductions (SächsKitaG §15 Abs. 5).
ALTER TABLE providers ADD COLUMN youth_office TEXT NOT NULL DEFAULT '';

-- Persons allowed to pick the child up besides the guardians (JSON array of "Name (Beziehung)").
ALTER TABLE children ADD COLUMN pickup_persons TEXT NOT NULL DEFAULT '[]';

-- Fee rule sets as imported files; the TOML text is the source of truth, the columns index it.
CREATE TABLE fee_rule_sets (
    id           TEXT NOT NULL,
    version      INTEGER NOT NULL,
    municipality TEXT NOT NULL,
    valid_from   TEXT NOT NULL,
    valid_to     TEXT,
    source       TEXT NOT NULL,
    imported_at  TEXT NOT NULL,
    PRIMARY KEY (id, version)
) STRICT;

-- SEPA direct-debit mandates (Lastschriftmandate), one or more per guardian.
CREATE TABLE sepa_mandates (
    id           TEXT PRIMARY KEY,
    guardian_id  TEXT NOT NULL REFERENCES guardians(id) ON DELETE CASCADE,
    reference    TEXT NOT NULL UNIQUE,
    signed_on    TEXT NOT NULL,
    last_used_on TEXT,
    revoked_on   TEXT,
    version      INTEGER NOT NULL DEFAULT 1
) STRICT;
CREATE INDEX sepa_mandates_guardian ON sepa_mandates(guardian_id);

CREATE TABLE billing_runs (
    id          TEXT PRIMARY KEY,
    facility_id TEXT NOT NULL REFERENCES facilities(id),
    month       TEXT NOT NULL,
    run_at      TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    -- JSON summary (families, totals, problems, files) as shown to the user.
    summary     TEXT NOT NULL
) STRICT;

-- Invoices are immutable once written: a correction is a credit note (kind 'credit_note',
-- refers_to the invoice) and a replacement ('replacement', refers_to the same invoice).
-- Numbers are gapless per year: seq = max + 1 inside the run's transaction.
CREATE TABLE invoices (
    id           TEXT PRIMARY KEY,
    number       TEXT NOT NULL UNIQUE,
    year         INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('invoice','credit_note','replacement')),
    refers_to    TEXT REFERENCES invoices(id),
    run_id       TEXT NOT NULL REFERENCES billing_runs(id),
    facility_id  TEXT NOT NULL REFERENCES facilities(id),
    month        TEXT NOT NULL,
    -- The family: the smallest guardian id of the children sharing guardians.
    family_key   TEXT NOT NULL,
    -- The recipient as addressed on the day of issue.
    payer_name        TEXT NOT NULL,
    payer_street      TEXT NOT NULL,
    payer_postal_code TEXT NOT NULL,
    payer_city        TEXT NOT NULL,
    -- Direct debit: mandate, debtor account and sequence; NULL = paid by transfer.
    mandate_ref       TEXT,
    mandate_signed_on TEXT,
    debtor_iban       TEXT,
    sequence          TEXT CHECK (sequence IN ('first','recurring')),
    -- What this run's SEPA file collects for this document (0: nothing, e.g. a credit note).
    collect_cents     INTEGER NOT NULL DEFAULT 0,
    total_cents  INTEGER NOT NULL,
    due_date     TEXT NOT NULL,
    issued_at    TEXT NOT NULL,
    -- SHA-256 of the billed content; an unchanged re-run finds the same hash and bills nothing.
    content_hash TEXT NOT NULL,
    UNIQUE (year, seq)
) STRICT;
CREATE INDEX invoices_month ON invoices(facility_id, month, family_key);

-- One child's part of an invoice, with the reductions the youth office reimburses.
CREATE TABLE invoice_children (
    invoice_id      TEXT NOT NULL REFERENCES invoices(id),
    child_id        TEXT REFERENCES children(id) ON DELETE SET NULL,
    child_name      TEXT NOT NULL,
    birth_date      TEXT NOT NULL,
    care            TEXT NOT NULL,
    full_fee_cents  INTEGER NOT NULL,
    fee_cents       INTEGER NOT NULL,
    -- JSON: [{kind, cents, claimable}], signed like the invoice (negative on credit notes).
    reductions      TEXT NOT NULL,
    -- JSON: [{label, detail, amount_cents}]
    lines           TEXT NOT NULL,
    PRIMARY KEY (invoice_id, child_name, birth_date)
) STRICT;

CREATE TRIGGER invoices_immutable BEFORE UPDATE ON invoices
BEGIN SELECT RAISE(ABORT, 'an invoice is never edited; issue a credit note or a replacement'); END;
CREATE TRIGGER invoices_no_delete BEFORE DELETE ON invoices
BEGIN SELECT RAISE(ABORT, 'invoices are kept (retention 10 years)'); END;
CREATE TRIGGER invoice_children_immutable BEFORE UPDATE OF invoice_id, child_name, birth_date, care, full_fee_cents, fee_cents, reductions, lines ON invoice_children
BEGIN SELECT RAISE(ABORT, 'an invoice is never edited; issue a credit note or a replacement'); END;
