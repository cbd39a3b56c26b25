// Versioned schema. Each entry moves the database from version i to i+1 inside one transaction; the
// version lives in PRAGMA user_version. Never edit a shipped migration: append a new one.

export const migrations: readonly string[] = [
  /* 1: the walking cabinet */ `
  CREATE TABLE compartments (
    id            TEXT PRIMARY KEY,
    size          TEXT NOT NULL CHECK (size IN ('S','M','L')),
    lock_channel  INTEGER NOT NULL,
    door_sensor   INTEGER NOT NULL,
    service       TEXT NOT NULL DEFAULT 'in-service' CHECK (service IN ('in-service','disabled','fault')),
    service_note  TEXT,
    case_no       TEXT,
    door          TEXT NOT NULL DEFAULT 'unknown' CHECK (door IN ('open','closed','unknown')),
    door_since    INTEGER
  );

  CREATE TABLE cases (
    case_no          TEXT PRIMARY KEY,
    state            TEXT NOT NULL CHECK (state IN ('awaiting-items','ready','picking-up','collected','overdue','retrieved')),
    enterprise_name  TEXT NOT NULL,
    uscc             TEXT NOT NULL,
    applicant_enc    BLOB,            -- AES-256-GCM of {name, phone, idNumber}; NULL once purged
    applicant_masked TEXT NOT NULL,   -- JSON {name, phone, idNumber}, masked for display
    id_suffix_hash   TEXT,            -- keyed hash of the ID number's last 6 characters
    created_at       INTEGER NOT NULL,
    created_by       TEXT NOT NULL,
    ready_at         INTEGER,
    expires_at       INTEGER,
    closed_at        INTEGER
  );
  CREATE INDEX cases_by_state ON cases (state);

  CREATE TABLE items (
    id             INTEGER PRIMARY KEY,
    case_no        TEXT NOT NULL REFERENCES cases (case_no),
    type           TEXT NOT NULL,
    barcode        TEXT NOT NULL,
    label          TEXT,
    state          TEXT NOT NULL CHECK (state IN ('expected','loading','loaded','collected','retrieved')),
    compartment_id TEXT REFERENCES compartments (id),
    loaded_at      INTEGER,
    closed_at      INTEGER
  );
  CREATE INDEX items_by_case ON items (case_no);
  -- A barcode is unique among the items not yet collected or retrieved.
  CREATE UNIQUE INDEX items_live_barcode ON items (barcode) WHERE state IN ('expected','loading','loaded');

  CREATE TABLE credentials (
    id         INTEGER PRIMARY KEY,
    case_no    TEXT NOT NULL REFERENCES cases (case_no),
    code_hash  TEXT NOT NULL,
    qr_hash    TEXT NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('active','spent','revoked')),
    spent_at   INTEGER
  );
  CREATE UNIQUE INDEX credentials_active_code ON credentials (code_hash) WHERE state = 'active';
  CREATE UNIQUE INDEX credentials_active_qr ON credentials (qr_hash) WHERE state = 'active';

  -- The open journal: written before every pulse, so a crash between journal and door is visible.
  CREATE TABLE opens (
    id             INTEGER PRIMARY KEY,
    compartment_id TEXT NOT NULL REFERENCES compartments (id),
    purpose        TEXT NOT NULL CHECK (purpose IN ('load','pickup','retrieve','remote')),
    ref            TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('journaled','pulsed','opened','closed','failed','interrupted')),
    pulses         INTEGER NOT NULL DEFAULT 0,
    journaled_at   INTEGER NOT NULL,
    opened_at      INTEGER,
    closed_at      INTEGER
  );
  CREATE INDEX opens_active ON opens (compartment_id) WHERE state IN ('journaled','pulsed','opened');

  CREATE TABLE loads (
    id             TEXT PRIMARY KEY,
    item_id        INTEGER NOT NULL REFERENCES items (id),
    case_no        TEXT NOT NULL,
    compartment_id TEXT NOT NULL,
    open_id        INTEGER NOT NULL REFERENCES opens (id),
    state          TEXT NOT NULL CHECK (state IN ('open','committed','aborted')),
    reason         TEXT,
    actor          TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    ended_at       INTEGER
  );
  CREATE INDEX loads_by_open ON loads (open_id);

  CREATE TABLE pickups (
    id            TEXT PRIMARY KEY,
    case_no       TEXT NOT NULL,
    credential_id INTEGER NOT NULL,
    method        TEXT NOT NULL CHECK (method IN ('code','qr')),
    state         TEXT NOT NULL CHECK (state IN ('opening','completed','interrupted')),
    started_at    INTEGER NOT NULL,
    ended_at      INTEGER
  );

  -- Cabinet-wide failed-attempt counters (one row).
  CREATE TABLE pickup_guard (
    id                   INTEGER PRIMARY KEY CHECK (id = 1),
    consecutive_failures INTEGER NOT NULL,
    lockouts_in_row      INTEGER NOT NULL,
    locked_until         INTEGER NOT NULL,
    day                  TEXT NOT NULL,
    day_failures         INTEGER NOT NULL,
    suspended            INTEGER NOT NULL
  );
  INSERT INTO pickup_guard VALUES (1, 0, 0, 0, '', 0, 0);

  -- The event outbox: seq rises by exactly one per event (AUTOINCREMENT never reuses a number).
  CREATE TABLE events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    id      TEXT NOT NULL,
    boot_id TEXT NOT NULL,
    ts      INTEGER NOT NULL,
    type    TEXT NOT NULL,
    data    TEXT NOT NULL,
    sent_at INTEGER
  );

  -- Credentials to deliver to the SMS gateway; the whole payload is encrypted (it holds the phone and code).
  CREATE TABLE notify_outbox (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    case_no     TEXT NOT NULL,
    payload_enc BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER
  );

  CREATE TABLE audit (
    seq    INTEGER PRIMARY KEY,
    ts     INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    data   TEXT NOT NULL,
    prev   TEXT NOT NULL,
    hash   TEXT NOT NULL
  );

  CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL CHECK (role IN ('clerk','ops','admin')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );

  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  `,
  /* 2: central ops over MQTT */ `
  -- Unsent events, for the drainer and the depth gauge.
  CREATE INDEX events_unsent ON events (seq) WHERE sent_at IS NULL;
  -- Every verified command's requestId and its reply, written in the same transaction as its effect.
  CREATE TABLE commands (
    request_id  TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    reply       TEXT NOT NULL
  );
  `,
  /* 3: alarms that stay until ops acknowledge them */ `
  CREATE TABLE alarms (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    compartment TEXT,
    raised_at   INTEGER NOT NULL,
    acked_at    INTEGER,
    acked_by    TEXT,
    data        TEXT NOT NULL
  );
  CREATE INDEX alarms_open ON alarms (id) WHERE acked_at IS NULL;
  `,
  /* 4: the applicant's 好差评 rating, at most one per case */ `
  CREATE TABLE ratings (
    case_no      TEXT PRIMARY KEY,
    level        INTEGER NOT NULL CHECK (level BETWEEN 1 AND 5),
    reasons      TEXT NOT NULL,   -- JSON array of fixed reason codes (no free text)
    channel      TEXT NOT NULL,
    submitted_at INTEGER NOT NULL
  );
  `,
  /* 5: item-present sensors (Kerong boards) */ `
  -- A compartment held for a clerk because of what its item sensor saw (an item left behind after a pickup,
  -- something in a compartment that should be empty): no new load goes there until a clerk clears it.
  ALTER TABLE compartments ADD COLUMN hold TEXT CHECK (hold IN ('item-left','unexpected-item'));
  ALTER TABLE compartments ADD COLUMN hold_case TEXT;
  ALTER TABLE compartments ADD COLUMN hold_since INTEGER;
  ALTER TABLE compartments ADD COLUMN hold_alarm INTEGER;
  -- What the item sensor said as the door closed (1 seen, 0 not seen); NULL without item sensors.
  ALTER TABLE opens ADD COLUMN item_at_close INTEGER;
  `,
  /* 6: staff who sign in with a password; the roles of the hall's systems and couriers */ `
  -- Rebuilt (SQLite cannot change a CHECK or a NOT NULL in place): token_hash is NULL for a person who signs
  -- in with a password, password_hash NULL for a machine with a bearer token.
  CREATE TABLE users_v6 (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    role            TEXT NOT NULL CHECK (role IN ('clerk','ops','admin','integration','courier')),
    token_hash      TEXT UNIQUE,
    password_hash   TEXT,
    -- 1: the password was made by provisioning or an admin and must be changed at the first sign-in.
    must_change     INTEGER NOT NULL DEFAULT 0,
    password_set_at INTEGER,
    -- Wrong passwords in a row, and until when sign-in is refused (kept across restarts).
    failed_signins  INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER,
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER,
    CHECK (token_hash IS NOT NULL OR password_hash IS NOT NULL)
  );
  INSERT INTO users_v6 (id, name, role, token_hash, created_at, revoked_at)
    SELECT id, name, role, token_hash, created_at, revoked_at FROM users;
  DROP TABLE users;
  ALTER TABLE users_v6 RENAME TO users;
  `,
  /* 7: the hall's workflow: cases from the hall system, cancelled and returned cases, couriers, reminders */ `
  -- Rebuilt for its CHECK (two new states), with foreign keys off around the upgrade (database.ts).
  CREATE TABLE cases_v7 (
    case_no          TEXT PRIMARY KEY,
    state            TEXT NOT NULL CHECK (state IN ('awaiting-items','ready','picking-up','collected','overdue','retrieved','cancelled','returned')),
    enterprise_name  TEXT NOT NULL,
    uscc             TEXT NOT NULL,
    applicant_enc    BLOB,
    applicant_masked TEXT NOT NULL,
    id_suffix_hash   TEXT,
    created_at       INTEGER NOT NULL,
    created_by       TEXT NOT NULL,
    ready_at         INTEGER,
    expires_at       INTEGER,
    closed_at        INTEGER,
    -- Who sent it: a clerk at the station, or the hall's case system (HTTP integration role or MQTT cmd/case).
    source           TEXT NOT NULL DEFAULT 'clerk' CHECK (source IN ('clerk','hall-system')),
    -- SHA-256 of the case as last sent (canonical JSON, personal data included): a repeat is recognised
    -- without keeping the data in clear. NULL for cases made before this version.
    content_hash     TEXT,
    -- The reminder before the credential expires has gone out (ms), so it goes out once.
    reminded_at      INTEGER,
    -- Why the applicant sent it back at pickup (JSON array of fixed reason codes).
    return_reasons   TEXT
  );
  INSERT INTO cases_v7 (case_no, state, enterprise_name, uscc, applicant_enc, applicant_masked, id_suffix_hash, created_at, created_by, ready_at, expires_at, closed_at)
    SELECT case_no, state, enterprise_name, uscc, applicant_enc, applicant_masked, id_suffix_hash, created_at, created_by, ready_at, expires_at, closed_at FROM cases;
  DROP TABLE cases;
  ALTER TABLE cases_v7 RENAME TO cases;
  CREATE INDEX cases_by_state ON cases (state);
  -- A courier's department decides what they may load: a JSON array of item types (NULL for other roles).
  ALTER TABLE users ADD COLUMN item_types TEXT;
  `,
  /* 8: agents (代办人), documents deposited at the kiosk, who collected and what was sent back */ `
  -- An agent the applicant named: like the applicant, encrypted {name, idNumber}, masked, and a keyed hash of
  -- the ID number's last 6 characters (accepted as the second factor). NULL when the case names none.
  ALTER TABLE cases ADD COLUMN agent_enc BLOB;
  ALTER TABLE cases ADD COLUMN agent_masked TEXT;
  ALTER TABLE cases ADD COLUMN agent_suffix_hash TEXT;
  -- Whose ID matched at pickup; the reasons given when the applicant sent the items back at the doors.
  ALTER TABLE pickups ADD COLUMN collected_by TEXT CHECK (collected_by IN ('applicant','agent'));
  ALTER TABLE pickups ADD COLUMN return_reasons TEXT;
  -- Rebuilt for its CHECK (a new purpose), with foreign keys off around the upgrade (database.ts).
  CREATE TABLE opens_v8 (
    id             INTEGER PRIMARY KEY,
    compartment_id TEXT NOT NULL REFERENCES compartments (id),
    purpose        TEXT NOT NULL CHECK (purpose IN ('load','pickup','retrieve','remote','deposit')),
    ref            TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('journaled','pulsed','opened','closed','failed','interrupted')),
    pulses         INTEGER NOT NULL DEFAULT 0,
    journaled_at   INTEGER NOT NULL,
    opened_at      INTEGER,
    closed_at      INTEGER,
    item_at_close  INTEGER
  );
  INSERT INTO opens_v8 (id, compartment_id, purpose, ref, state, pulses, journaled_at, opened_at, closed_at, item_at_close)
    SELECT id, compartment_id, purpose, ref, state, pulses, journaled_at, opened_at, closed_at, item_at_close FROM opens;
  DROP TABLE opens;
  ALTER TABLE opens_v8 RENAME TO opens;
  CREATE INDEX opens_active ON opens (compartment_id) WHERE state IN ('journaled','pulsed','opened');
  -- A document an applicant (or their agent) put in at the kiosk, or a department returned to the window (a
  -- courier or clerk, named in deposited_by), until a clerk takes it out.
  CREATE TABLE deposits (
    id             TEXT PRIMARY KEY,
    case_no        TEXT NOT NULL REFERENCES cases (case_no),
    compartment_id TEXT NOT NULL REFERENCES compartments (id),
    state          TEXT NOT NULL CHECK (state IN ('opening','received','aborted','retrieving','retrieved')),
    depositor      TEXT NOT NULL CHECK (depositor IN ('applicant','agent','department')),
    deposited_by   TEXT,
    reason         TEXT,
    created_at     INTEGER NOT NULL,
    received_at    INTEGER,
    retrieved_at   INTEGER,
    retrieved_by   TEXT
  );
  CREATE INDEX deposits_live ON deposits (state) WHERE state IN ('opening','received','retrieving');
  -- The deposit inside (or on its way in or out): the compartment is taken, as by a case.
  ALTER TABLE compartments ADD COLUMN deposit_id TEXT;
  -- Lost codes sent again at the kiosk in the last day, so the per-case and per-cabinet limits hold across a restart.
  CREATE TABLE kiosk_resends (case_no TEXT NOT NULL, at INTEGER NOT NULL);
  CREATE INDEX kiosk_resends_by_time ON kiosk_resends (at);
  `,
];
