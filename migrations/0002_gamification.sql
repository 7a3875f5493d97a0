-- +goose Up
-- 0002_gamification: Gamification: progress, wallet, ledger, streaks, achievements.
-- Shapes follow legacy v21 (legacy/INVENTORY.md section 2) unless spec/TARGET.md says
-- otherwise; decisions are recorded in testdata/schema/REVIEW.md.

-- user_progress: one row per user, per-user state (CASCADE).
CREATE TABLE user_progress (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    total_xp bigint NOT NULL DEFAULT 0,
    current_level integer NOT NULL DEFAULT 1,
    xp_to_next_level integer NOT NULL DEFAULT 100,
    total_skill_stars integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- user_wallet: the older (pre-0017) shape: coins / total_earned / total_spent bigint; per-user
-- state (CASCADE).
CREATE TABLE user_wallet (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    coins bigint NOT NULL DEFAULT 0,
    total_earned bigint NOT NULL DEFAULT 0,
    total_spent bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- points_ledger: event log (CASCADE, with the wallet it explains); idempotency_key unique per
-- user; skill_key is plain text (skill_definitions is removed).
CREATE TABLE points_ledger (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event_type text NOT NULL,
    event_id uuid,
    coins integer NOT NULL DEFAULT 0,
    xp integer NOT NULL DEFAULT 0,
    skill_stars integer NOT NULL DEFAULT 0,
    skill_key text,
    reason text,
    idempotency_key text,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, idempotency_key)
);

CREATE INDEX idx_points_ledger_user_id_created_at ON points_ledger (user_id, created_at);

-- user_streaks: per-user state (CASCADE).
CREATE TABLE user_streaks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    streak_type text NOT NULL,
    current_streak integer NOT NULL DEFAULT 0,
    longest_streak integer NOT NULL DEFAULT 0,
    last_activity_date date,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, streak_type)
);

-- achievement_definitions: global catalog, natural key key.
CREATE TABLE achievement_definitions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    key text NOT NULL UNIQUE,
    name text NOT NULL,
    description text,
    category text NOT NULL,
    icon text,
    trigger_type text NOT NULL,
    trigger_config jsonb,
    reward_coins integer NOT NULL DEFAULT 0,
    reward_xp integer NOT NULL DEFAULT 0,
    is_hidden boolean NOT NULL DEFAULT false,
    sort_order integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- user_achievements: standardised on achievement_key -> achievement_definitions(key).
CREATE TABLE user_achievements (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    achievement_key text NOT NULL REFERENCES achievement_definitions (key) ON DELETE CASCADE,
    earned_at timestamptz NOT NULL DEFAULT now(),
    notified boolean NOT NULL DEFAULT false,
    UNIQUE (user_id, achievement_key)
);

CREATE INDEX idx_user_achievements_achievement_key ON user_achievements (achievement_key);
