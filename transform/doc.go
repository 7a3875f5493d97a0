// Package transform holds the row functions of the cutover that need more
// than SQL: derived ids, market-item keys, the strict coercion of the drift
// quests table. Every function is pure (no database, no clock, no
// randomness) and unit-tested on its own; the load package applies them to
// stage rows.
package transform
