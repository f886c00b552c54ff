-- Version 5: a loop's round may always ask one question of its pool (a coding problem, a design prompt, a
-- behavioral question); NULL draws one.
ALTER TABLE rounds ADD COLUMN question TEXT;
