package load

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/migrations"
)

// Once the application goes live on the target, its users change the rows
// the cutover wrote. A run after that (the night's command repeated the
// next morning, a legacy application started again by mistake) would
// overwrite those changes and remove rows whose legacy rows are gone: data
// the users wrote, lost. Sealing the target records that it went live;
// every later run refuses until the seal is lifted.

// Seal is the record of a target's go-live.
type Seal struct {
	At   time.Time
	Run  int64  // the last run before it, which finished
	Host string // where `cutover seal` ran
	// DroppedStage is the size of the stage schema that sealing dropped
	// (a --keep-stage run's, with copies of legacy rows), "" when there
	// was none. Only SealTarget sets it.
	DroppedStage string
	// DroppedDryRun is the size of the scratch schema a stopped dry run
	// left (load.DryRunStage) that sealing dropped, "" when there was
	// none. Only SealTarget sets it.
	DroppedDryRun string
	// Before is true when SealTarget found the target sealed already (and
	// changed nothing of the seal).
	Before bool
}

// SealedError refuses a run on a sealed target.
type SealedError struct{ Seal Seal }

func (e *SealedError) Error() string {
	return fmt.Sprintf("the target went live: it was sealed at %s (on %s, after run %d), and a run now would overwrite what the application changed since; "+
		"`cutover seal --undo --target …` lifts the seal (`cutover diff` shows what a run would change, and writes nothing)",
		e.Seal.At.UTC().Format(time.RFC3339), e.Seal.Host, e.Seal.Run)
}

// undefinedTable is the SQLSTATE of a table that does not exist (a target
// no run has written to has no bookkeeping).
const undefinedTable = "42P01"

// ErrNotFinished refuses to seal a target whose last run did not finish.
var ErrNotFinished = errors.New("the cutover is not finished")

// sealDDL is the seal's table: one row, or none.
const sealDDL = `CREATE TABLE IF NOT EXISTS ` + bk + `.seal (
	one       boolean PRIMARY KEY DEFAULT true CHECK (one),
	sealed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	run_id    bigint NOT NULL,
	host      text NOT NULL
);
`

// readSeal returns the target's seal, nil when it has none (or no
// bookkeeping yet).
func readSeal(ctx context.Context, conn *pgx.Conn) (*Seal, error) {
	if exists, err := relationExists(ctx, conn, bk+".seal"); err != nil || !exists {
		return nil, err
	}
	var s Seal
	err := conn.QueryRow(ctx, `SELECT sealed_at, run_id, host FROM `+bk+`.seal`).Scan(&s.At, &s.Run, &s.Host)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the seal: %w", err)
	}
	return &s, nil
}

// SealTarget seals the target at targetURL (see Seal): its last run must
// have finished (ErrNotFinished otherwise), and no run may be working on
// it (it takes the run lock for the moment, *migrations.RunningError
// otherwise).
// Sealing a sealed target returns its seal unchanged, with Before set.
// Either drops the scratch schema a stopped dry run left.
func SealTarget(ctx context.Context, targetURL string) (_ *Seal, err error) {
	defer func() { err = dburl.ExplainLostOn(ctx, "target", err) }()
	conn, err := dburl.Connect(ctx, "target", targetURL, dburl.AppName("cutover seal"))
	if err != nil {
		return nil, err
	}
	defer closeReleasing(conn)
	if err := checkWritable(ctx, conn, dburl.Describe(targetURL)); err != nil {
		return nil, err
	}
	if err := takeRunLock(ctx, conn); err != nil {
		return nil, err
	}
	if s, err := readSeal(ctx, conn); err != nil || s != nil {
		if s != nil {
			// A dry run works on a sealed target too, and may be stopped.
			s.Before = true
			if s.DroppedDryRun, err = dropStoppedDryRun(ctx, conn); err != nil {
				return nil, fmt.Errorf("the target was sealed already, but the scratch schema %s a stopped dry run left, with copies of legacy rows, could not be dropped: %w", DryRunStage, err)
			}
		}
		return s, err
	}
	last, status, err := lastRun(ctx, conn)
	switch {
	case err != nil:
		return nil, err
	case last == 0:
		if legacy, derr := extract.Detect(ctx, conn); derr == nil { // the legacy database given as the target
			return nil, &TargetIsLegacyError{Target: dburl.Describe(targetURL), Flavor: legacy.Flavor}
		}
		return nil, fmt.Errorf("%w: no run has loaded this target", ErrNotFinished)
	case status != "done":
		return nil, fmt.Errorf("%w: its last run (%d) is %s; run `cutover run` again until it finishes, then seal", ErrNotFinished, last, status)
	}
	if _, err := conn.Exec(ctx, sealDDL); err != nil {
		return nil, fmt.Errorf("create the seal's table: %w", err)
	}
	host, _ := os.Hostname()
	var s Seal
	if err := conn.QueryRow(ctx, `INSERT INTO `+bk+`.seal (run_id, host) VALUES ($1, $2) RETURNING sealed_at, run_id, host`, last, host).
		Scan(&s.At, &s.Run, &s.Host); err != nil {
		return nil, fmt.Errorf("seal the target: %w", err)
	}
	// Past go-live no run reads the stage, and a stage a --keep-stage run
	// left holds copies of legacy rows (password hashes, tokens) in the
	// application's database: it goes. The run lock keeps runs away.
	exists, size, err := stageSize(ctx, conn, mappings.StageSchema)
	if err != nil {
		return nil, fmt.Errorf("the target is sealed, but its stage schema %s could not be read: %w", mappings.StageSchema, err)
	}
	if exists {
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+ident(mappings.StageSchema)+` CASCADE`); err != nil {
			return nil, fmt.Errorf("the target is sealed, but its stage schema %s, which holds copies of legacy rows, could not be dropped: %w", mappings.StageSchema, err)
		}
		s.DroppedStage = size
	}
	if s.DroppedDryRun, err = dropStoppedDryRun(ctx, conn); err != nil {
		return nil, fmt.Errorf("the target is sealed, but the scratch schema %s a stopped dry run left, with copies of legacy rows, could not be dropped: %w", DryRunStage, err)
	}
	return &s, nil
}

// lastRun returns the id and status of the target's last run, 0 when it
// has none (or no bookkeeping: asked of the catalog first, so that a
// target no run has written to logs no error).
func lastRun(ctx context.Context, q migrations.Queryer) (id int64, status string, err error) {
	exists, err := relationExists(ctx, q, bk+".runs")
	if err == nil && exists {
		err = q.QueryRow(ctx, `SELECT id, status FROM `+bk+`.runs ORDER BY id DESC LIMIT 1`).Scan(&id, &status)
	}
	var pgErr *pgconn.PgError
	if errors.Is(err, pgx.ErrNoRows) || errors.As(err, &pgErr) && pgErr.Code == undefinedTable {
		return 0, "", nil // dropped between the two statements: none either
	}
	if err != nil {
		return 0, "", fmt.Errorf("read the last run: %w", err)
	}
	return id, status, nil
}

// UnsealTarget lifts the target's seal and returns it (nil: there was
// none), so that runs may write to it again.
func UnsealTarget(ctx context.Context, targetURL string) (_ *Seal, err error) {
	defer func() { err = dburl.ExplainLostOn(ctx, "target", err) }()
	conn, err := dburl.Connect(ctx, "target", targetURL, dburl.AppName("cutover seal"))
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	s, err := readSeal(ctx, conn)
	if err != nil || s == nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, `DELETE FROM `+bk+`.seal`); err != nil {
		return nil, fmt.Errorf("lift the seal: %w", err)
	}
	return s, nil
}
