-- +goose NO TRANSACTION
-- +goose Up
-- Pages the cleaner frees go back to the file system: the cleaner runs
-- PRAGMA incremental_vacuum after its batches. A database's auto_vacuum
-- mode can only change by rebuilding the file, so this VACUUM rewrites it
-- once: instant on a new database, about as long as copying the file (and
-- as much free disk) on a large one; run `hookrelay migrate` before
-- starting the new version there. Without it, freed pages would still be
-- reused for new rows, but the file would never shrink.
PRAGMA auto_vacuum = INCREMENTAL;
VACUUM;

-- +goose Down
PRAGMA auto_vacuum = NONE;
VACUUM;
