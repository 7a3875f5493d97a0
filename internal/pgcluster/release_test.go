package pgcluster

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestReleases: each fetched release starts a cluster that says it is
// that version, and a second BinDir reuses the first one's copy.
func TestReleases(t *testing.T) {
	for _, r := range []Release{PostgreSQL12, PostgreSQL13, PostgreSQL18} {
		t.Run(r.Version, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			bin, err := r.BinDir(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"initdb", "postgres", "pg_ctl"} {
				if fi, err := os.Stat(filepath.Join(bin, name)); err != nil || fi.Mode()&0o001 == 0 {
					t.Errorf("%s: %v, want a file everyone may run", name, err)
				}
			}
			again, err := r.BinDir(ctx)
			if err != nil || again != bin {
				t.Errorf("second BinDir: %q, %v; want %q", again, err, bin)
			}
			c, err := Start(ctx, Options{BinDir: bin})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Stop()
			conn, err := pgx.Connect(ctx, c.URL("postgres"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			// gen_random_uuid, which the legacy and target keys default
			// to, is built in from 13: why 12 is refused.
			var version string
			var uuids bool
			if err := conn.QueryRow(ctx, `SELECT current_setting('server_version'), to_regproc('gen_random_uuid') IS NOT NULL`).Scan(&version, &uuids); err != nil {
				t.Fatal(err)
			}
			if want := r != PostgreSQL12; version != r.Version || uuids != want {
				t.Errorf("server_version %q, gen_random_uuid built in: %v; want %q and %v", version, uuids, r.Version, want)
			}
		})
	}
}

// tarball returns a gzipped tarball of files (name → content).
func tarball(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(files[name])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[name])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestReleaseFetch: a release is unpacked from its prefix with its library
// links, once; a download whose digest is not the release's, or that
// would write outside its directory, is refused and leaves nothing.
func TestReleaseFetch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	good := tarball(t, map[string]string{
		"package/README.md":              "not unpacked",
		"package/native/bin/postgres":    "#!/bin/sh\n",
		"package/native/lib/libx.so.1.2": "library",
		"package/native/links.json":      `[{"source": "native/lib/libx.so.1.2", "target": "native/lib/libx.so.1"}]`,
	})
	escaping := tarball(t, map[string]string{"package/native/../../escaped": "x"})
	served := map[string][]byte{"/good.tgz": good, "/flaky.tgz": good, "/escaping.tgz": escaping}
	var mu sync.Mutex
	hits := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		n := hits[r.URL.Path]
		mu.Unlock()
		switch body, ok := served[r.URL.Path]; {
		case !ok:
			http.NotFound(w, r)
		case r.URL.Path == "/flaky.tgz" && n == 1:
			http.Error(w, "try again", http.StatusServiceUnavailable)
		default:
			w.Write(body)
		}
	}))
	hitsOf := func(path string) int {
		mu.Lock()
		defer mu.Unlock()
		return hits[path]
	}
	defer srv.Close()
	digest := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	release := func(path string, sum string) Release {
		return Release{Version: "0." + strconv.FormatInt(time.Now().UnixNano(), 10), URL: srv.URL + path, SHA256: sum,
			Prefix: "package/native/", Symlinks: "links.json", LinkPrefix: "native/"}
	}
	home := func(r Release) string {
		return filepath.Join(os.TempDir(), "cutover-postgresql-"+r.Version+"-"+r.SHA256[:12])
	}

	r := release("/good.tgz", digest(good))
	t.Cleanup(func() { os.RemoveAll(home(r)) })
	bin, err := r.BinDir(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if bin != filepath.Join(home(r), "bin") {
		t.Errorf("BinDir = %s, want %s/bin", bin, home(r))
	}
	if target, err := os.Readlink(filepath.Join(home(r), "lib", "libx.so.1")); err != nil || target != "libx.so.1.2" {
		t.Errorf("library link: %q, %v; want libx.so.1.2", target, err)
	}
	if _, err := os.Stat(filepath.Join(home(r), "README.md")); !os.IsNotExist(err) {
		t.Errorf("a file outside the prefix was unpacked: %v", err)
	}
	if _, err := r.BinDir(ctx); err != nil || hitsOf("/good.tgz") != 1 {
		t.Errorf("second BinDir: %v after %d downloads, want the first copy", err, hitsOf("/good.tgz"))
	}
	// A server's error is asked again; a refusal is not.
	flaky := release("/flaky.tgz", digest(good))
	t.Cleanup(func() { os.RemoveAll(home(flaky)) })
	if _, err := flaky.BinDir(ctx); err != nil || hitsOf("/flaky.tgz") != 2 {
		t.Errorf("BinDir after a 503: %v after %d requests, want it fetched at the second", err, hitsOf("/flaky.tgz"))
	}
	missing := release("/missing.tgz", digest(good))
	if _, err := missing.BinDir(ctx); err == nil || !strings.Contains(err.Error(), "404") || hitsOf("/missing.tgz") != 1 {
		t.Errorf("BinDir of a missing tarball: %v after %d requests, want a 404 after one", err, hitsOf("/missing.tgz"))
	}

	for _, bad := range []struct {
		name string
		r    Release
		want string
	}{
		{"another digest", release("/good.tgz", digest([]byte("other"))), "SHA-256"},
		{"an entry leaving its directory", release("/escaping.tgz", digest(escaping)), "leaves its directory"},
	} {
		_, err := bad.r.BinDir(ctx)
		if err == nil || !strings.Contains(err.Error(), bad.want) || !strings.Contains(err.Error(), bad.r.URL) {
			t.Errorf("%s: %v, want a refusal saying %q and naming the URL", bad.name, err, bad.want)
		}
		if _, err := os.Stat(home(bad.r)); !os.IsNotExist(err) {
			t.Errorf("%s: the refused download left %s: %v", bad.name, home(bad.r), err)
		}
	}
}
