-- Baseline: the schema every later migration builds on. schema_migrations itself is
-- created by the migrator (it must exist before the first migration is recorded).
-- Shared helper: keeps updated_at columns honest without every query setting them.
CREATE OR REPLACE FUNCTION observernet_touch_updated_at() RETURNS trigger AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
