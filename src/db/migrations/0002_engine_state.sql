-- Version 2: the live interview's engine state, so an interview resumes after a restart where it left off.
ALTER TABLE interview_sessions ADD COLUMN engine_json TEXT NOT NULL DEFAULT '';
