-- Each signed tree head also commits to the election's audit chain as it stood: its last
-- event's seq and hash (docs/formats.md, Signed tree heads). Whoever saved a tree head
-- pins the audit history up to that event, and `observernet verify` checks it. The tree
-- heads signed before have neither, and neither is part of what they sign.
ALTER TABLE tree_heads ADD COLUMN audit_seq bigint CHECK (audit_seq >= 0);
ALTER TABLE tree_heads ADD COLUMN audit_head text CHECK (audit_head ~ '^[0-9a-f]{64}$');
ALTER TABLE tree_heads ADD CHECK ((audit_seq IS NULL) = (audit_head IS NULL));
