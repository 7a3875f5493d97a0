package load

import (
	"strings"
	"sync"
)

// SetHook installs a fault-injection hook: f is called at every named point
// of a run (see Config.at) and fails the run when it returns an error.
// Points: "extract.before:<table>", "extract.copy:<table>" (mid-COPY),
// "extract.commit:<table>" (after the COPY, before its commit),
// "apply.rows:<legacy table>" (after the rows, before the bookkeeping),
// "apply.rejects:<legacy table>" (before the rejects are written),
// "apply.commit:<legacy table>", "sort_order:<table>", "summary".
func SetHook(c *Config, f func(point string) error) { c.hook = f }

// hookFirstExtract runs f once, when the run is about to read its first
// batch; an error of f fails that batch and every later one.
func hookFirstExtract(c *Config, f func() error) {
	var once sync.Once
	var err error
	SetHook(c, func(point string) error {
		if !strings.HasPrefix(point, "extract.before:") {
			return nil
		}
		once.Do(func() { err = f() })
		return err
	})
}

// BookkeepingDDL is the DDL of the bookkeeping schema, for tests that build
// the bookkeeping of an earlier version.
var BookkeepingDDL = bookkeepingDDL
