-- +goose Up
-- 0011_reference: Reference tracks, analyses, frame data and listening prompts.
-- Shapes follow legacy v21 (legacy/INVENTORY.md section 2) unless spec/TARGET.md says
-- otherwise; decisions are recorded in testdata/schema/REVIEW.md.

-- reference_tracks: core content (user_id NO ACTION).
CREATE TABLE reference_tracks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id),
    name text NOT NULL,
    description text,
    r2_key text NOT NULL,
    file_size_bytes bigint NOT NULL,
    mime_type text NOT NULL DEFAULT 'audio/mpeg',
    duration_seconds real,
    artist text,
    album text,
    genre text,
    bpm real,
    key_signature text,
    tags jsonb DEFAULT '[]'::jsonb,
    status text NOT NULL DEFAULT 'ready' CHECK (status IN ('uploading', 'processing', 'ready', 'error')),
    error_message text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_reference_tracks_user_id ON reference_tracks (user_id);

-- track_analyses: child rows of a track (CASCADE); at most one completed analysis per type.
CREATE TABLE track_analyses (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    track_id uuid NOT NULL REFERENCES reference_tracks (id) ON DELETE CASCADE,
    analysis_type text NOT NULL DEFAULT 'full' CHECK (analysis_type IN ('full', 'quick', 'spectral', 'loudness')),
    version text NOT NULL DEFAULT '1.0',
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'completed', 'failed')),
    started_at timestamptz,
    completed_at timestamptz,
    error_message text,
    summary jsonb DEFAULT '{}'::jsonb,
    manifest jsonb DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX idx_track_analyses_latest ON track_analyses (track_id, analysis_type) WHERE status = 'completed';
CREATE INDEX idx_track_analyses_track_id ON track_analyses (track_id);

-- track_annotations: child rows of a user-owned track (CASCADE).
CREATE TABLE track_annotations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    track_id uuid NOT NULL REFERENCES reference_tracks (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    start_time_ms integer NOT NULL,
    end_time_ms integer,
    title text NOT NULL,
    content text,
    category text DEFAULT 'general' CHECK (category IN ('general', 'technique', 'mix', 'mastering', 'arrangement', 'production')),
    color text DEFAULT '#3b82f6',
    is_private boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_track_annotations_track_id ON track_annotations (track_id);
CREATE INDEX idx_track_annotations_user_id ON track_annotations (user_id);

-- track_regions: child rows of a user-owned track (CASCADE); legacy constraint name
-- check_region_times kept.
CREATE TABLE track_regions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    track_id uuid NOT NULL REFERENCES reference_tracks (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    start_time_ms integer NOT NULL,
    end_time_ms integer NOT NULL,
    name text NOT NULL,
    description text,
    section_type text DEFAULT 'custom' CHECK (section_type IN ('intro', 'verse', 'chorus', 'bridge', 'breakdown', 'buildup', 'drop', 'outro', 'custom')),
    color text DEFAULT '#10b981',
    display_order integer DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT check_region_times CHECK (end_time_ms > start_time_ms)
);

CREATE INDEX idx_track_regions_track_id ON track_regions (track_id);
CREATE INDEX idx_track_regions_user_id ON track_regions (user_id);

-- analysis_frame_manifests: one manifest per analysis.
CREATE TABLE analysis_frame_manifests (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    analysis_id uuid NOT NULL REFERENCES track_analyses (id) ON DELETE CASCADE,
    manifest_version text NOT NULL DEFAULT '1.0',
    hop_ms integer NOT NULL,
    frame_count integer NOT NULL,
    duration_ms integer NOT NULL,
    sample_rate integer NOT NULL DEFAULT 44100,
    bands jsonb NOT NULL DEFAULT '[]'::jsonb,
    bytes_per_frame integer NOT NULL,
    frame_layout jsonb NOT NULL DEFAULT '[]'::jsonb,
    events jsonb DEFAULT '[]'::jsonb,
    fingerprint text,
    analyzer_version text NOT NULL DEFAULT '1.0.0',
    chunk_size_frames integer NOT NULL DEFAULT 1000,
    total_chunks integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX idx_analysis_frame_manifests_analysis ON analysis_frame_manifests (analysis_id);

-- analysis_frame_data: binary frame chunks (bytea), one per (manifest, chunk_index).
CREATE TABLE analysis_frame_data (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    manifest_id uuid NOT NULL REFERENCES analysis_frame_manifests (id) ON DELETE CASCADE,
    chunk_index integer NOT NULL,
    start_frame integer NOT NULL,
    end_frame integer NOT NULL,
    start_time_ms integer NOT NULL,
    end_time_ms integer NOT NULL,
    frame_data bytea NOT NULL,
    frame_count integer NOT NULL,
    compressed boolean NOT NULL DEFAULT false,
    compression_type text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX idx_analysis_frame_data_chunk ON analysis_frame_data (manifest_id, chunk_index);

-- analysis_events: child rows of an analysis (CASCADE).
CREATE TABLE analysis_events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    analysis_id uuid NOT NULL REFERENCES track_analyses (id) ON DELETE CASCADE,
    time_ms integer NOT NULL,
    duration_ms integer,
    event_type text NOT NULL,
    event_data jsonb DEFAULT '{}'::jsonb,
    confidence real,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_analysis_events_analysis_id ON analysis_events (analysis_id);

-- listening_prompt_templates: global catalog (no natural key); created_by is an author column.
CREATE TABLE listening_prompt_templates (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    description text,
    category text NOT NULL DEFAULT 'general' CHECK (category IN ('general', 'frequency', 'dynamics', 'spatial', 'arrangement', 'production', 'mixing', 'mastering', 'genre_specific')),
    difficulty text NOT NULL DEFAULT 'beginner' CHECK (difficulty IN ('beginner', 'intermediate', 'advanced', 'expert')),
    prompt_text text NOT NULL,
    hints jsonb DEFAULT '[]'::jsonb,
    expected_observations jsonb DEFAULT '[]'::jsonb,
    tags jsonb DEFAULT '[]'::jsonb,
    display_order integer NOT NULL DEFAULT 0,
    is_active boolean NOT NULL DEFAULT true,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_listening_prompt_templates_created_by ON listening_prompt_templates (created_by);

-- listening_prompt_presets: global catalog; template_id is optional (legacy CASCADE).
CREATE TABLE listening_prompt_presets (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    description text,
    template_id uuid REFERENCES listening_prompt_templates (id) ON DELETE CASCADE,
    preset_type text NOT NULL DEFAULT 'focus' CHECK (preset_type IN ('focus', 'comparison', 'loop', 'visualization')),
    config jsonb NOT NULL DEFAULT '{}'::jsonb,
    is_active boolean NOT NULL DEFAULT true,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_listening_prompt_presets_template_id ON listening_prompt_presets (template_id);
CREATE INDEX idx_listening_prompt_presets_created_by ON listening_prompt_presets (created_by);
