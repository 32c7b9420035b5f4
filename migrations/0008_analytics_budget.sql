-- Analytics byte budget: requests other than documents are counted per class,
-- bytes sent to bots apart, and the raw events' size kept up to date so
-- pruning can bound it (--analytics-max-bytes).

-- Requests and bytes per site, hour, path class (page, script, style, image,
-- font, media, data, other, none), status and bot flag: every request, so
-- assets and misses need no raw event row (and no client address lookup).
CREATE TABLE analytics_hourly_classes (
  hour     INTEGER NOT NULL,                   -- unix seconds, start of the hour (UTC)
  site_id  INTEGER NOT NULL,
  class    TEXT NOT NULL,
  status   INTEGER NOT NULL,
  bot      INTEGER NOT NULL,
  requests INTEGER NOT NULL,
  bytes    INTEGER NOT NULL,
  PRIMARY KEY (hour, site_id, class, status, bot)
) WITHOUT ROWID;

-- Bytes sent to bots (analytics_hourly.bytes counts everyone).
ALTER TABLE analytics_hourly ADD COLUMN bot_bytes INTEGER NOT NULL DEFAULT 0;

-- Estimated bytes of analytics_events (row, strings and index entry), kept
-- exact to the estimate by triggers, so the pruner compares it with the budget
-- without scanning the table.
CREATE TABLE analytics_event_bytes (
  id    INTEGER PRIMARY KEY CHECK (id = 1),
  bytes INTEGER NOT NULL
);
INSERT INTO analytics_event_bytes (id, bytes)
SELECT 1, coalesce(sum(64 + octet_length(path) + coalesce(octet_length(referrer), 0) + coalesce(octet_length(browser), 0)
                      + coalesce(octet_length(os), 0) + coalesce(octet_length(device), 0) + octet_length(visitor)), 0)
FROM analytics_events;

CREATE TRIGGER analytics_event_added AFTER INSERT ON analytics_events BEGIN
  UPDATE analytics_event_bytes SET bytes = bytes + 64 + octet_length(NEW.path) + coalesce(octet_length(NEW.referrer), 0)
    + coalesce(octet_length(NEW.browser), 0) + coalesce(octet_length(NEW.os), 0) + coalesce(octet_length(NEW.device), 0)
    + octet_length(NEW.visitor) WHERE id = 1;
END;

CREATE TRIGGER analytics_event_removed AFTER DELETE ON analytics_events BEGIN
  UPDATE analytics_event_bytes SET bytes = bytes - 64 - octet_length(OLD.path) - coalesce(octet_length(OLD.referrer), 0)
    - coalesce(octet_length(OLD.browser), 0) - coalesce(octet_length(OLD.os), 0) - coalesce(octet_length(OLD.device), 0)
    - octet_length(OLD.visitor) WHERE id = 1;
END;

-- A deleted site's analytics go with it (site ids can be reused).
DROP TRIGGER analytics_site_deleted;
CREATE TRIGGER analytics_site_deleted AFTER DELETE ON sites BEGIN
  DELETE FROM analytics_events WHERE site_id = OLD.id;
  DELETE FROM analytics_hourly WHERE site_id = OLD.id;
  DELETE FROM analytics_hourly_classes WHERE site_id = OLD.id;
  DELETE FROM analytics_day_visitors WHERE site_id = OLD.id;
  DELETE FROM analytics_daily_top WHERE site_id = OLD.id;
END;
