-- The count of roll commitments joins what an election row cannot take back
-- (docs/security.md, Append-only history). A runtime role that lowered it would number the
-- next import's commitment as an earlier one, on a roll that no longer matches it.
CREATE OR REPLACE FUNCTION observernet_keep_election_history() RETURNS trigger AS $$
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
  IF NEW.roll_commitments < OLD.roll_commitments THEN
    RAISE EXCEPTION 'election %: the roll commitments cannot go back from % to %', OLD.id,
      OLD.roll_commitments, NEW.roll_commitments USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER elections_keep_history ON elections;
CREATE TRIGGER elections_keep_history
  BEFORE UPDATE OF status, audit_seq, roll_commitments OR DELETE ON elections
  FOR EACH ROW EXECUTE FUNCTION observernet_keep_election_history();
