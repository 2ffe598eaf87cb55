-- Token keys, token issuance and ballots (SPEC §5, §6). The two "one ... per ..." rules
-- of SPEC §1.2 are primary keys here, so they hold across any number of pods.

-- One RSA key per election, used for nothing else. The private key is its PKCS#8 DER
-- sealed with AES-256-GCM under the master key, with the election id as associated
-- data, so a sealed key copied to another election does not open.
CREATE TABLE election_keys (
  election_id uuid PRIMARY KEY REFERENCES elections (id) ON DELETE CASCADE,
  key_id text NOT NULL,                 -- hex SHA-256 of public_key
  modulus_bits integer NOT NULL CHECK (modulus_bits IN (2048, 3072, 4096)),
  public_key bytea NOT NULL,            -- SubjectPublicKeyInfo DER
  private_key_sealed bytea NOT NULL
);

-- One token per voter. Only what an idempotent retry needs: the hash of the blinded
-- message and the blind signature (which, being blind, says nothing about the token).
-- issued_at is truncated to the minute (SPEC §1.3).
CREATE TABLE token_issuances (
  election_id uuid NOT NULL,
  voter_hash bytea NOT NULL,
  blinded_message_hash bytea NOT NULL CHECK (length(blinded_message_hash) = 32),
  blind_signature bytea NOT NULL,
  issued_at timestamptz NOT NULL,
  PRIMARY KEY (election_id, voter_hash),
  FOREIGN KEY (election_id, voter_hash) REFERENCES voters (election_id, voter_hash)
    ON DELETE CASCADE
);

-- One ballot per token: the token's message is the key. `leaf` is the RFC 8785 text
-- whose RFC 9162 leaf hash is `receipt`; selections are kept apart for the tally.
-- accepted_at is truncated to the minute; leaf_index is set when the bulletin board
-- sequences the ballot.
CREATE TABLE ballots (
  election_id uuid NOT NULL REFERENCES elections (id) ON DELETE CASCADE,
  token_message bytea NOT NULL CHECK (length(token_message) = 32),
  token_signature bytea NOT NULL,
  selections jsonb NOT NULL,
  leaf text NOT NULL,
  receipt bytea NOT NULL CHECK (length(receipt) = 32),
  accepted_at timestamptz NOT NULL,
  leaf_index bigint,
  PRIMARY KEY (election_id, token_message)
);
CREATE UNIQUE INDEX ballots_by_receipt ON ballots (receipt);
CREATE INDEX ballots_pending ON ballots (election_id) WHERE leaf_index IS NULL;
