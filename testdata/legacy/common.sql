-- Legacy database: the 71 base tables that are identical in all three flavors
-- (v21, v16, v15), plus the extensions every flavor has.
-- Source: /work/shared/legacy/INVENTORY.md section 2 (minus market_items, user_wallet,
-- focus_pause_state and the four v21-only market tables).
--
-- Composition (see README.md): common.sql, then exactly one of v21.sql / v16.sql /
-- v15.sql, then optionally drift.sql, then seed.sql.
--
-- Constraints are deliberately unnamed so PostgreSQL assigns the default names the
-- legacy database has (<table>_pkey, <table>_<cols>_key, <table>_<col>_fkey,
-- <table>_<col>_check); the one exception is check_region_times on track_regions.
-- Types, NOT NULL and defaults are written exactly as format_type()/pg_get_expr()
-- print them in the legacy catalog (now() and CURRENT_TIMESTAMP are kept apart).

CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";

CREATE TABLE accounts (
    id                  uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id             uuid NOT NULL,
    type                text NOT NULL DEFAULT 'oauth'::text,
    provider            text NOT NULL,
    provider_account_id text NOT NULL,
    refresh_token       text,
    access_token        text,
    expires_at          bigint,
    token_type          text,
    scope               text,
    id_token            text,
    session_state       text,
    created_at          timestamp with time zone NOT NULL DEFAULT now(),
    updated_at          timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (provider, provider_account_id),
    CHECK ((provider = ANY (ARRAY['google'::text, 'azure-ad'::text, 'credentials'::text])))
);

CREATE TABLE achievement_definitions (
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    key            text NOT NULL,
    name           text NOT NULL,
    description    text,
    category       text NOT NULL,
    icon           text,
    trigger_type   text NOT NULL,
    trigger_config jsonb,
    reward_coins   integer NOT NULL DEFAULT 0,
    reward_xp      integer NOT NULL DEFAULT 0,
    is_hidden      boolean NOT NULL DEFAULT false,
    sort_order     integer NOT NULL DEFAULT 0,
    created_at     timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (key)
);

CREATE TABLE activity_events (
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL,
    event_type   text NOT NULL,
    category     text,
    metadata     jsonb,
    xp_earned    integer DEFAULT 0,
    coins_earned integer DEFAULT 0,
    created_at   timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);

CREATE TABLE analysis_events (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    analysis_id uuid NOT NULL,
    time_ms     integer NOT NULL,
    duration_ms integer,
    event_type  text NOT NULL,
    event_data  jsonb DEFAULT '{}'::jsonb,
    confidence  real,
    created_at  timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);
COMMENT ON TABLE analysis_events IS 'Discrete analysis events (transients, beats, sections) with timestamps';

