-- +goose Up
-- 0001_auth: Auth, RBAC and the security audit trail.
-- Shapes follow legacy v21 (legacy/INVENTORY.md section 2) unless spec/TARGET.md says
-- otherwise; decisions are recorded in testdata/schema/REVIEW.md.

-- users: email is unique case-insensitively (unique index on lower(email)); the legacy
-- case-sensitive UNIQUE (email) is dropped because the lower(email) index implies it.
CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL DEFAULT 'User',
    email text NOT NULL,
    email_verified timestamptz,
    image text,
    role text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin', 'moderator')),
    approved boolean NOT NULL DEFAULT true,
    age_verified boolean NOT NULL DEFAULT true,
    tos_accepted boolean NOT NULL DEFAULT false,
    tos_accepted_at timestamptz,
    tos_version text,
    last_activity_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX idx_users_email_lower ON users (lower(email));

-- accounts: pure dependent of users (ON DELETE CASCADE).
CREATE TABLE accounts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type text NOT NULL DEFAULT 'oauth',
    provider text NOT NULL CHECK (provider IN ('google', 'azure-ad', 'credentials')),
    provider_account_id text NOT NULL,
    refresh_token text,
    access_token text,
    expires_at bigint,
    token_type text,
    scope text,
    id_token text,
    session_state text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, provider_account_id)
);

CREATE INDEX idx_accounts_user_id ON accounts (user_id);

-- sessions: pure dependent (CASCADE); rotated_from keeps the legacy self-reference (SET NULL).
CREATE TABLE sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token text NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_activity_at timestamptz NOT NULL DEFAULT now(),
    user_agent text,
    ip_address inet,
    rotated_from uuid REFERENCES sessions (id) ON DELETE SET NULL
);

CREATE INDEX idx_sessions_user_id ON sessions (user_id);
CREATE INDEX idx_sessions_rotated_from ON sessions (rotated_from);

-- roles: global catalog, natural key name; parent_role_id self-reference (SET NULL).
CREATE TABLE roles (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL UNIQUE,
    description text,
    parent_role_id uuid REFERENCES roles (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_roles_parent_role_id ON roles (parent_role_id);

-- user_roles: join table, key (user_id, role_id); granted_by is an author column (SET NULL).
CREATE TABLE user_roles (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    granted_by uuid REFERENCES users (id) ON DELETE SET NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    PRIMARY KEY (user_id, role_id)
);

CREATE INDEX idx_user_roles_role_id ON user_roles (role_id);
CREATE INDEX idx_user_roles_granted_by ON user_roles (granted_by);

-- audit_log: the trail outlives a deleted user (user_id nullable, SET NULL); also receives the
-- legacy activity_events rows (MAPPING.md).
CREATE TABLE audit_log (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    session_id uuid REFERENCES sessions (id) ON DELETE SET NULL,
    event_type text NOT NULL,
    resource_type text,
    resource_id text,
    action text NOT NULL,
    status text NOT NULL DEFAULT 'success' CHECK (status IN ('success', 'failure', 'denied')),
    details jsonb,
    ip_address inet,
    user_agent text,
    request_id text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_audit_log_user_id_created_at ON audit_log (user_id, created_at);
CREATE INDEX idx_audit_log_session_id ON audit_log (session_id);
