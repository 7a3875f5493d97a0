-- +goose Up
-- 0006_planning: Planning: calendar events and daily plans.
-- Shapes follow legacy v21 (legacy/INVENTORY.md section 2) unless spec/TARGET.md says
-- otherwise; decisions are recorded in testdata/schema/REVIEW.md.

-- calendar_events: core content (user_id NO ACTION); occurrences follow their parent event
-- (parent_event_id, legacy CASCADE). goal_id/habit_id/workout_id stay without FK (legacy).
CREATE TABLE calendar_events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id),
    title text NOT NULL,
    description text,
    event_type text NOT NULL DEFAULT 'general' CHECK (event_type IN ('general', 'focus', 'workout', 'habit', 'goal', 'reminder', 'meeting')),
    start_time timestamptz NOT NULL,
    end_time timestamptz,
    all_day boolean NOT NULL DEFAULT false,
    timezone text,
    location text,
    workout_id uuid,
    habit_id uuid,
    goal_id uuid,
    recurrence_rule text,
    recurrence_end timestamptz,
    parent_event_id uuid REFERENCES calendar_events (id) ON DELETE CASCADE,
    color text,
    reminder_minutes integer,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_calendar_events_user_id ON calendar_events (user_id);
CREATE INDEX idx_calendar_events_parent_event_id ON calendar_events (parent_event_id);

-- daily_plans: core content (user_id NO ACTION); one plan per user and date; items is a JSON
-- array in display order.
CREATE TABLE daily_plans (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id),
    date date NOT NULL,
    items jsonb NOT NULL DEFAULT '[]'::jsonb,
    notes text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, date)
);
