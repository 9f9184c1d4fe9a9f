-- The aggregates the sink writes and the API serves. The primary keys are the aggregates'
-- identities, so an upsert of a replayed record lands on the row it belongs to; `version`
-- lets the sink refuse anything older than what a row holds.

CREATE TABLE aggregate_totals (
    key         text             NOT NULL PRIMARY KEY,
    count       bigint           NOT NULL,
    sum         double precision NOT NULL,
    min         double precision NOT NULL,
    max         double precision NOT NULL,
    mean        double precision NOT NULL,
    version     bigint           NOT NULL,
    updated_at  timestamptz      NOT NULL,
    written_at  timestamptz      NOT NULL DEFAULT now()
);

-- GET /api/keys?orderBy=count|sum|updatedAt
CREATE INDEX aggregate_totals_by_count ON aggregate_totals (count DESC, key);
CREATE INDEX aggregate_totals_by_sum ON aggregate_totals (sum DESC, key);
CREATE INDEX aggregate_totals_by_updated_at ON aggregate_totals (updated_at DESC, key);

CREATE TABLE window_aggregates (
    key           text             NOT NULL,
    window_size   text             NOT NULL,
    window_start  timestamptz      NOT NULL,
    window_end    timestamptz      NOT NULL,
    count         bigint           NOT NULL,
    sum           double precision NOT NULL,
    min           double precision NOT NULL,
    max           double precision NOT NULL,
    mean          double precision NOT NULL,
    final         boolean          NOT NULL,
    version       bigint           NOT NULL,
    updated_at    timestamptz      NOT NULL,
    written_at    timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (key, window_size, window_start),
    CHECK (window_end > window_start)
);

-- Retention prunes old windows of one size in small batches.
CREATE INDEX window_aggregates_by_size_and_end ON window_aggregates (window_size, window_end);
