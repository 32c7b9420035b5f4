-- When each deploy was last made live; NULL: never live (a preview).
-- Rollback goes to the deploy that was live before the current one, not
-- to the next one in creation order, which may be a never-live preview.
ALTER TABLE deploys ADD COLUMN activated_at INTEGER;

-- Existing history does not say which deploys were live: count the live
-- deploy and those created before it as once live (the usual deploy flow);
-- those created after it were previews or rolled back from, and stay NULL.
UPDATE deploys SET activated_at = created_at
WHERE created_at <= (
  SELECT live.created_at FROM sites s JOIN deploys live ON live.id = s.live_deploy_id WHERE s.id = deploys.site_id
);
