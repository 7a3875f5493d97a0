package reconcile_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/load"
	"github.com/cutover/cutover/migrations"
)

// TestVerifyTypesTheTextQuestsAsTheRunDoes: a text quest's timestamp
// finer than a microsecond is rounded as PostgreSQL reads it, by the run
// and by verify alike (a review found the run truncating it and verify
// rounding it, a false difference).
func TestVerifyTypesTheTextQuestsAsTheRunDoes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := legacyDB(t, genOptions), pgtest.NewDB(t)
	exec(t, src, `INSERT INTO quests (id, user_id, title, category, created_at, updated_at)
		SELECT 'zz-finer-than-a-microsecond', id::text, 'Finer', 'fitness', '2025-01-01T10:00:00.1234567Z', '2025-01-01T10:00:00.1234564Z'
		FROM users ORDER BY id LIMIT 1`)
	if _, err := migrations.Apply(ctx, dst, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := load.Run(ctx, load.Config{SourceURL: src, TargetURL: dst, MaxRejects: -1, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	got := queryString(t, dst, `SELECT to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || ' ' ||
			to_char(t.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM user_quests t
		JOIN cutover.dispositions d ON d.target_id = t.id AND d.legacy_table = 'quests' AND d.legacy_key = 'zz-finer-than-a-microsecond'`)
	if want := "2025-01-01 10:00:00.123457 2025-01-01 10:00:00.123456"; got != want {
		t.Errorf("the quest's created_at and updated_at: %s, want %s", got, want)
	}
	if res := verify(t, src, dst); !res.OK() {
		t.Errorf("verify fails:\n%s", strings.Join(failures(res), "\n"))
	}
}