CREATE TABLE analysis_frame_chunks (
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    analysis_id   uuid NOT NULL,
    chunk_index   integer NOT NULL,
    start_time_ms integer NOT NULL,
    end_time_ms   integer NOT NULL,
    frames        jsonb NOT NULL,
    created_at    timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX idx_analysis_frame_chunks_order ON analysis_frame_chunks USING btree (analysis_id, chunk_index);
COMMENT ON TABLE analysis_frame_chunks IS 'Large frame-by-frame analysis data stored in chunks';

CREATE TABLE analysis_frame_data (
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    manifest_id      uuid NOT NULL,
    chunk_index      integer NOT NULL,
    start_frame      integer NOT NULL,
    end_frame        integer NOT NULL,
    start_time_ms    integer NOT NULL,
    end_time_ms      integer NOT NULL,
    frame_data       bytea NOT NULL,
    frame_count      integer NOT NULL,
    compressed       boolean NOT NULL DEFAULT false,
    compression_type text,
    created_at       timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX idx_analysis_frame_data_chunk ON analysis_frame_data USING btree (manifest_id, chunk_index);
COMMENT ON TABLE analysis_frame_data IS 'Binary chunks of frame data (packed floats) for efficient retrieval';
COMMENT ON COLUMN analysis_frame_data.frame_data IS 'Binary packed frame data (float32 values)';

CREATE TABLE analysis_frame_manifests (
    id                uuid NOT NULL DEFAULT gen_random_uuid(),
    analysis_id       uuid NOT NULL,
    manifest_version  text NOT NULL DEFAULT '1.0'::text,
    hop_ms            integer NOT NULL,
    frame_count       integer NOT NULL,
    duration_ms       integer NOT NULL,
    sample_rate       integer NOT NULL DEFAULT 44100,
    bands             jsonb NOT NULL DEFAULT '[]'::jsonb,
    bytes_per_frame   integer NOT NULL,
    frame_layout      jsonb NOT NULL DEFAULT '[]'::jsonb,
    events            jsonb DEFAULT '[]'::jsonb,
    fingerprint       text,
    analyzer_version  text NOT NULL DEFAULT '1.0.0'::text,
    chunk_size_frames integer NOT NULL DEFAULT 1000,
    total_chunks      integer NOT NULL,
    created_at        timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX idx_analysis_frame_manifests_analysis ON analysis_frame_manifests USING btree (analysis_id);
COMMENT ON TABLE analysis_frame_manifests IS 'Manifest defining frame structure, timeline, and chunk layout for analysis data';
COMMENT ON COLUMN analysis_frame_manifests.hop_ms IS 'Time between consecutive frames in milliseconds';
COMMENT ON COLUMN analysis_frame_manifests.bands IS 'JSON array defining the data bands in each frame';
COMMENT ON COLUMN analysis_frame_manifests.fingerprint IS 'SHA256 fingerprint for determinism verification';

CREATE TABLE audit_log (
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id       uuid,
    session_id    uuid,
    event_type    text NOT NULL,
    resource_type text,
    resource_id   text,
    action        text NOT NULL,
    status        text NOT NULL DEFAULT 'success'::text,
    details       jsonb,
    ip_address    inet,
    user_agent    text,
    request_id    text,
    created_at    timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    CHECK ((status = ANY (ARRAY['success'::text, 'failure'::text, 'denied'::text])))
);

CREATE TABLE authenticators (
    id                     uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id                uuid NOT NULL,
    credential_id          text NOT NULL,
    provider_account_id    text NOT NULL,
    credential_public_key  text NOT NULL,
    counter                bigint NOT NULL DEFAULT 0,
    credential_device_type text NOT NULL DEFAULT 'singleDevice'::text,
    credential_backed_up   boolean NOT NULL DEFAULT false,
    transports             text,
    created_at             timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (credential_id)
);

CREATE TABLE books (
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL,
    title         text NOT NULL,
    author        text,
    total_pages   integer,
    current_page  integer NOT NULL DEFAULT 0,
    status        text NOT NULL DEFAULT 'reading'::text,
    started_at    timestamp with time zone,
    completed_at  timestamp with time zone,
    rating        integer,
    notes         text,
    cover_blob_id uuid,
    created_at    timestamp with time zone NOT NULL DEFAULT now(),
    updated_at    timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    CHECK ((status = ANY (ARRAY['want_to_read'::text, 'reading'::text, 'completed'::text, 'abandoned'::text]))),
    CHECK (((rating IS NULL) OR ((rating >= 1) AND (rating <= 5))))
);
COMMENT ON TABLE books IS 'User book library with reading progress';

CREATE TABLE calendar_events (
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id          uuid NOT NULL,
    title            text NOT NULL,
    description      text,
    event_type       text NOT NULL DEFAULT 'general'::text,
    start_time       timestamp with time zone NOT NULL,
    end_time         timestamp with time zone,
    all_day          boolean NOT NULL DEFAULT false,
    timezone         text,
    location         text,
    workout_id       uuid,
    habit_id         uuid,
    goal_id          uuid,
    recurrence_rule  text,
    recurrence_end   timestamp with time zone,
    parent_event_id  uuid,
    color            text,
    reminder_minutes integer,
    metadata         jsonb,
    created_at       timestamp with time zone NOT NULL DEFAULT now(),
    updated_at       timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    CHECK ((event_type = ANY (ARRAY['general'::text, 'focus'::text, 'workout'::text, 'habit'::text, 'goal'::text, 'reminder'::text, 'meeting'::text])))
);

CREATE TABLE daily_plans (
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL,
    date       date NOT NULL,
    items      jsonb NOT NULL DEFAULT '[]'::jsonb,
    notes      text,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (user_id, date)
);

CREATE TABLE entitlements (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    name        text NOT NULL,
    description text,
    resource    text NOT NULL,
    action      text NOT NULL,
    created_at  timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (name)
);

CREATE TABLE exercise_sets (
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    session_id   uuid NOT NULL,
    exercise_id  uuid NOT NULL,
    set_number   integer NOT NULL,
    reps         integer,
    weight       real,
    duration     integer,
    is_warmup    boolean NOT NULL DEFAULT false,
    is_dropset   boolean NOT NULL DEFAULT false,
    rpe          integer,
    notes        text,
    completed_at timestamp with time zone,
    PRIMARY KEY (id),
    CHECK (((rpe IS NULL) OR ((rpe >= 1) AND (rpe <= 10))))
);
COMMENT ON TABLE exercise_sets IS 'Individual sets logged during workout sessions';

CREATE TABLE exercises (
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    name          text NOT NULL,
    description   text,
    category      text NOT NULL,
    muscle_groups text[],
    equipment     text[],
    is_custom     boolean NOT NULL DEFAULT false,
    is_builtin    boolean NOT NULL DEFAULT false,
    user_id       uuid,
    created_at    timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);
COMMENT ON TABLE exercises IS 'Exercise definitions (built-in and custom)';

CREATE TABLE feature_flags (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    flag_name   character varying(255) NOT NULL,
    enabled     boolean NOT NULL DEFAULT false,
    description text,
    created_at  timestamp with time zone DEFAULT CURRENT_TIMESTAMP,
    updated_at  timestamp with time zone DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    UNIQUE (flag_name)
);

CREATE TABLE feedback (
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id        uuid NOT NULL,
    feedback_type  text NOT NULL,
    title          text NOT NULL,
    description    text NOT NULL,
    status         text NOT NULL DEFAULT 'open'::text,
    priority       text NOT NULL DEFAULT 'normal'::text,
    admin_response text,
    resolved_at    timestamp with time zone,
    metadata       jsonb,
    created_at     timestamp with time zone NOT NULL DEFAULT now(),
    updated_at     timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    CHECK ((feedback_type = ANY (ARRAY['bug'::text, 'feature'::text, 'other'::text]))),
    CHECK ((status = ANY (ARRAY['open'::text, 'acknowledged'::text, 'in_progress'::text, 'resolved'::text, 'closed'::text, 'wont_fix'::text]))),
    CHECK ((priority = ANY (ARRAY['low'::text, 'normal'::text, 'high'::text, 'urgent'::text])))
);

CREATE TABLE focus_libraries (
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL,
    name         text NOT NULL,
    description  text,
    library_type character varying(50) DEFAULT 'custom'::character varying,
    tracks_count integer DEFAULT 0,
    is_favorite  boolean DEFAULT false,
    created_at   timestamp with time zone NOT NULL DEFAULT now(),
    updated_at   timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);

CREATE TABLE focus_library_tracks (
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    library_id       uuid NOT NULL,
    track_id         text NOT NULL,
    track_title      text NOT NULL,
    track_url        text,
    duration_seconds integer,
    added_at         timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);

CREATE TABLE focus_sessions (
    id                       uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id                  uuid NOT NULL,
    mode                     text NOT NULL DEFAULT 'focus'::text,
    duration_seconds         integer NOT NULL,
    started_at               timestamp with time zone NOT NULL DEFAULT now(),
    completed_at             timestamp with time zone,
    abandoned_at             timestamp with time zone,
    expires_at               timestamp with time zone,
    paused_at                timestamp with time zone,
    paused_remaining_seconds integer,
    status                   text NOT NULL DEFAULT 'active'::text,
    xp_awarded               integer NOT NULL DEFAULT 0,
    coins_awarded            integer NOT NULL DEFAULT 0,
    task_id                  uuid,
    task_title               text,
    created_at               timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    CHECK ((mode = ANY (ARRAY['focus'::text, 'break'::text, 'long_break'::text]))),
    CHECK ((status = ANY (ARRAY['active'::text, 'paused'::text, 'completed'::text, 'abandoned'::text, 'expired'::text])))
);

CREATE TABLE goal_milestones (
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    goal_id      uuid NOT NULL,
    title        text NOT NULL,
    description  text,
    is_completed boolean NOT NULL DEFAULT false,
    completed_at timestamp with time zone,
    sort_order   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (id)
);

CREATE TABLE goals (
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL,
    title        text NOT NULL,
    description  text,
    category     text,
    target_date  date,
    started_at   timestamp with time zone,
    completed_at timestamp with time zone,
    status       text NOT NULL DEFAULT 'active'::text,
    progress     integer NOT NULL DEFAULT 0,
    priority     integer NOT NULL DEFAULT 0,
    sort_order   integer NOT NULL DEFAULT 0,
    created_at   timestamp with time zone NOT NULL DEFAULT now(),
    updated_at   timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    CHECK ((status = ANY (ARRAY['active'::text, 'completed'::text, 'abandoned'::text, 'paused'::text]))),
    CHECK (((progress >= 0) AND (progress <= 100)))
);

CREATE TABLE habit_completions (
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    habit_id       uuid NOT NULL,
    user_id        uuid NOT NULL,
    completed_at   timestamp with time zone NOT NULL DEFAULT now(),
    completed_date date NOT NULL DEFAULT CURRENT_DATE,
    notes          text,
    PRIMARY KEY (id),
    UNIQUE (habit_id, completed_date)
);

CREATE TABLE habits (
    id                uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id           uuid NOT NULL,
    name              text NOT NULL,
    description       text,
    frequency         text NOT NULL DEFAULT 'daily'::text,
    target_count      integer NOT NULL DEFAULT 1,
    custom_days       text,
    icon              text,
    color             text,
    is_active         boolean NOT NULL DEFAULT true,
    current_streak    integer NOT NULL DEFAULT 0,
    longest_streak    integer NOT NULL DEFAULT 0,
    last_completed_at timestamp with time zone,
    sort_order        integer NOT NULL DEFAULT 0,
    created_at        timestamp with time zone NOT NULL DEFAULT now(),
    updated_at        timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    CHECK ((frequency = ANY (ARRAY['daily'::text, 'weekly'::text, 'custom'::text])))
);

CREATE TABLE ideas (
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL,
    title      text NOT NULL,
    content    text,
    category   text NOT NULL DEFAULT 'general'::text,
    tags       jsonb,
    is_pinned  boolean NOT NULL DEFAULT false,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);

CREATE TABLE inbox_items (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL,
    title       text NOT NULL,
    description text,
    tags        text[] DEFAULT ARRAY[]::text[],
    created_at  timestamp with time zone NOT NULL DEFAULT now(),
    updated_at  timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);

CREATE TABLE infobase_entries (
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL,
    title      text NOT NULL,
    content    text NOT NULL,
    category   text NOT NULL DEFAULT 'Tips'::text,
    tags       jsonb,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);

CREATE TABLE learn_drills (
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    topic_id         uuid NOT NULL,
    key              text NOT NULL,
    title            text NOT NULL,
    description      text,
    drill_type       text NOT NULL,
    config_json      jsonb NOT NULL,
    difficulty       text NOT NULL DEFAULT 'beginner'::text,
    duration_seconds integer NOT NULL DEFAULT 120,
    xp_reward        integer NOT NULL DEFAULT 5,
    sort_order       integer NOT NULL DEFAULT 0,
    created_at       timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (key),
    CHECK ((difficulty = ANY (ARRAY['beginner'::text, 'intermediate'::text, 'advanced'::text])))
);
COMMENT ON TABLE learn_drills IS 'Practice drills for skill development';

CREATE TABLE learn_lessons (
    id                uuid NOT NULL DEFAULT gen_random_uuid(),
    topic_id          uuid NOT NULL,
    key               text NOT NULL,
    title             text NOT NULL,
    description       text,
    content_markdown  text,
    duration_minutes  integer NOT NULL DEFAULT 5,
    difficulty        text NOT NULL DEFAULT 'beginner'::text,
    quiz_json         jsonb,
    xp_reward         integer NOT NULL DEFAULT 15,
    coin_reward       integer NOT NULL DEFAULT 5,
    skill_key         text,
    skill_star_reward integer DEFAULT 1,
    audio_r2_key      text,
    sort_order        integer NOT NULL DEFAULT 0,
    created_at        timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (key),
    CHECK ((difficulty = ANY (ARRAY['beginner'::text, 'intermediate'::text, 'advanced'::text])))
);
COMMENT ON TABLE learn_lessons IS 'Individual lessons with content and quizzes';

CREATE TABLE learn_topics (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    key         text NOT NULL,
    name        text NOT NULL,
    description text,
    category    text NOT NULL,
    icon        text,
    sort_order  integer NOT NULL DEFAULT 0,
    created_at  timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (key)
);
COMMENT ON TABLE learn_topics IS 'Learning topic categories';

CREATE TABLE listening_prompt_presets (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    name        text NOT NULL,
    description text,
    template_id uuid,
    preset_type text NOT NULL DEFAULT 'focus'::text,
    config      jsonb NOT NULL DEFAULT '{}'::jsonb,
    is_active   boolean NOT NULL DEFAULT true,
    created_by  uuid,
    created_at  timestamp with time zone NOT NULL DEFAULT now(),
    updated_at  timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    CHECK ((preset_type = ANY (ARRAY['focus'::text, 'comparison'::text, 'loop'::text, 'visualization'::text])))
);
COMMENT ON TABLE listening_prompt_presets IS 'Pre-configured settings/presets that accompany listening prompts';

CREATE TABLE listening_prompt_templates (
    id                    uuid NOT NULL DEFAULT gen_random_uuid(),
    name                  text NOT NULL,
    description           text,
    category              text NOT NULL DEFAULT 'general'::text,
    difficulty            text NOT NULL DEFAULT 'beginner'::text,
    prompt_text           text NOT NULL,
    hints                 jsonb DEFAULT '[]'::jsonb,
    expected_observations jsonb DEFAULT '[]'::jsonb,
    tags                  jsonb DEFAULT '[]'::jsonb,
    display_order         integer NOT NULL DEFAULT 0,
    is_active             boolean NOT NULL DEFAULT true,
    created_by            uuid,
    created_at            timestamp with time zone NOT NULL DEFAULT now(),
    updated_at            timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    CHECK ((category = ANY (ARRAY['general'::text, 'frequency'::text, 'dynamics'::text, 'spatial'::text, 'arrangement'::text, 'production'::text, 'mixing'::text, 'mastering'::text, 'genre_specific'::text]))),
    CHECK ((difficulty = ANY (ARRAY['beginner'::text, 'intermediate'::text, 'advanced'::text, 'expert'::text])))
);
COMMENT ON TABLE listening_prompt_templates IS 'Admin-curated templates for guided critical listening exercises';

CREATE TABLE onboarding_flows (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    name        text NOT NULL,
    description text,
    is_active   boolean NOT NULL DEFAULT true,
    total_steps integer NOT NULL DEFAULT 0,
    created_at  timestamp with time zone NOT NULL DEFAULT now(),
    updated_at  timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (name)
);

CREATE TABLE onboarding_steps (
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    flow_id          uuid NOT NULL,
    step_order       integer NOT NULL,
    step_type        text NOT NULL,
    title            text NOT NULL,
    description      text,
    target_selector  text,
    target_route     text,
    fallback_content text,
    options          jsonb,
    allows_multiple  boolean NOT NULL DEFAULT false,
    required         boolean NOT NULL DEFAULT true,
    action_type      text,
    action_config    jsonb,
    created_at       timestamp with time zone NOT NULL DEFAULT now(),
    updated_at       timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (flow_id, step_order),
    CHECK ((step_type = ANY (ARRAY['welcome'::text, 'tour'::text, 'input'::text, 'multi_select'::text, 'action'::text, 'completion'::text])))
);

CREATE TABLE personal_records (
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL,
    exercise_id     uuid NOT NULL,
    record_type     text NOT NULL,
    value           real NOT NULL,
    reps            integer,
    achieved_at     timestamp with time zone NOT NULL,
    exercise_set_id uuid,
    previous_value  real,
    created_at      timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX idx_personal_records_user_exercise_type ON personal_records USING btree (user_id, exercise_id, record_type);
COMMENT ON TABLE personal_records IS 'Personal best records per exercise';

CREATE TABLE plan_templates (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id     uuid,
    name        text NOT NULL,
    description text,
    items       jsonb NOT NULL DEFAULT '[]'::jsonb,
    is_public   boolean NOT NULL DEFAULT false,
    category    text,
    use_count   integer NOT NULL DEFAULT 0,
    created_at  timestamp with time zone NOT NULL DEFAULT now(),
    updated_at  timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);

CREATE TABLE points_ledger (
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL,
    event_type      text NOT NULL,
    event_id        uuid,
    coins           integer NOT NULL DEFAULT 0,
    xp              integer NOT NULL DEFAULT 0,
    skill_stars     integer NOT NULL DEFAULT 0,
    skill_key       text,
    reason          text,
    idempotency_key text,
    created_at      timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (idempotency_key)
);

CREATE TABLE program_weeks (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    program_id  uuid NOT NULL,
    week_number integer NOT NULL,
    name        text,
    is_deload   boolean NOT NULL DEFAULT false,
    notes       text,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX idx_program_weeks_number ON program_weeks USING btree (program_id, week_number);

CREATE TABLE program_workouts (
    id                 uuid NOT NULL DEFAULT gen_random_uuid(),
    program_week_id    uuid NOT NULL,
    workout_id         uuid NOT NULL,
    day_of_week        integer,
    order_index        integer NOT NULL DEFAULT 0,
    intensity_modifier real DEFAULT 1.0,
    PRIMARY KEY (id),
    CHECK (((day_of_week IS NULL) OR ((day_of_week >= 0) AND (day_of_week <= 6))))
);

CREATE TABLE reading_sessions (
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    book_id          uuid NOT NULL,
    user_id          uuid NOT NULL,
    pages_read       integer NOT NULL,
    duration_minutes integer,
    started_at       timestamp with time zone NOT NULL,
    notes            text,
    xp_awarded       integer NOT NULL DEFAULT 0,
    coins_awarded    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (id)
);
COMMENT ON TABLE reading_sessions IS 'Reading session logs with XP/coins';

CREATE TABLE reference_tracks (
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id          uuid NOT NULL,
    name             text NOT NULL,
    description      text,
    r2_key           text NOT NULL,
    file_size_bytes  bigint NOT NULL,
    mime_type        text NOT NULL DEFAULT 'audio/mpeg'::text,
    duration_seconds real,
    artist           text,
    album            text,
    genre            text,
    bpm              real,
    key_signature    text,
    tags             jsonb DEFAULT '[]'::jsonb,
    status           text NOT NULL DEFAULT 'ready'::text,
    error_message    text,
    created_at       timestamp with time zone NOT NULL DEFAULT now(),
    updated_at       timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    CHECK ((status = ANY (ARRAY['uploading'::text, 'processing'::text, 'ready'::text, 'error'::text])))
);
COMMENT ON TABLE reference_tracks IS 'Reference audio tracks uploaded by users for critical listening analysis';

CREATE TABLE role_entitlements (
    role_id        uuid NOT NULL,
    entitlement_id uuid NOT NULL,
    created_at     timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (role_id, entitlement_id)
);

CREATE TABLE roles (
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    name           text NOT NULL,
    description    text,
    parent_role_id uuid,
    created_at     timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (name)
);

CREATE TABLE sessions (
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id          uuid NOT NULL,
    token            text NOT NULL,
    expires_at       timestamp with time zone NOT NULL,
    created_at       timestamp with time zone NOT NULL DEFAULT now(),
    last_activity_at timestamp with time zone NOT NULL DEFAULT now(),
    user_agent       text,
    ip_address       inet,
    rotated_from     uuid,
    PRIMARY KEY (id),
    UNIQUE (token)
);

CREATE TABLE skill_definitions (
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    key             text NOT NULL,
    name            text NOT NULL,
    description     text,
    category        text NOT NULL,
    icon            text,
    max_level       integer NOT NULL DEFAULT 10,
    stars_per_level integer NOT NULL DEFAULT 10,
    sort_order      integer NOT NULL DEFAULT 0,
    created_at      timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (key)
);

CREATE TABLE track_analyses (
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    track_id      uuid NOT NULL,
    analysis_type text NOT NULL DEFAULT 'full'::text,
    version       text NOT NULL DEFAULT '1.0'::text,
    status        text NOT NULL DEFAULT 'pending'::text,
    started_at    timestamp with time zone,
    completed_at  timestamp with time zone,
    error_message text,
    summary       jsonb DEFAULT '{}'::jsonb,
    manifest      jsonb DEFAULT '{}'::jsonb,
    created_at    timestamp with time zone NOT NULL DEFAULT now(),
    updated_at    timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    CHECK ((analysis_type = ANY (ARRAY['full'::text, 'quick'::text, 'spectral'::text, 'loudness'::text]))),
    CHECK ((status = ANY (ARRAY['pending'::text, 'running'::text, 'completed'::text, 'failed'::text])))
);
CREATE UNIQUE INDEX idx_track_analyses_latest ON track_analyses USING btree (track_id, analysis_type) WHERE (status = 'completed'::text);
COMMENT ON TABLE track_analyses IS 'Analysis results/manifests for reference tracks';

CREATE TABLE track_annotations (
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    track_id      uuid NOT NULL,
    user_id       uuid NOT NULL,
    start_time_ms integer NOT NULL,
    end_time_ms   integer,
    title         text NOT NULL,
    content       text,
    category      text DEFAULT 'general'::text,
    color         text DEFAULT '#3b82f6'::text,
    is_private    boolean NOT NULL DEFAULT true,
    created_at    timestamp with time zone NOT NULL DEFAULT now(),
    updated_at    timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    CHECK ((category = ANY (ARRAY['general'::text, 'technique'::text, 'mix'::text, 'mastering'::text, 'arrangement'::text, 'production'::text])))
);
COMMENT ON TABLE track_annotations IS 'User annotations on specific points or ranges in tracks';

CREATE TABLE track_regions (
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    track_id      uuid NOT NULL,
    user_id       uuid NOT NULL,
    start_time_ms integer NOT NULL,
    end_time_ms   integer NOT NULL,
    name          text NOT NULL,
    description   text,
    section_type  text DEFAULT 'custom'::text,
    color         text DEFAULT '#10b981'::text,
    display_order integer DEFAULT 0,
    created_at    timestamp with time zone NOT NULL DEFAULT now(),
    updated_at    timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    CONSTRAINT check_region_times CHECK ((end_time_ms > start_time_ms)),
    CHECK ((section_type = ANY (ARRAY['intro'::text, 'verse'::text, 'chorus'::text, 'bridge'::text, 'breakdown'::text, 'buildup'::text, 'drop'::text, 'outro'::text, 'custom'::text])))
);
COMMENT ON TABLE track_regions IS 'Named sections/regions within tracks for structural analysis';

CREATE TABLE training_programs (
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id        uuid NOT NULL,
    name           text NOT NULL,
    description    text,
    duration_weeks integer NOT NULL DEFAULT 4,
    goal           text,
    difficulty     text DEFAULT 'intermediate'::text,
    is_active      boolean NOT NULL DEFAULT false,
    started_at     timestamp with time zone,
    completed_at   timestamp with time zone,
    created_at     timestamp with time zone NOT NULL DEFAULT now(),
    updated_at     timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    CHECK ((difficulty = ANY (ARRAY['beginner'::text, 'intermediate'::text, 'advanced'::text])))
);
COMMENT ON TABLE training_programs IS 'Multi-week training programs';

CREATE TABLE universal_quests (
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    title         text NOT NULL,
    description   text,
    type          text NOT NULL DEFAULT 'daily'::text,
    xp_reward     integer NOT NULL DEFAULT 10,
    coin_reward   integer NOT NULL DEFAULT 5,
    target        integer NOT NULL DEFAULT 1,
    target_type   text,
    target_config jsonb,
    skill_key     text,
    is_active     boolean NOT NULL DEFAULT true,
    created_by    uuid,
    sort_order    integer NOT NULL DEFAULT 0,
    created_at    timestamp with time zone NOT NULL DEFAULT now(),
    updated_at    timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    CHECK ((type = ANY (ARRAY['daily'::text, 'weekly'::text, 'monthly'::text, 'one_time'::text, 'repeatable'::text])))
);

CREATE TABLE user_achievements (
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL,
    achievement_key text NOT NULL,
    earned_at       timestamp with time zone NOT NULL DEFAULT now(),
    notified        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (id),
    UNIQUE (user_id, achievement_key)
);

CREATE TABLE user_drill_stats (
    id                 uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id            uuid NOT NULL,
    drill_id           uuid NOT NULL,
    total_attempts     integer NOT NULL DEFAULT 0,
    correct_answers    integer NOT NULL DEFAULT 0,
    best_score         integer,
    average_score      real,
    current_streak     integer NOT NULL DEFAULT 0,
    best_streak        integer NOT NULL DEFAULT 0,
    last_attempt_at    timestamp with time zone,
    total_time_seconds integer NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    UNIQUE (user_id, drill_id)
);
COMMENT ON TABLE user_drill_stats IS 'User statistics on drills';

CREATE TABLE user_interests (
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id        uuid NOT NULL,
    interest_key   text NOT NULL,
    interest_label text NOT NULL,
    created_at     timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (user_id, interest_key)
);

CREATE TABLE user_learn_srs (
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id        uuid NOT NULL,
    item_type      text NOT NULL,
    item_id        uuid NOT NULL,
    ease_factor    real NOT NULL DEFAULT 2.5,
    interval_days  integer NOT NULL DEFAULT 1,
    repetitions    integer NOT NULL DEFAULT 0,
    next_review_at timestamp with time zone NOT NULL,
    last_review_at timestamp with time zone,
    last_quality   integer,
    PRIMARY KEY (id),
    UNIQUE (user_id, item_type, item_id),
    CHECK ((item_type = ANY (ARRAY['lesson'::text, 'drill'::text])))
);
COMMENT ON TABLE user_learn_srs IS 'Spaced repetition scheduling for reviews';

CREATE TABLE user_lesson_progress (
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL,
    lesson_id    uuid NOT NULL,
    status       text NOT NULL DEFAULT 'not_started'::text,
    started_at   timestamp with time zone,
    completed_at timestamp with time zone,
    quiz_score   integer,
    attempts     integer NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    UNIQUE (user_id, lesson_id),
    CHECK ((status = ANY (ARRAY['not_started'::text, 'in_progress'::text, 'completed'::text])))
);
COMMENT ON TABLE user_lesson_progress IS 'User progress on lessons';

CREATE TABLE user_onboarding_responses (
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL,
    step_id    uuid NOT NULL,
    response   jsonb NOT NULL,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (user_id, step_id)
);

CREATE TABLE user_onboarding_state (
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL,
    flow_id         uuid NOT NULL,
    current_step_id uuid,
    status          text NOT NULL DEFAULT 'not_started'::text,
    can_resume      boolean NOT NULL DEFAULT true,
    started_at      timestamp with time zone,
    completed_at    timestamp with time zone,
    skipped_at      timestamp with time zone,
    created_at      timestamp with time zone NOT NULL DEFAULT now(),
    updated_at      timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (user_id),
    CHECK ((status = ANY (ARRAY['not_started'::text, 'in_progress'::text, 'completed'::text, 'skipped'::text])))
);

CREATE TABLE user_progress (
    id                uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id           uuid NOT NULL,
    total_xp          bigint NOT NULL DEFAULT 0,
    current_level     integer NOT NULL DEFAULT 1,
    xp_to_next_level  integer NOT NULL DEFAULT 100,
    total_skill_stars integer NOT NULL DEFAULT 0,
    created_at        timestamp with time zone NOT NULL DEFAULT now(),
    updated_at        timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (user_id)
);

CREATE TABLE user_quest_progress (
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL,
    quest_id        uuid NOT NULL,
    status          text NOT NULL DEFAULT 'available'::text,
    progress        integer NOT NULL DEFAULT 0,
    accepted_at     timestamp with time zone,
    completed_at    timestamp with time zone,
    claimed_at      timestamp with time zone,
    last_reset_at   timestamp with time zone,
    times_completed integer NOT NULL DEFAULT 0,
    created_at      timestamp with time zone NOT NULL DEFAULT now(),
    updated_at      timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (user_id, quest_id),
    CHECK ((status = ANY (ARRAY['available'::text, 'in_progress'::text, 'completed'::text, 'claimed'::text])))
);

CREATE TABLE user_quests (
    id                  uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id             uuid,
    title               text NOT NULL,
    description         text,
    category            text NOT NULL,
    difficulty          text NOT NULL DEFAULT 'starter'::text,
    xp_reward           integer NOT NULL DEFAULT 10,
    coin_reward         integer NOT NULL DEFAULT 5,
    status              text NOT NULL DEFAULT 'available'::text,
    is_active           boolean NOT NULL DEFAULT true,
    is_universal        boolean NOT NULL DEFAULT false,
    source_quest_id     uuid,
    accepted_at         timestamp with time zone,
    completed_at        timestamp with time zone,
    expires_at          timestamp with time zone,
    is_repeatable       boolean NOT NULL DEFAULT false,
    repeat_frequency    text,
    last_completed_date date,
    streak_count        integer NOT NULL DEFAULT 0,
    created_at          timestamp with time zone NOT NULL DEFAULT now(),
    updated_at          timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    CHECK ((difficulty = ANY (ARRAY['starter'::text, 'easy'::text, 'medium'::text, 'hard'::text, 'epic'::text]))),
    CHECK ((status = ANY (ARRAY['available'::text, 'accepted'::text, 'completed'::text, 'abandoned'::text, 'expired'::text]))),
    CHECK ((repeat_frequency = ANY (ARRAY['daily'::text, 'weekly'::text, 'monthly'::text])))
);

CREATE TABLE user_references (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL,
    title       text NOT NULL,
    content     text,
    url         text,
    category    character varying(100),
    tags        text[] DEFAULT ARRAY[]::text[],
    is_pinned   boolean DEFAULT false,
    is_archived boolean DEFAULT false,
    created_at  timestamp with time zone NOT NULL DEFAULT now(),
    updated_at  timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);

CREATE TABLE user_roles (
    user_id    uuid NOT NULL,
    role_id    uuid NOT NULL,
    granted_by uuid,
    granted_at timestamp with time zone NOT NULL DEFAULT now(),
    expires_at timestamp with time zone,
    PRIMARY KEY (user_id, role_id)
);

CREATE TABLE user_settings (
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL,
    key        character varying(255) NOT NULL,
    value      jsonb NOT NULL DEFAULT 'null'::jsonb,
    updated_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    UNIQUE (user_id, key)
);

CREATE TABLE user_skills (
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL,
    skill_key     text NOT NULL,
    current_stars integer NOT NULL DEFAULT 0,
    current_level integer NOT NULL DEFAULT 0,
    created_at    timestamp with time zone NOT NULL DEFAULT now(),
    updated_at    timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (user_id, skill_key)
);

CREATE TABLE user_streaks (
    id                 uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id            uuid NOT NULL,
    streak_type        text NOT NULL,
    current_streak     integer NOT NULL DEFAULT 0,
    longest_streak     integer NOT NULL DEFAULT 0,
    last_activity_date date,
    created_at         timestamp with time zone NOT NULL DEFAULT now(),
    updated_at         timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (user_id, streak_type)
);

CREATE TABLE users (
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    name             text NOT NULL DEFAULT 'User'::text,
    email            text NOT NULL,
    email_verified   timestamp with time zone,
    image            text,
    role             text NOT NULL DEFAULT 'user'::text,
    approved         boolean NOT NULL DEFAULT true,
    age_verified     boolean NOT NULL DEFAULT true,
    tos_accepted     boolean NOT NULL DEFAULT false,
    tos_accepted_at  timestamp with time zone,
    tos_version      text,
    last_activity_at timestamp with time zone,
    created_at       timestamp with time zone NOT NULL DEFAULT now(),
    updated_at       timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (email),
    CHECK ((role = ANY (ARRAY['user'::text, 'admin'::text, 'moderator'::text])))
);
-- The redundant non-unique index beside UNIQUE (email) (INVENTORY section 5).
CREATE INDEX idx_users_email ON users USING btree (email);

CREATE TABLE verification_tokens (
    identifier text NOT NULL,
    token      text NOT NULL,
    expires    timestamp with time zone NOT NULL,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (identifier, token),
    UNIQUE (token)
);

CREATE TABLE workout_exercises (
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    workout_id   uuid NOT NULL,
    section_id   uuid,
    exercise_id  uuid NOT NULL,
    sets         integer NOT NULL DEFAULT 3,
    reps         text,
    weight       text,
    duration     integer,
    rest_seconds integer,
    notes        text,
    sort_order   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (id)
);

CREATE TABLE workout_sections (
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    workout_id uuid NOT NULL,
    name       text NOT NULL,
    sort_order integer NOT NULL DEFAULT 0,
    PRIMARY KEY (id)
);

CREATE TABLE workout_sessions (
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL,
    workout_id    uuid,
    started_at    timestamp with time zone NOT NULL,
    completed_at  timestamp with time zone,
    notes         text,
    rating        integer,
    xp_awarded    integer NOT NULL DEFAULT 0,
    coins_awarded integer NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    CHECK (((rating IS NULL) OR ((rating >= 1) AND (rating <= 5))))
);
COMMENT ON TABLE workout_sessions IS 'Completed workout sessions with XP/coins';

CREATE TABLE workouts (
    id                 uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id            uuid NOT NULL,
    name               text NOT NULL,
    description        text,
    estimated_duration integer,
    is_template        boolean NOT NULL DEFAULT false,
    created_at         timestamp with time zone NOT NULL DEFAULT now(),
    updated_at         timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);
COMMENT ON TABLE workouts IS 'Workout templates and instances';

-- Foreign keys (unnamed: PostgreSQL names them <table>_<column>_fkey).
ALTER TABLE accounts ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE activity_events ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE analysis_events ADD FOREIGN KEY (analysis_id) REFERENCES track_analyses (id) ON DELETE CASCADE;
ALTER TABLE analysis_frame_chunks ADD FOREIGN KEY (analysis_id) REFERENCES track_analyses (id) ON DELETE CASCADE;
ALTER TABLE analysis_frame_data ADD FOREIGN KEY (manifest_id) REFERENCES analysis_frame_manifests (id) ON DELETE CASCADE;
ALTER TABLE analysis_frame_manifests ADD FOREIGN KEY (analysis_id) REFERENCES track_analyses (id) ON DELETE CASCADE;
ALTER TABLE audit_log ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE audit_log ADD FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE SET NULL;
ALTER TABLE authenticators ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE books ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE calendar_events ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE calendar_events ADD FOREIGN KEY (parent_event_id) REFERENCES calendar_events (id) ON DELETE CASCADE;
ALTER TABLE daily_plans ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE exercise_sets ADD FOREIGN KEY (session_id) REFERENCES workout_sessions (id) ON DELETE CASCADE;
ALTER TABLE exercise_sets ADD FOREIGN KEY (exercise_id) REFERENCES exercises (id) ON DELETE CASCADE;
ALTER TABLE exercises ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE feedback ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE focus_libraries ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE focus_library_tracks ADD FOREIGN KEY (library_id) REFERENCES focus_libraries (id) ON DELETE CASCADE;
ALTER TABLE focus_sessions ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE goal_milestones ADD FOREIGN KEY (goal_id) REFERENCES goals (id) ON DELETE CASCADE;
ALTER TABLE goals ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE habit_completions ADD FOREIGN KEY (habit_id) REFERENCES habits (id) ON DELETE CASCADE;
ALTER TABLE habit_completions ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE habits ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE ideas ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE inbox_items ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE infobase_entries ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE learn_drills ADD FOREIGN KEY (topic_id) REFERENCES learn_topics (id) ON DELETE CASCADE;
ALTER TABLE learn_lessons ADD FOREIGN KEY (topic_id) REFERENCES learn_topics (id) ON DELETE CASCADE;
ALTER TABLE listening_prompt_presets ADD FOREIGN KEY (template_id) REFERENCES listening_prompt_templates (id) ON DELETE CASCADE;
ALTER TABLE listening_prompt_presets ADD FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE listening_prompt_templates ADD FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE onboarding_steps ADD FOREIGN KEY (flow_id) REFERENCES onboarding_flows (id) ON DELETE CASCADE;
ALTER TABLE personal_records ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE personal_records ADD FOREIGN KEY (exercise_id) REFERENCES exercises (id) ON DELETE CASCADE;
ALTER TABLE personal_records ADD FOREIGN KEY (exercise_set_id) REFERENCES exercise_sets (id) ON DELETE SET NULL;
ALTER TABLE plan_templates ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE points_ledger ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE points_ledger ADD FOREIGN KEY (skill_key) REFERENCES skill_definitions (key) ON DELETE SET NULL;
ALTER TABLE program_weeks ADD FOREIGN KEY (program_id) REFERENCES training_programs (id) ON DELETE CASCADE;
ALTER TABLE program_workouts ADD FOREIGN KEY (program_week_id) REFERENCES program_weeks (id) ON DELETE CASCADE;
ALTER TABLE program_workouts ADD FOREIGN KEY (workout_id) REFERENCES workouts (id) ON DELETE CASCADE;
ALTER TABLE reading_sessions ADD FOREIGN KEY (book_id) REFERENCES books (id) ON DELETE CASCADE;
ALTER TABLE reading_sessions ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE reference_tracks ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE role_entitlements ADD FOREIGN KEY (role_id) REFERENCES roles (id) ON DELETE CASCADE;
ALTER TABLE role_entitlements ADD FOREIGN KEY (entitlement_id) REFERENCES entitlements (id) ON DELETE CASCADE;
ALTER TABLE roles ADD FOREIGN KEY (parent_role_id) REFERENCES roles (id) ON DELETE SET NULL;
ALTER TABLE sessions ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE sessions ADD FOREIGN KEY (rotated_from) REFERENCES sessions (id) ON DELETE SET NULL;
ALTER TABLE track_analyses ADD FOREIGN KEY (track_id) REFERENCES reference_tracks (id) ON DELETE CASCADE;
ALTER TABLE track_annotations ADD FOREIGN KEY (track_id) REFERENCES reference_tracks (id) ON DELETE CASCADE;
ALTER TABLE track_annotations ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE track_regions ADD FOREIGN KEY (track_id) REFERENCES reference_tracks (id) ON DELETE CASCADE;
ALTER TABLE track_regions ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE training_programs ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE universal_quests ADD FOREIGN KEY (skill_key) REFERENCES skill_definitions (key) ON DELETE SET NULL;
ALTER TABLE universal_quests ADD FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE user_achievements ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE user_achievements ADD FOREIGN KEY (achievement_key) REFERENCES achievement_definitions (key) ON DELETE CASCADE;
ALTER TABLE user_drill_stats ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE user_drill_stats ADD FOREIGN KEY (drill_id) REFERENCES learn_drills (id) ON DELETE CASCADE;
ALTER TABLE user_interests ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE user_learn_srs ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE user_lesson_progress ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE user_lesson_progress ADD FOREIGN KEY (lesson_id) REFERENCES learn_lessons (id) ON DELETE CASCADE;
ALTER TABLE user_onboarding_responses ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE user_onboarding_responses ADD FOREIGN KEY (step_id) REFERENCES onboarding_steps (id) ON DELETE CASCADE;
ALTER TABLE user_onboarding_state ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE user_onboarding_state ADD FOREIGN KEY (flow_id) REFERENCES onboarding_flows (id) ON DELETE CASCADE;
ALTER TABLE user_onboarding_state ADD FOREIGN KEY (current_step_id) REFERENCES onboarding_steps (id) ON DELETE NO ACTION;
ALTER TABLE user_progress ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE user_quest_progress ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE user_quest_progress ADD FOREIGN KEY (quest_id) REFERENCES universal_quests (id) ON DELETE CASCADE;
ALTER TABLE user_quests ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE user_quests ADD FOREIGN KEY (source_quest_id) REFERENCES universal_quests (id) ON DELETE SET NULL;
ALTER TABLE user_references ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE user_roles ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE user_roles ADD FOREIGN KEY (role_id) REFERENCES roles (id) ON DELETE CASCADE;
ALTER TABLE user_roles ADD FOREIGN KEY (granted_by) REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE user_settings ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE user_skills ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE user_skills ADD FOREIGN KEY (skill_key) REFERENCES skill_definitions (key) ON DELETE CASCADE;
ALTER TABLE user_streaks ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE workout_exercises ADD FOREIGN KEY (workout_id) REFERENCES workouts (id) ON DELETE CASCADE;
ALTER TABLE workout_exercises ADD FOREIGN KEY (section_id) REFERENCES workout_sections (id) ON DELETE SET NULL;
ALTER TABLE workout_exercises ADD FOREIGN KEY (exercise_id) REFERENCES exercises (id) ON DELETE CASCADE;
ALTER TABLE workout_sections ADD FOREIGN KEY (workout_id) REFERENCES workouts (id) ON DELETE CASCADE;
ALTER TABLE workout_sessions ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE workout_sessions ADD FOREIGN KEY (workout_id) REFERENCES workouts (id) ON DELETE SET NULL;
ALTER TABLE workouts ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
