package dburl

import "testing"

// TestVersionName: server_version_num is named as PostgreSQL names its
// versions.
func TestVersionName(t *testing.T) {
	for num, want := range map[int]string{90624: "9.6.24", 120022: "12.22", 130000: "13", 130023: "13.23", 180004: "18.4"} {
		if got := VersionName(num); got != want {
			t.Errorf("VersionName(%d) = %q, want %q", num, got, want)
		}
	}
}

// TestMajorVersion: the major version decides whether idle_session_timeout
// exists (14+); a server before 14 refuses a connection that sets it.
func TestMajorVersion(t *testing.T) {
	for v, want := range map[string]int{
		"15.4 (Debian 15.4-1.pgdg120+1)": 15,
		"14beta1":                        14,
		"13.12":                          13,
		"9.6.24":                         9,
		"":                               0,
		"devel":                          0,
	} {
		if got := majorVersion(v); got != want {
			t.Errorf("majorVersion(%q) = %d, want %d", v, got, want)
		}
	}
}
