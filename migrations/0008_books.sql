-- +goose Up
-- 0008_books: Books and reading sessions (legacy v21 columns and constraints).
-- Shapes follow legacy v21 (legacy/INVENTORY.md section 2) unless spec/TARGET.md says
-- otherwise; decisions are recorded in testdata/schema/REVIEW.md.

-- books: core content (user_id NO ACTION).
CREATE TABLE books (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id),
    title text NOT NULL,
    author text,
    total_pages integer,
    current_page integer NOT NULL DEFAULT 0,
    status text NOT NULL DEFAULT 'reading' CHECK (status IN ('want_to_read', 'reading', 'completed', 'abandoned')),
    started_at timestamptz,
    completed_at timestamptz,
    rating integer CHECK (rating IS NULL OR (rating >= 1 AND rating <= 5)),
    notes text,
    cover_blob_id uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_books_user_id ON books (user_id);

-- reading_sessions: log rows of a user-owned book (CASCADE).
CREATE TABLE reading_sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    book_id uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    pages_read integer NOT NULL,
    duration_minutes integer,
    started_at timestamptz NOT NULL,
    notes text,
    xp_awarded integer NOT NULL DEFAULT 0,
    coins_awarded integer NOT NULL DEFAULT 0
);

CREATE INDEX idx_reading_sessions_book_id ON reading_sessions (book_id);
CREATE INDEX idx_reading_sessions_user_id ON reading_sessions (user_id);
