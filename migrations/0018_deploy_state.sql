-- A big deploy is written in slices, and an old one removed in slices, so no
-- single transaction holds the event loop for long. Only 'ready' deploys are
-- seen (listed, served, activated, kept): a 'writing' one is being written
-- for its upload (and goes with it: the upload's deletion cascades), a
-- 'deleting' one is being removed by GC a slice at a time.
ALTER TABLE deploys ADD COLUMN state TEXT NOT NULL DEFAULT 'ready' CHECK (state IN ('writing', 'ready', 'deleting'));
ALTER TABLE deploys ADD COLUMN upload_id TEXT REFERENCES uploads(id) ON DELETE CASCADE;
CREATE INDEX deploys_upload ON deploys(upload_id) WHERE upload_id IS NOT NULL;
CREATE INDEX deploys_deleting ON deploys(state) WHERE state = 'deleting';
