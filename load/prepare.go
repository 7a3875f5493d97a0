package load

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/transform"
)

// questsTypedColumns are the columns of the stage relation quests_typed.
var questsTypedColumns = []string{
	"id", "uid", "id_is_uuid", "user_id", "title", "description", "category", "difficulty",
	"xp_reward", "coin_reward", "status", "is_active", "is_universal", "accepted_at", "completed_at",
	"expires_at", "is_repeatable", "repeat_frequency", "created_at", "updated_at",
	"invalid_column", "invalid_message",
}

// prepareQuests types every staged quests row with transform.CoerceQuest
// into quests_typed, streaming: rows are read and written through COPY.
func prepareQuests(ctx context.Context, read, write *pgx.Conn, stage string) error {
	if _, err := write.Exec(ctx, `CREATE UNLOGGED TABLE `+ident(stage)+`.quests_typed (
		id text, uid uuid, id_is_uuid boolean, user_id uuid, title text, description text, category text,
		difficulty text, xp_reward integer, coin_reward integer, status text, is_active boolean,
		is_universal boolean, accepted_at timestamptz, completed_at timestamptz, expires_at timestamptz,
		is_repeatable boolean, repeat_frequency text, created_at timestamptz, updated_at timestamptz,
		invalid_column text, invalid_message text) `+extract.StageStorage); err != nil {
		return fmt.Errorf("prepare quests: %w", err)
	}
	rows, err := read.Query(ctx, `SELECT id, user_id, title, description, category, difficulty, xp_reward,
		coin_reward, is_universal, is_active, is_repeatable, status, accepted_at, completed_at, expires_at,
		created_at, updated_at, repeat_frequency FROM `+ident(stage)+`.quests ORDER BY id`)
	if err != nil {
		return fmt.Errorf("prepare quests: %w", err)
	}
	defer rows.Close()
	src := &questSource{rows: rows}
	if _, err := write.CopyFrom(ctx, pgx.Identifier{stage, "quests_typed"}, questsTypedColumns, src); err != nil {
		return fmt.Errorf("prepare quests: %w", err)
	}
	return rows.Err()
}

type questSource struct {
	rows pgx.Rows
	vals []any
	err  error
}

func (q *questSource) Next() bool {
	if !q.rows.Next() {
		return false
	}
	var t transform.QuestText
	if err := q.rows.Scan(&t.ID, &t.UserID, &t.Title, &t.Description, &t.Category, &t.Difficulty,
		&t.XPReward, &t.CoinReward, &t.IsUniversal, &t.IsActive, &t.IsRepeatable, &t.Status,
		&t.AcceptedAt, &t.CompletedAt, &t.ExpiresAt, &t.CreatedAt, &t.UpdatedAt, &t.RepeatFrequency); err != nil {
		q.err = err
		return false
	}
	qt, bad := transform.CoerceQuest(t)
	var badCol, badMsg *string
	if bad != nil {
		c, m := bad.Column, bad.Error()
		badCol, badMsg = &c, &m
	}
	var user any
	if qt.UserID != nil {
		user = *qt.UserID
	}
	q.vals = []any{*t.ID, qt.ID, qt.IDIsUUID, user, qt.Title, qt.Description, qt.Category, qt.Difficulty,
		qt.XPReward, qt.CoinReward, qt.Status, qt.IsActive, qt.IsUniversal, qt.AcceptedAt, qt.CompletedAt,
		qt.ExpiresAt, qt.IsRepeatable, qt.RepeatFrequency, qt.CreatedAt, qt.UpdatedAt, badCol, badMsg}
	if bad != nil {
		// An invalid row keeps only its ids: its values may not fit the types.
		for i := 4; i < 20; i++ {
			q.vals[i] = nil
		}
	}
	return true
}

func (q *questSource) Values() ([]any, error) { return q.vals, nil }
func (q *questSource) Err() error             { return q.err }

// prepareMarketKeys computes the key of every staged v21 market item with
// transform.MarketKeys into market_item_keys.
func prepareMarketKeys(ctx context.Context, conn *pgx.Conn, stage string) error {
	rows, err := conn.Query(ctx, `SELECT id, name, created_at FROM `+ident(stage)+`.market_items`)
	if err != nil {
		return fmt.Errorf("prepare market item keys: %w", err)
	}
	var items []transform.MarketItem
	for rows.Next() {
		var id uuid.UUID
		var name string
		var at pgtype.Timestamptz
		if err := rows.Scan(&id, &name, &at); err != nil {
			return fmt.Errorf("prepare market item keys: %w", err)
		}
		items = append(items, transform.MarketItem{ID: id.String(), Name: name, CreatedAt: at.Time, Infinite: int(at.InfinityModifier)})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("prepare market item keys: %w", err)
	}
	keys := transform.MarketKeys(items)
	if _, err := conn.Exec(ctx, `CREATE UNLOGGED TABLE `+ident(stage)+`.market_item_keys (id uuid PRIMARY KEY, key text NOT NULL) `+extract.StageStorage); err != nil {
		return fmt.Errorf("prepare market item keys: %w", err)
	}
	data := make([][]any, 0, len(keys))
	for _, it := range items {
		data = append(data, []any{uuid.MustParse(it.ID), keys[it.ID]})
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{stage, "market_item_keys"}, []string{"id", "key"}, pgx.CopyFromRows(data)); err != nil {
		return fmt.Errorf("prepare market item keys: %w", err)
	}
	return nil
}
