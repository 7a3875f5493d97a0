package main

import (
	"os"
	"testing"

	"github.com/cutover/cutover/internal/pgtest"
)

// envRunMain makes the test binary behave as the cutover command itself, so
// that tests can check real exit codes: see runMain in schema_test.go.
const envRunMain = "CUTOVER_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(pgtest.Main(m))
}
