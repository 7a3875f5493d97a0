package dburl

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestZZRvIURLs(t *testing.T) {
	for _, u := range []string{
		"postgres://h?host=/tmp&password=p@ssw0rdX",
		"postgres:///db?host=/tmp&password=p@ssw0rdX",
		"postgres://h?sslrootcert=/etc/ca.pem&application_name=etl@night&password=s3cr3tX",
		"postgres://h?host=/tmp&application_name=a@b&password=s3cr3tX&port=x",
		"postgres://h:5432/my@db",
		"postgres://u:pw0rdX@h:5432/my@db",
		"postgres://[::1]:5432/my@db",
		"postgres://h/my@db?password=s3cr3tX",
		"postgres://h:5432/my@db?password=s3cr3tX",
		"postgres://u:s3cr3tX@h/db?options=-c%20x=y@z",
		"postgres://u:s3cr3tX@h,h2:5433/db",
		"postgres://u:s3c?r3tX@h/db",
		"postgres://u:s3c#r3tX@h/db",
		"postgres://u:s3cr3tX@[::1]:5432/db",
		"postgres://h?application_name=a@b&password=s3cr3tX",
		"postgres://u@h?password=s3cr3tX&application_name=a/b@c",
		"postgres://h?password=s3cr3tX&application_name=a/b@c",
		"postgres://h?password=s3cr/3tX@",
		"postgres://u:s3cr3tX@h?application_name=a/b@c",
		"postgres://h/db?sslpassword=s3cr3tX",
		"postgres://u:s3c/r3tX@h?x=1",
		"postgres://u:s3c/r3tX@h",
	} {
		var pg string
		cfg, err := pgconn.ParseConfig(u)
		if err != nil {
			pg = "ERR " + err.Error()
		} else {
			pg = "user=" + cfg.User + " pw=" + cfg.Password + " host=" + cfg.Host + " db=" + cfg.Database
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, cerr := Connect(ctx, "target", u)
		cancel()
		_, perr := ParseConfig("target", u)
		t.Logf("\nURL      %s\npgconn   %s\natInUI   %v\nRedact   %s\nDescribe %s\nConnect  %v\nParse    %v", u, pg, atInUserInfo(u), Redact(u), Describe(u), cerr, perr)
		for _, s := range []string{Redact(u), Describe(u), errS(cerr), errS(perr)} {
			for _, frag := range []string{"r3tX", "0rdX", "ssw0", "pw0r"} {
				if strings.Contains(s, frag) {
					t.Errorf("LEAK %q in %q (url %s)", frag, s, u)
				}
			}
		}
	}
}

func errS(e error) string {
	if e == nil {
		return ""
	}
	return e.Error()
}
