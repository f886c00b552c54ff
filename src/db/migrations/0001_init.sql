-- Rehearse schema, version 1: everything the product stores. Times are Unix milliseconds (INTEGER).

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Accounts -------------------------------------------------------------------------------------------------------

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name          TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'candidate' CHECK (role IN ('candidate', 'instructor', 'admin')),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    disabled_at   INTEGER
) STRICT;

-- Server-side login sessions. `id` is the SHA-256 of the cookie's token: a database leak yields no usable cookie.
CREATE TABLE login_sessions (
    id           TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX login_sessions_user ON login_sessions (user_id);

-- For throttling logins per account and per address.
CREATE TABLE login_attempts (
    id        INTEGER PRIMARY KEY,
    email     TEXT NOT NULL COLLATE NOCASE,
    ip        TEXT NOT NULL,
    succeeded INTEGER NOT NULL CHECK (succeeded IN (0, 1)),
    at        INTEGER NOT NULL
) STRICT;
CREATE INDEX login_attempts_email ON login_attempts (email, at);
CREATE INDEX login_attempts_ip ON login_attempts (ip, at);

-- Catalog (imported from seeds/; entries removed from the seeds are deactivated, never deleted, so history stays) --

CREATE TABLE competencies (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL
) STRICT;

CREATE TABLE companies (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    tagline     TEXT NOT NULL,
    description TEXT NOT NULL,
    brand_color TEXT NOT NULL,
    values_json TEXT NOT NULL,
    persona_json TEXT NOT NULL,
    position    INTEGER NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1
) STRICT;

CREATE TABLE roles (
    company_id TEXT NOT NULL REFERENCES companies (id),
    id         TEXT NOT NULL,
    title      TEXT NOT NULL,
    level      TEXT NOT NULL,
    summary    TEXT NOT NULL,
    difficulty TEXT NOT NULL CHECK (difficulty IN ('easy', 'medium', 'hard')),
    price      INTEGER NOT NULL CHECK (price >= 0),
    position   INTEGER NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (company_id, id)
) STRICT;

CREATE TABLE rounds (
    company_id  TEXT NOT NULL,
    role_id     TEXT NOT NULL,
    position    INTEGER NOT NULL,
    kind        TEXT NOT NULL
                CHECK (kind IN ('recruiter_screen', 'behavioral', 'hiring_manager', 'coding', 'system_design')),
    title       TEXT NOT NULL,
    minutes     INTEGER NOT NULL CHECK (minutes > 0),
    description TEXT NOT NULL,
    focus_json  TEXT NOT NULL,
    bar_raiser  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (company_id, role_id, position),
    FOREIGN KEY (company_id, role_id) REFERENCES roles (company_id, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE behavioral_questions (
    id              TEXT PRIMARY KEY,
    text            TEXT NOT NULL,
    difficulty      TEXT NOT NULL CHECK (difficulty IN ('easy', 'medium', 'hard')),
    follow_ups_json TEXT NOT NULL,
    signals_json    TEXT NOT NULL,
    position        INTEGER NOT NULL,
    active          INTEGER NOT NULL DEFAULT 1
) STRICT;

CREATE TABLE question_competencies (
    question_id   TEXT NOT NULL REFERENCES behavioral_questions (id) ON DELETE CASCADE,
    competency_id TEXT NOT NULL REFERENCES competencies (id),
    position      INTEGER NOT NULL,
    PRIMARY KEY (question_id, competency_id)
) STRICT;
CREATE INDEX question_competencies_competency ON question_competencies (competency_id);

CREATE TABLE design_prompts (
    id                 TEXT PRIMARY KEY,
    title              TEXT NOT NULL,
    prompt             TEXT NOT NULL,
    difficulty         TEXT NOT NULL CHECK (difficulty IN ('easy', 'medium', 'hard')),
    strong_answer_json TEXT NOT NULL,
    follow_ups_json    TEXT NOT NULL,
    position           INTEGER NOT NULL,
    active             INTEGER NOT NULL DEFAULT 1
) STRICT;

CREATE TABLE problems (
    id             TEXT PRIMARY KEY,
    title          TEXT NOT NULL,
    difficulty     TEXT NOT NULL CHECK (difficulty IN ('easy', 'medium', 'hard')),
    topics_json    TEXT NOT NULL,
    statement      TEXT NOT NULL,
    function_name  TEXT NOT NULL,
    params_json    TEXT NOT NULL,
    returns        TEXT NOT NULL,
    checker        TEXT NOT NULL CHECK (checker IN ('exact', 'unordered', 'float', 'whitespace')),
    hints_json     TEXT NOT NULL,
    optimal        TEXT NOT NULL,
    solutions_json TEXT NOT NULL,
    position       INTEGER NOT NULL,
    active         INTEGER NOT NULL DEFAULT 1
) STRICT;

-- Samples (hidden = 0) are shown to the candidate; hidden tests never leave the server.
CREATE TABLE problem_tests (
    problem_id    TEXT NOT NULL REFERENCES problems (id) ON DELETE CASCADE,
    hidden        INTEGER NOT NULL CHECK (hidden IN (0, 1)),
    position      INTEGER NOT NULL,
    args_json     TEXT NOT NULL,
    expected_json TEXT NOT NULL,
    explanation   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (problem_id, hidden, position)
) STRICT;

-- Interviews -----------------------------------------------------------------------------------------------------

CREATE TABLE interview_sessions (
    id            TEXT PRIMARY KEY,  -- random, unguessable
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    company_id    TEXT NOT NULL,
    role_id       TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'PENDING'
                  CHECK (state IN ('PENDING', 'IN_PROGRESS', 'COMPLETED', 'ABANDONED')),
    mode          TEXT NOT NULL DEFAULT 'text' CHECK (mode IN ('text', 'voice')),
    price         INTEGER NOT NULL,
    plan_json     TEXT NOT NULL,     -- the loop as it was when the interview was created
    llm_backend   TEXT NOT NULL DEFAULT '',
    current_round INTEGER NOT NULL DEFAULT 0,
    next_event_id INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    started_at    INTEGER,
    ended_at      INTEGER,
    updated_at    INTEGER NOT NULL,
    FOREIGN KEY (company_id, role_id) REFERENCES roles (company_id, id)
) STRICT;
CREATE INDEX interview_sessions_user ON interview_sessions (user_id, created_at DESC);

-- Append-only credit ledger: the balance is SUM(delta). Rows are never changed or removed (except with their user).
CREATE TABLE credit_ledger (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    delta      INTEGER NOT NULL CHECK (delta <> 0),
    reason     TEXT NOT NULL CHECK (reason IN ('signup_grant', 'grant', 'interview', 'refund')),
    session_id TEXT REFERENCES interview_sessions (id) ON DELETE SET NULL,
    actor_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    note       TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX credit_ledger_user ON credit_ledger (user_id, id);
CREATE TRIGGER credit_ledger_no_update BEFORE UPDATE OF user_id, delta, reason, note, created_at ON credit_ledger
BEGIN
    SELECT RAISE(ABORT, 'credit_ledger is append-only');
END;
CREATE TRIGGER credit_ledger_no_delete BEFORE DELETE ON credit_ledger
WHEN EXISTS (SELECT 1 FROM users WHERE id = OLD.user_id)
BEGIN
    SELECT RAISE(ABORT, 'credit_ledger is append-only');
END;

CREATE TABLE round_runs (
    session_id        TEXT NOT NULL REFERENCES interview_sessions (id) ON DELETE CASCADE,
    position          INTEGER NOT NULL,
    kind              TEXT NOT NULL,
    title             TEXT NOT NULL,
    minutes           INTEGER NOT NULL,
    state             TEXT NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING', 'ACTIVE', 'DONE', 'SKIPPED')),
    started_at        INTEGER,
    ended_at          INTEGER,
    end_reason        TEXT NOT NULL DEFAULT '',
    elapsed_ms        INTEGER NOT NULL DEFAULT 0,  -- time used, so a resumed round keeps its remaining time
    question_ids_json TEXT NOT NULL DEFAULT '[]',  -- questions, prompts or problems drawn for this round
    engine_state_json TEXT NOT NULL DEFAULT '{}',  -- the engine's snapshot for resuming
    PRIMARY KEY (session_id, position)
) STRICT;

CREATE TABLE transcript_turns (
    id               INTEGER PRIMARY KEY,
    session_id       TEXT NOT NULL REFERENCES interview_sessions (id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,          -- order within the interview
    round_position   INTEGER NOT NULL,
    speaker          TEXT NOT NULL CHECK (speaker IN ('interviewer', 'candidate', 'system')),
    kind             TEXT NOT NULL DEFAULT 'utterance', -- question, follow_up, answer, hint, notice, ...
    text             TEXT NOT NULL,
    heard_text       TEXT,                      -- what the candidate heard before interrupting, if they did
    source           TEXT NOT NULL DEFAULT 'text' CHECK (source IN ('text', 'voice')),
    question_id      TEXT,
    client_answer_id TEXT,                      -- the browser's id for an answer, so a re-send is stored once
    notes            TEXT NOT NULL DEFAULT '',  -- the interviewer's private notes, for the results page
    created_at       INTEGER NOT NULL,
    UNIQUE (session_id, seq),
    UNIQUE (session_id, client_answer_id)
) STRICT;

-- Which questions a user has had, so new interviews avoid repeats.
CREATE TABLE questions_asked (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id  TEXT NOT NULL REFERENCES interview_sessions (id) ON DELETE CASCADE,
    pool        TEXT NOT NULL CHECK (pool IN ('behavioral', 'design', 'problem')),
    question_id TEXT NOT NULL,
    asked_at    INTEGER NOT NULL,
    PRIMARY KEY (session_id, pool, question_id)
) STRICT;
CREATE INDEX questions_asked_user ON questions_asked (user_id, pool, question_id);

-- The latest code in a coding round, restored after a reload.
CREATE TABLE code_snapshots (
    session_id     TEXT NOT NULL REFERENCES interview_sessions (id) ON DELETE CASCADE,
    round_position INTEGER NOT NULL,
    language       TEXT NOT NULL,
    source         TEXT NOT NULL,
    revision       INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (session_id, round_position, language)
) STRICT;

-- Every run and submission, inside an interview (session_id set) or outside one.
CREATE TABLE code_submissions (
    id             INTEGER PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id     TEXT REFERENCES interview_sessions (id) ON DELETE CASCADE,
    round_position INTEGER,
    problem_id     TEXT,
    mode           TEXT NOT NULL CHECK (mode IN ('run', 'submit', 'custom')),
    language       TEXT NOT NULL,
    source         TEXT NOT NULL,
    verdict        TEXT NOT NULL,
    passed         INTEGER NOT NULL DEFAULT 0,
    total          INTEGER NOT NULL DEFAULT 0,
    results_json   TEXT NOT NULL DEFAULT '[]',
    time_ms        INTEGER NOT NULL DEFAULT 0,
    memory_kb      INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX code_submissions_session ON code_submissions (session_id, round_position);

-- Scoring: a session can have several reports (re-scored by other judges); each has per-round scores.
CREATE TABLE score_reports (
    id             INTEGER PRIMARY KEY,
    session_id     TEXT NOT NULL REFERENCES interview_sessions (id) ON DELETE CASCADE,
    judge          TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('complete', 'incomplete')),
    recommendation TEXT CHECK (recommendation IN
                   ('strong_hire', 'hire', 'lean_hire', 'lean_no_hire', 'no_hire', 'strong_no_hire')),
    overall_score  REAL,
    rationale      TEXT NOT NULL DEFAULT '',
    report_json    TEXT NOT NULL,
    created_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX score_reports_session ON score_reports (session_id, created_at);

CREATE TABLE round_scores (
    report_id       INTEGER NOT NULL REFERENCES score_reports (id) ON DELETE CASCADE,
    round_position  INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('scored', 'incomplete')),
    score           REAL,
    dimensions_json TEXT NOT NULL,
    summary         TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (report_id, round_position)
) STRICT;

-- Per-turn voice latency: stage timestamps in ms since the candidate stopped speaking.
CREATE TABLE turn_latency (
    turn_id            INTEGER PRIMARY KEY REFERENCES transcript_turns (id) ON DELETE CASCADE,
    speech_end_at      INTEGER NOT NULL,  -- Unix ms
    end_of_turn_ms     INTEGER,
    transcript_ms      INTEGER,
    first_token_ms     INTEGER,
    first_sentence_ms  INTEGER,
    first_audio_ms     INTEGER,
    stt_model          TEXT NOT NULL DEFAULT '',
    llm_model          TEXT NOT NULL DEFAULT '',
    tts_model          TEXT NOT NULL DEFAULT ''
) STRICT;
