-- Drift tables (/work/shared/legacy/DRIFT.md): tables that no legacy migration
-- created but that some production copies hold beside ANY flavor. Optional: apply
-- after the flavor file (common.sql + v21.sql/v16.sql/v15.sql) and before seed.sql
-- (see README.md). Adds 3 base tables.
--
-- None of them has a foreign key (orphans and rows of the wrong user are possible)
-- or any constraint besides its primary key. They reference no other table, so this
-- file would also apply on its own.

-- Written directly by an older backend; the canonical table is habit_completions.
-- Deliberately NO unique constraint on (habit_id, completed_date).
CREATE TABLE habit_logs (
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    habit_id       uuid NOT NULL,
    user_id        uuid NOT NULL,
    completed_date date NOT NULL,
    notes          text,
    created_at     timestamp with time zone DEFAULT now(),
    PRIMARY KEY (id)
);

-- Written directly by an older backend; the canonical table is inbox_items.
CREATE TABLE user_inbox (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL,
    title       text NOT NULL,
    description text,
    tags        text[] DEFAULT '{}'::text[],
    created_at  timestamp with time zone NOT NULL DEFAULT now(),
    updated_at  timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);

-- Quests imported from the application's previous SQLite store: every column is
-- text (untyped values kept verbatim), primary key id; no defaults.
CREATE TABLE quests (
    id               text NOT NULL,
    user_id          text,
    title            text,
    description      text,
    category         text,
    difficulty       text,
    xp_reward        text,
    coin_reward      text,
    is_universal     text,
    is_active        text,
    is_repeatable    text,
    status           text,
    accepted_at      text,
    completed_at     text,
    expires_at       text,
    created_at       text,
    updated_at       text,
    repeat_frequency text,
    PRIMARY KEY (id)
);
