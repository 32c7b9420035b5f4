-- Whether a deploy's file is fingerprinted and served as `Cache-Control: immutable`,
-- decided when its manifest is written (src/vfs/fingerprints.ts). NULL: a deploy
-- made before this migration, decided once at the next server start.
ALTER TABLE deploy_files ADD COLUMN immutable INTEGER;
