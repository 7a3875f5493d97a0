package migrations

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// uuidLiteral finds the uuids the seed migration writes.
var uuidLiteral = regexp.MustCompile(`'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'`)

// SeedIDs returns the fixed ids of the rows 0013_seeds.sql inserts, sorted:
// the rows a target holds before any cutover. The migration is embedded,
// so it is read once; each call gets its own copy.
func SeedIDs() ([]string, error) {
	out, err := seedIDs()
	return slices.Clone(out), err
}

var seedIDs = sync.OnceValues(func() ([]string, error) {
	out, err := matchMigrations(uuidLiteral, func(name string) bool { return strings.Contains(name, "seeds") })
	if err != nil {
		return nil, fmt.Errorf("read the seed ids: %w", err)
	}
	return out, nil
})
