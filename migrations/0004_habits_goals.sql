-- +goose Up
-- 0004_habits_goals: Habits (habit_completions is the only completion table) and goals.
-- Shapes follow legacy v21 (legacy/INVENTORY.md section 2) unless spec/TARGET.md says
-- otherwise; decisions are recorded in testdata/schema/REVIEW.md.

-- habits: core content (user_id NO ACTION).
CREATE TABLE habits (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id),
    name text NOT NULL,
    description text,
    frequency text NOT NULL DEFAULT 'daily' CHECK (frequency IN ('daily', 'weekly', 'custom')),
    target_count integer NOT NULL DEFAULT 1,
    custom_days text,
    icon text,
    color text,
    is_active boolean NOT NULL DEFAULT true,
    current_streak integer NOT NULL DEFAULT 0,
    longest_streak integer NOT NULL DEFAULT 0,
    last_completed_at timestamptz,
    sort_order integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_habits_user_id ON habits (user_id);

-- habit_completions: completions (CASCADE); one per habit and day.
CREATE TABLE habit_completions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    habit_id uuid NOT NULL REFERENCES habits (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    completed_at timestamptz NOT NULL DEFAULT now(),
    completed_date date NOT NULL DEFAULT CURRENT_DATE,
    notes text,
    UNIQUE (habit_id, completed_date)
);

CREATE INDEX idx_habit_completions_user_id ON habit_completions (user_id);

-- goals: core content (user_id NO ACTION).
CREATE TABLE goals (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id),
    title text NOT NULL,
    description text,
    category text,
    target_date date,
    started_at timestamptz,
    completed_at timestamptz,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed', 'abandoned', 'paused')),
    progress integer NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 100),
    priority integer NOT NULL DEFAULT 0,
    sort_order integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_goals_user_id ON goals (user_id);

-- goal_milestones: child rows of a goal (CASCADE).
CREATE TABLE goal_milestones (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    goal_id uuid NOT NULL REFERENCES goals (id) ON DELETE CASCADE,
    title text NOT NULL,
    description text,
    is_completed boolean NOT NULL DEFAULT false,
    completed_at timestamptz,
    sort_order integer NOT NULL DEFAULT 0
);

CREATE INDEX idx_goal_milestones_goal_id ON goal_milestones (goal_id);
