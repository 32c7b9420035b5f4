-- Identical requests (same site, path, status, client, referrer) within one
-- flush interval, never across an hour, are stored as one raw event row with
-- their count: a flood of one request costs one row a second, not one a hit.
ALTER TABLE analytics_events ADD COLUMN hits INTEGER NOT NULL DEFAULT 1;
