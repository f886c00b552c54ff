-- Version 4: where each self sign-up came from, for the sign-up throttle (accounts an admin makes have none).
ALTER TABLE users ADD COLUMN signup_ip TEXT;
CREATE INDEX users_signup_ip ON users (signup_ip, created_at);
