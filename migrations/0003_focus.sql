-- +goose Up
-- 0003_focus: Focus timer: sessions, per-session pause state, libraries.
-- Shapes follow legacy v21 (legacy/INVENTORY.md section 2) unless spec/TARGET.md says
-- otherwise; decisions are recorded in testdata/schema/REVIEW.md.

-- focus_sessions: core content (user_id NO ACTION).
CREATE TABLE focus_sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id),
    mode text NOT NULL DEFAULT 'focus' CHECK (mode IN ('focus', 'break', 'long_break')),
    duration_seconds integer NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    abandoned_at timestamptz,
    expires_at timestamptz,
    paused_at timestamptz,
    paused_remaining_seconds integer,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'completed', 'abandoned', 'expired')),
    xp_awarded integer NOT NULL DEFAULT 0,
    coins_awarded integer NOT NULL DEFAULT 0,
    task_id uuid,
    task_title text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_focus_sessions_user_id_created_at ON focus_sessions (user_id, created_at);

-- focus_pause_state: the newer per-session model plus time_remaining_seconds from the older
-- one; column order is the v21 order (updated_at before created_at) with the new column
-- after resumed_at.
CREATE TABLE focus_pause_state (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id uuid NOT NULL UNIQUE REFERENCES focus_sessions (id) ON DELETE CASCADE,
    is_paused boolean NOT NULL DEFAULT false,
    paused_at timestamptz,
    resumed_at timestamptz,
    time_remaining_seconds integer,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX idx_focus_pause_state_user_id ON focus_pause_state (user_id);

-- focus_libraries: core content (user_id NO ACTION).
CREATE TABLE focus_libraries (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id),
    name text NOT NULL,
    description text,
    library_type varchar(50) DEFAULT 'custom',
    tracks_count integer DEFAULT 0,
    is_favorite boolean DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_focus_libraries_user_id ON focus_libraries (user_id);

-- focus_library_tracks: child rows of a user-owned library (CASCADE).
CREATE TABLE focus_library_tracks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    library_id uuid NOT NULL REFERENCES focus_libraries (id) ON DELETE CASCADE,
    track_id text NOT NULL,
    track_title text NOT NULL,
    track_url text,
    duration_seconds integer,
    added_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_focus_library_tracks_library_id ON focus_library_tracks (library_id);
