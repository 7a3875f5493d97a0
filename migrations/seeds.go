package migrations

import (
	"fmt"
	"io/fs"
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

// seedInsert finds the start of each INSERT of the seed migration and the
// table it fills.
var seedInsert = regexp.MustCompile(`(?m)^INSERT INTO ([a-z_][a-z0-9_]*)`)

// SeedRows returns the fixed ids 0013_seeds.sql inserts, by target table:
// the ids written between one INSERT INTO <table> and the next (its child
// rows look their parents up by natural key, so every id there is a row's
// own). Each call gets its own copy.
func SeedRows() (map[string][]string, error) {
	byTable, err := seedRows()
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(byTable))
	for t, ids := range byTable {
		out[t] = slices.Clone(ids)
	}
	return out, nil
}

var seedRows = sync.OnceValues(func() (map[string][]string, error) {
	out := map[string][]string{}
	err := fs.WalkDir(FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".sql") || !strings.Contains(path, "seeds") {
			return err
		}
		b, err := fs.ReadFile(FS(), path)
		if err != nil {
			return err
		}
		sql := string(b)
		starts := seedInsert.FindAllStringSubmatchIndex(sql, -1)
		for i, s := range starts {
			end := len(sql)
			if i+1 < len(starts) {
				end = starts[i+1][0]
			}
			table := sql[s[2]:s[3]]
			for _, m := range uuidLiteral.FindAllStringSubmatch(sql[s[0]:end], -1) {
				out[table] = append(out[table], m[1])
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the seed rows: %w", err)
	}
	for t := range out {
		slices.Sort(out[t])
		out[t] = slices.Compact(out[t])
	}
	return out, nil
})
