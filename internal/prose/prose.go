// Package prose writes the small pieces of English that the cutover's
// messages share: a list cut short, a noun that agrees with its count.
package prose

import (
	"fmt"
	"strings"
)

// List joins items with commas, at most the first most of them, followed
// by "and N more" for the rest.
func List(items []string, most int) string {
	if len(items) <= most {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:most], ", ") + fmt.Sprintf(" and %d more", len(items)-most)
}

// Count returns n followed by one when n is 1, else by many: "1 batch",
// "3 batches".
func Count[N ~int | ~int64](n N, one, many string) string {
	return fmt.Sprintf("%d %s", n, Plural(n, one, many))
}

// Plural returns one when n is 1, else many.
func Plural[N ~int | ~int64](n N, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
