-- +goose Up
-- 0012_platform: Platform: feedback, capture, onboarding, settings, inbox, references, behavior tables.
-- Shapes follow legacy v21 (legacy/INVENTORY.md section 2) unless spec/TARGET.md says
-- otherwise; decisions are recorded in testdata/schema/REVIEW.md.

-- feedback: core content (user_id NO ACTION).
CREATE TABLE feedback (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id),
    feedback_type text NOT NULL CHECK (feedback_type IN ('bug', 'feature', 'other')),
    title text NOT NULL,
    description text NOT NULL,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'in_progress', 'resolved', 'closed', 'wont_fix')),
    priority text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    admin_response text,
    resolved_at timestamptz,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_feedback_user_id ON feedback (user_id);

-- ideas: core content (user_id NO ACTION).
CREATE TABLE ideas (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id),
    title text NOT NULL,
    content text,
    category text NOT NULL DEFAULT 'general',
    tags jsonb,
    is_pinned boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_ideas_user_id ON ideas (user_id);

-- infobase_entries: core content (user_id NO ACTION).
CREATE TABLE infobase_entries (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id),
    title text NOT NULL,
    content text NOT NULL,
    category text NOT NULL DEFAULT 'Tips',
    tags jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_infobase_entries_user_id ON infobase_entries (user_id);

-- onboarding_flows: global catalog, natural key name.
CREATE TABLE onboarding_flows (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL UNIQUE,
    description text,
    is_active boolean NOT NULL DEFAULT true,
    total_steps integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- onboarding_steps: global catalog, natural key (flow_id, step_order).
CREATE TABLE onboarding_steps (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    flow_id uuid NOT NULL REFERENCES onboarding_flows (id) ON DELETE CASCADE,
    step_order integer NOT NULL,
    step_type text NOT NULL CHECK (step_type IN ('welcome', 'tour', 'input', 'multi_select', 'action', 'completion')),
    title text NOT NULL,
    description text,
    target_selector text,
    target_route text,
    fallback_content text,
    options jsonb,
    allows_multiple boolean NOT NULL DEFAULT false,
    required boolean NOT NULL DEFAULT true,
    action_type text,
    action_config jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (flow_id, step_order)
);

-- user_onboarding_state: per-user state (CASCADE); current_step_id keeps the legacy NO ACTION.
CREATE TABLE user_onboarding_state (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    flow_id uuid NOT NULL REFERENCES onboarding_flows (id) ON DELETE CASCADE,
    current_step_id uuid REFERENCES onboarding_steps (id),
    status text NOT NULL DEFAULT 'not_started' CHECK (status IN ('not_started', 'in_progress', 'completed', 'skipped')),
    can_resume boolean NOT NULL DEFAULT true,
    started_at timestamptz,
    completed_at timestamptz,
    skipped_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_user_onboarding_state_flow_id ON user_onboarding_state (flow_id);
CREATE INDEX idx_user_onboarding_state_current_step_id ON user_onboarding_state (current_step_id);

-- user_onboarding_responses: per-user answers (CASCADE).
CREATE TABLE user_onboarding_responses (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    step_id uuid NOT NULL REFERENCES onboarding_steps (id) ON DELETE CASCADE,
    response jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, step_id)
);

CREATE INDEX idx_user_onboarding_responses_step_id ON user_onboarding_responses (step_id);

-- user_settings: per-user state (CASCADE).
CREATE TABLE user_settings (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key varchar(255) NOT NULL,
    value jsonb NOT NULL DEFAULT 'null'::jsonb,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (user_id, key)
);

-- inbox_items: core content (user_id NO ACTION); sort_order added for the Today feed
-- (order: sort_order, created_at, id).
CREATE TABLE inbox_items (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id),
    title text NOT NULL,
    description text,
    tags text[] DEFAULT ARRAY[]::text[],
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    sort_order integer NOT NULL DEFAULT 0
);

CREATE INDEX idx_inbox_items_user_id_created_at ON inbox_items (user_id, created_at);

-- user_references: core content (user_id NO ACTION).
CREATE TABLE user_references (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id),
    title text NOT NULL,
    content text,
    url text,
    category varchar(100),
    tags text[] DEFAULT ARRAY[]::text[],
    is_pinned boolean DEFAULT false,
    is_archived boolean DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_user_references_user_id ON user_references (user_id);

-- behavior_outbox: event-projection write model (new, empty after a cutover); events (CASCADE).
CREATE TABLE behavior_outbox (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event_type text NOT NULL,
    payload jsonb NOT NULL,
    idempotency_key text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz
);

CREATE INDEX idx_behavior_outbox_user_id_created_at ON behavior_outbox (user_id, created_at);

-- behavior_projection_state: one row per projector (text key, no id).
CREATE TABLE behavior_projection_state (
    projector text PRIMARY KEY,
    last_processed_id uuid,
    last_processed_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- decision_telemetry: decision events (CASCADE).
CREATE TABLE decision_telemetry (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    decision_key text NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('shown', 'started', 'completed', 'dismissed')),
    payload jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_decision_telemetry_user_id_created_at ON decision_telemetry (user_id, created_at);
