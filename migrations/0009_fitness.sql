-- +goose Up
-- 0009_fitness: Fitness: exercises, workouts, sessions, sets, programs.
-- Shapes follow legacy v21 (legacy/INVENTORY.md section 2) unless spec/TARGET.md says
-- otherwise; decisions are recorded in testdata/schema/REVIEW.md.

-- exercises: user_id NULL = built-in; a custom exercise is user content (NO ACTION), and may be
-- used by other rows, so it is not deleted silently with its author.
CREATE TABLE exercises (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    description text,
    category text NOT NULL,
    muscle_groups text[],
    equipment text[],
    is_custom boolean NOT NULL DEFAULT false,
    is_builtin boolean NOT NULL DEFAULT false,
    user_id uuid REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_exercises_user_id ON exercises (user_id);

-- workouts: core content (user_id NO ACTION).
CREATE TABLE workouts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id),
    name text NOT NULL,
    description text,
    estimated_duration integer,
    is_template boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_workouts_user_id ON workouts (user_id);

-- workout_exercises: child rows of a workout (CASCADE); section_id dropped (table removed).
CREATE TABLE workout_exercises (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workout_id uuid NOT NULL REFERENCES workouts (id) ON DELETE CASCADE,
    exercise_id uuid NOT NULL REFERENCES exercises (id) ON DELETE CASCADE,
    sets integer NOT NULL DEFAULT 3,
    reps text,
    weight text,
    duration integer,
    rest_seconds integer,
    notes text,
    sort_order integer NOT NULL DEFAULT 0
);

CREATE INDEX idx_workout_exercises_workout_id ON workout_exercises (workout_id);
CREATE INDEX idx_workout_exercises_exercise_id ON workout_exercises (exercise_id);

-- workout_sessions: log of the user (CASCADE); workout_id SET NULL keeps history when a
-- workout is deleted.
CREATE TABLE workout_sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    workout_id uuid REFERENCES workouts (id) ON DELETE SET NULL,
    started_at timestamptz NOT NULL,
    completed_at timestamptz,
    notes text,
    rating integer CHECK (rating IS NULL OR (rating >= 1 AND rating <= 5)),
    xp_awarded integer NOT NULL DEFAULT 0,
    coins_awarded integer NOT NULL DEFAULT 0
);

CREATE INDEX idx_workout_sessions_user_id ON workout_sessions (user_id);
CREATE INDEX idx_workout_sessions_workout_id ON workout_sessions (workout_id);

-- exercise_sets: child rows of a workout session (CASCADE).
CREATE TABLE exercise_sets (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id uuid NOT NULL REFERENCES workout_sessions (id) ON DELETE CASCADE,
    exercise_id uuid NOT NULL REFERENCES exercises (id) ON DELETE CASCADE,
    set_number integer NOT NULL,
    reps integer,
    weight real,
    duration integer,
    is_warmup boolean NOT NULL DEFAULT false,
    is_dropset boolean NOT NULL DEFAULT false,
    rpe integer CHECK (rpe IS NULL OR (rpe >= 1 AND rpe <= 10)),
    notes text,
    completed_at timestamptz
);

CREATE INDEX idx_exercise_sets_session_id ON exercise_sets (session_id);
CREATE INDEX idx_exercise_sets_exercise_id ON exercise_sets (exercise_id);

-- training_programs: core content (user_id NO ACTION).
CREATE TABLE training_programs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id),
    name text NOT NULL,
    description text,
    duration_weeks integer NOT NULL DEFAULT 4,
    goal text,
    difficulty text DEFAULT 'intermediate' CHECK (difficulty IN ('beginner', 'intermediate', 'advanced')),
    is_active boolean NOT NULL DEFAULT false,
    started_at timestamptz,
    completed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_training_programs_user_id ON training_programs (user_id);
