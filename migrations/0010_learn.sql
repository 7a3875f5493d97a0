-- +goose Up
-- 0010_learn: Learn: topics, lessons, drills and per-user progress.
-- Shapes follow legacy v21 (legacy/INVENTORY.md section 2) unless spec/TARGET.md says
-- otherwise; decisions are recorded in testdata/schema/REVIEW.md.

-- learn_topics: global catalog, natural key key.
CREATE TABLE learn_topics (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    key text NOT NULL UNIQUE,
    name text NOT NULL,
    description text,
    category text NOT NULL,
    icon text,
    sort_order integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- learn_lessons: global catalog, natural key key.
CREATE TABLE learn_lessons (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    topic_id uuid NOT NULL REFERENCES learn_topics (id) ON DELETE CASCADE,
    key text NOT NULL UNIQUE,
    title text NOT NULL,
    description text,
    content_markdown text,
    duration_minutes integer NOT NULL DEFAULT 5,
    difficulty text NOT NULL DEFAULT 'beginner' CHECK (difficulty IN ('beginner', 'intermediate', 'advanced')),
    quiz_json jsonb,
    xp_reward integer NOT NULL DEFAULT 15,
    coin_reward integer NOT NULL DEFAULT 5,
    skill_key text,
    skill_star_reward integer DEFAULT 1,
    audio_r2_key text,
    sort_order integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_learn_lessons_topic_id ON learn_lessons (topic_id);

-- learn_drills: global catalog, natural key key.
CREATE TABLE learn_drills (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    topic_id uuid NOT NULL REFERENCES learn_topics (id) ON DELETE CASCADE,
    key text NOT NULL UNIQUE,
    title text NOT NULL,
    description text,
    drill_type text NOT NULL,
    config_json jsonb NOT NULL,
    difficulty text NOT NULL DEFAULT 'beginner' CHECK (difficulty IN ('beginner', 'intermediate', 'advanced')),
    duration_seconds integer NOT NULL DEFAULT 120,
    xp_reward integer NOT NULL DEFAULT 5,
    sort_order integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_learn_drills_topic_id ON learn_drills (topic_id);

-- user_lesson_progress: per-user state (CASCADE).
CREATE TABLE user_lesson_progress (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    lesson_id uuid NOT NULL REFERENCES learn_lessons (id) ON DELETE CASCADE,
    status text NOT NULL DEFAULT 'not_started' CHECK (status IN ('not_started', 'in_progress', 'completed')),
    started_at timestamptz,
    completed_at timestamptz,
    quiz_score integer,
    attempts integer NOT NULL DEFAULT 0,
    UNIQUE (user_id, lesson_id)
);

CREATE INDEX idx_user_lesson_progress_lesson_id ON user_lesson_progress (lesson_id);

-- user_drill_stats: per-user state (CASCADE).
CREATE TABLE user_drill_stats (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    drill_id uuid NOT NULL REFERENCES learn_drills (id) ON DELETE CASCADE,
    total_attempts integer NOT NULL DEFAULT 0,
    correct_answers integer NOT NULL DEFAULT 0,
    best_score integer,
    average_score real,
    current_streak integer NOT NULL DEFAULT 0,
    best_streak integer NOT NULL DEFAULT 0,
    last_attempt_at timestamptz,
    total_time_seconds integer NOT NULL DEFAULT 0,
    UNIQUE (user_id, drill_id)
);

CREATE INDEX idx_user_drill_stats_drill_id ON user_drill_stats (drill_id);
