package migrations

import (
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
)

// SeedIDs returns the fixed ids of the rows 0013_seeds.sql inserts, sorted:
// the rows a target holds before any cutover.
func SeedIDs() ([]string, error) {
	var out []string
	uuidLit := regexp.MustCompile(`'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'`)
	err := fs.WalkDir(FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(path, "seeds") {
			return err
		}
		b, err := fs.ReadFile(FS(), path)
		if err != nil {
			return err
		}
		for _, m := range uuidLit.FindAllStringSubmatch(string(b), -1) {
			out = append(out, m[1])
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the seed ids: %w", err)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
