-- Version 3: whether the interviewer's reply to a spoken answer was begun during the candidate's pause, before the
-- end of the turn was decided (the reply written ahead was used).
ALTER TABLE turn_latency ADD COLUMN reply_ahead INTEGER NOT NULL DEFAULT 0 CHECK (reply_ahead IN (0, 1));
