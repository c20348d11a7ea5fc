-- herald's shared state (SPEC 5 "Shared state on PostgreSQL").

-- The journal: append-only, the same fields as journal.jsonl. Rows are
-- inserted only while holding the journal's transaction advisory lock, so
-- ids become visible in order and "rows after the last id I read" misses
-- nothing.
CREATE TABLE journal (
    id          bigserial PRIMARY KEY,
    time        timestamptz NOT NULL,
    campaign    text        NOT NULL,
    recipient   text        NOT NULL,
    channel     text        NOT NULL DEFAULT '',
    address     text        NOT NULL DEFAULT '',
    locale      text        NOT NULL DEFAULT '',
    status      text        NOT NULL,
    provider_id text        NOT NULL DEFAULT '',
    message_id  text        NOT NULL DEFAULT '',
    error       text        NOT NULL DEFAULT '',
    attempt     integer     NOT NULL DEFAULT 0,
    temporary   boolean     NOT NULL DEFAULT false
);
CREATE INDEX journal_campaign ON journal (campaign, id);
-- the frequency limit: sends of any campaign to a recipient in a window
CREATE INDEX journal_sent ON journal (recipient, time) WHERE status = 'sent';
-- a delivery status is journalled once per message, whichever replica of
-- replies serve receives each callback
CREATE UNIQUE INDEX journal_status_once ON journal (channel, provider_id, status)
    WHERE status IN ('delivered', 'undelivered') AND provider_id <> '';

-- Senders alive: each open journal refreshes seen_at every few seconds.
CREATE TABLE workers (
    id         text PRIMARY KEY,
    host       text        NOT NULL,
    pid        integer     NOT NULL,
    campaign   text        NOT NULL,
    started_at timestamptz NOT NULL,
    seen_at    timestamptz NOT NULL
);

-- One row per (campaign, recipient): who holds it and how it ended. The
-- primary key is what makes each recipient one sender's.
CREATE TABLE claims (
    campaign   text        NOT NULL,
    recipient  text        NOT NULL,
    worker     text        NOT NULL,
    claimed_at timestamptz NOT NULL,
    state      text        NOT NULL, -- attempt, sent, failed, in-doubt
    attempt    integer     NOT NULL,
    channel    text        NOT NULL DEFAULT '',
    address    text        NOT NULL DEFAULT '',
    locale     text        NOT NULL DEFAULT '',
    PRIMARY KEY (campaign, recipient)
);
CREATE INDEX claims_open ON claims (worker) WHERE state = 'attempt';

CREATE TABLE suppressions (
    id          bigserial PRIMARY KEY,
    address     text        NOT NULL,
    address_key text        NOT NULL, -- the address as compared (e-mail lower-cased)
    channel     text        NOT NULL, -- a channel name, or 'all'
    reason      text        NOT NULL DEFAULT '',
    added_at    timestamptz NOT NULL,
    source      text        NOT NULL DEFAULT '',
    UNIQUE (address_key, channel, source) -- each source its own row: START lifts only the keyword one
);

CREATE TABLE replies (
    id           bigserial PRIMARY KEY,
    received_at  timestamptz NOT NULL,
    channel      text NOT NULL DEFAULT '',
    from_address text NOT NULL DEFAULT '',
    recipient_id text NOT NULL DEFAULT '',
    campaign     text NOT NULL DEFAULT '',
    message_id   text NOT NULL DEFAULT '',
    in_reply_to  text NOT NULL DEFAULT '',
    text         text NOT NULL DEFAULT '',
    action       text NOT NULL DEFAULT ''
);
-- a webhook delivered twice, to any replica, is one row
CREATE UNIQUE INDEX replies_message ON replies (channel, message_id) WHERE message_id <> '';

CREATE TABLE keys (
    name       text PRIMARY KEY,
    key        bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
