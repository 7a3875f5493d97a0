-- +goose Up
-- 0005_quests: Quests: the universal catalog, per-user quests (API name "quests") and progress.
-- Shapes follow legacy v21 (legacy/INVENTORY.md section 2) unless spec/TARGET.md says
-- otherwise; decisions are recorded in testdata/schema/REVIEW.md.

-- universal_quests: global catalog (no natural key); skill_key is plain text, no FK.
CREATE TABLE universal_quests (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    title text NOT NULL,
    description text,
    type text NOT NULL DEFAULT 'daily' CHECK (type IN ('daily', 'weekly', 'monthly', 'one_time', 'repeatable')),
    xp_reward integer NOT NULL DEFAULT 10,
    coin_reward integer NOT NULL DEFAULT 5,
    target integer NOT NULL DEFAULT 1,
    target_type text,
    target_config jsonb,
    skill_key text,
    is_active boolean NOT NULL DEFAULT true,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    sort_order integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_universal_quests_created_by ON universal_quests (created_by);

-- user_quests: user-owned quests, user_id NULL = universal copy; core content (NO ACTION);
-- sort_order added for the Today feed (order: sort_order, created_at, id).
CREATE TABLE user_quests (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid REFERENCES users (id),
    title text NOT NULL,
    description text,
    category text NOT NULL,
    difficulty text NOT NULL DEFAULT 'starter' CHECK (difficulty IN ('starter', 'easy', 'medium', 'hard', 'epic')),
    xp_reward integer NOT NULL DEFAULT 10,
    coin_reward integer NOT NULL DEFAULT 5,
    status text NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'accepted', 'completed', 'abandoned', 'expired')),
    is_active boolean NOT NULL DEFAULT true,
    is_universal boolean NOT NULL DEFAULT false,
    source_quest_id uuid REFERENCES universal_quests (id) ON DELETE SET NULL,
    accepted_at timestamptz,
    completed_at timestamptz,
    expires_at timestamptz,
    is_repeatable boolean NOT NULL DEFAULT false,
    repeat_frequency text CHECK (repeat_frequency IN ('daily', 'weekly', 'monthly')),
    last_completed_date date,
    streak_count integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    sort_order integer NOT NULL DEFAULT 0
);

CREATE INDEX idx_user_quests_user_id_created_at ON user_quests (user_id, created_at);
CREATE INDEX idx_user_quests_source_quest_id ON user_quests (source_quest_id);

-- user_quest_progress: per-user state (CASCADE).
CREATE TABLE user_quest_progress (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    quest_id uuid NOT NULL REFERENCES universal_quests (id) ON DELETE CASCADE,
    status text NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'in_progress', 'completed', 'claimed')),
    progress integer NOT NULL DEFAULT 0,
    accepted_at timestamptz,
    completed_at timestamptz,
    claimed_at timestamptz,
    last_reset_at timestamptz,
    times_completed integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, quest_id)
);

CREATE INDEX idx_user_quest_progress_quest_id ON user_quest_progress (quest_id);
