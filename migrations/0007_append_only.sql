-- History that the database itself keeps (docs/security.md, Append-only history).
--
-- The server runs as a runtime role that may only INSERT and SELECT the history (the
-- migrator grants it, store/migrations.cpp). What remains to guard is what the runtime
-- role may still change, the election's row, and what runs as the tables' owner: the
-- ON DELETE CASCADE from elections to the audit chain, the roll and the keys. A deleted
-- draft takes its history with it, as it should; nothing else may.

-- An election moves draft -> open -> closed and never back: a closed election set back
-- to draft could otherwise be deleted, and its audit chain with it. Its audit chain's
-- head only moves forward.
CREATE FUNCTION observernet_keep_election_history() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.status <> 'draft' THEN
      RAISE EXCEPTION 'election % is %: only a draft can be deleted', OLD.id, OLD.status
        USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN OLD;
  END IF;
  IF NEW.status IS DISTINCT FROM OLD.status
     AND NOT (OLD.status = 'draft' AND NEW.status = 'open')
     AND NOT (OLD.status = 'open' AND NEW.status = 'closed') THEN
    RAISE EXCEPTION 'election % cannot go from % to %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'restrict_violation';
  END IF;
  IF NEW.audit_seq < OLD.audit_seq THEN
    RAISE EXCEPTION 'election %: the audit chain cannot go back from % to %', OLD.id,
      OLD.audit_seq, NEW.audit_seq USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER elections_keep_history
  BEFORE UPDATE OF status, audit_seq OR DELETE ON elections
  FOR EACH ROW EXECUTE FUNCTION observernet_keep_election_history();
