-- Analytics v2: daily salts for visitor hashes, first-sight visitors per day,
-- daily breakdowns, and a bot count in the hourly rollup.

-- One random salt per UTC day (Plausible model): visitor = SHA-256(salt, IP, UA)
-- truncated. Salts older than yesterday are deleted, so hashes cannot be
-- linked across days or reversed by brute force over IPs.
CREATE TABLE analytics_salts (
  day  INTEGER PRIMARY KEY,                    -- UTC day number (unix days)
  salt BLOB NOT NULL
);

-- Visitors already counted for a site on a day (today and yesterday only).
-- A visitor's first hit that day adds 1 to analytics_hourly.visitors of its
-- hour, so summing a day's hours gives that day's distinct visitors exactly,
-- long after the raw events are pruned.
CREATE TABLE analytics_day_visitors (
  site_id INTEGER NOT NULL,
  day     INTEGER NOT NULL,
  visitor TEXT NOT NULL,
  PRIMARY KEY (site_id, day, visitor)
) WITHOUT ROWID;

-- Daily breakdowns, kept for good like the hourly rollups: views per path,
-- referrer host, browser, OS and device (people only), and requests per
-- status code (all). At most a fixed number of names per (site, day, kind);
-- the rest are summed under "(other)", so a scan of random URLs cannot grow it.
CREATE TABLE analytics_daily_top (
  site_id INTEGER NOT NULL,
  day     INTEGER NOT NULL,
  kind    TEXT NOT NULL,                       -- path, referrer, browser, os, device, status
  name    TEXT NOT NULL,
  views   INTEGER NOT NULL,
  PRIMARY KEY (site_id, day, kind, name)
) WITHOUT ROWID;

-- Bot hits are counted apart; views and visitors count people only.
ALTER TABLE analytics_hourly ADD COLUMN bots INTEGER NOT NULL DEFAULT 0;

-- A deleted site's analytics go with it (site ids can be reused).
CREATE TRIGGER analytics_site_deleted AFTER DELETE ON sites BEGIN
  DELETE FROM analytics_events WHERE site_id = OLD.id;
  DELETE FROM analytics_hourly WHERE site_id = OLD.id;
  DELETE FROM analytics_day_visitors WHERE site_id = OLD.id;
  DELETE FROM analytics_daily_top WHERE site_id = OLD.id;
END;
