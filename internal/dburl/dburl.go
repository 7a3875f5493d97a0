// Package dburl opens connections from the URLs an operator gives on the
// command line, and keeps their passwords out of every message.
package dburl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Redact returns connURL with its password replaced by "xxxxx", in its
// user info and in every password=… parameter. A string that
// is not a URL (a keyword/value connection string) has every password=…
// value replaced. A URL is read as text, not parsed: whatever the
// server's client would take for a password is hidden, even where
// net/url would read the URL otherwise (an '@', a '?' or a '#' of the
// password unescaped), or not at all (a bad port, a bad %-escape). It
// errs towards hiding too much.
func Redact(connURL string) string {
	scheme, rest, ok := urlParts(connURL)
	if !ok {
		return redactOther(connURL)
	}
	return scheme + mask(rest, secretRanges(rest))
}

// mask replaces each of the ranges of s (in order, apart) with "xxxxx".
func mask(s string, ranges [][2]int) string {
	var b strings.Builder
	at := 0
	for _, r := range ranges {
		b.WriteString(s[at:r[0]])
		b.WriteString("xxxxx")
		at = r[1]
	}
	b.WriteString(s[at:])
	return b.String()
}

// redactOther masks a string that is no postgres:// URL: the password=…
// values of a keyword/value string, and the passwords of a URL that
// urlParts does not take for one (an operator's typo the client refuses,
// and the error would quote): one with a space or a quote before its
// scheme, another scheme (jdbc:postgresql://, postgresql+psycopg2://), or
// user info with no scheme at all ("u:pw@h/db").
func redactOther(s string) string {
	s = redactKeywords(s)
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		return s[:i+3] + mask(rest, secretRanges(rest))
	}
	return userInfoLike.ReplaceAllString(s, "${1}:xxxxx@")
}

// userInfoLike matches what reads as a URL's user info in a string with
// no scheme: a name, a ':', and a password up to the last '@' before a
// space (an '@' of the password is the password's).
var userInfoLike = regexp.MustCompile(`([^\s:@=/"']+):(\S*)@`)

// otherPasswords are the passwords redactOther masks in s.
func otherPasswords(s string) []string {
	var pws []string
	for _, r := range keywordPasswords(s) {
		pws = append(pws, s[r[0]:r[1]], strings.Trim(s[r[0]:r[1]], "'"))
	}
	s = redactKeywords(s)
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		for _, r := range secretRanges(rest) {
			pws = append(pws, rest[r[0]:r[1]])
		}
		return pws
	}
	for _, m := range userInfoLike.FindAllStringSubmatch(s, -1) {
		pws = append(pws, m[2])
	}
	return pws
}

// secretRanges returns, in order and apart, the ranges of rest (a URL
// after its scheme, urlParts) that may hold a password: its user info's
// (splitURL), and the value of every password or sslpassword parameter
// that a '?' or an '&' starts, anywhere in rest, whatever the split (an
// '@' or a '/' of a query value makes a split uncertain).
func secretRanges(rest string) [][2]int {
	var out [][2]int
	if user, pw, has, _, _, _ := splitURL(rest); has {
		out = append(out, [2]int{len(user) + 1, len(user) + 1 + len(pw)})
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] != '?' && rest[i] != '&' {
			continue
		}
		eq := strings.IndexByte(rest[i+1:], '=')
		if eq < 0 {
			break
		}
		name := rest[i+1 : i+1+eq]
		if strings.ContainsAny(name, "&?") {
			continue // no parameter starts here
		}
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if !strings.EqualFold(name, "password") && !strings.EqualFold(name, "sslpassword") {
			continue
		}
		start := i + 1 + eq + 1
		out = append(out, [2]int{start, valueEnd(rest, start)})
	}
	slices.SortFunc(out, func(a, b [2]int) int { return a[0] - b[0] })
	merged := out[:0]
	for _, r := range out {
		if n := len(merged); n > 0 && r[0] <= merged[n-1][1] {
			merged[n-1][1] = max(merged[n-1][1], r[1])
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// valueEnd is where the query value of rest that starts at start ends:
// at the '&' that starts the next parameter (a name and an '='), or at
// the end. A '?' of the value is the value's, and so is an '&' that
// starts no parameter ("password=Secret&Tail99": an '&' of the password
// unescaped, which the client refuses and its error would quote).
func valueEnd(rest string, start int) int {
	end := start
	for {
		amp := strings.IndexByte(rest[end:], '&')
		if amp < 0 {
			return len(rest)
		}
		end += amp
		next, _, _ := strings.Cut(rest[end+1:], "&")
		if strings.Contains(next, "=") {
			return end
		}
		end++
	}
}

// urlParts splits a postgres:// or postgresql:// URL (in any letter case,
// with any number of slashes) into its scheme with the slashes, and the
// rest; ok is false for a keyword/value string.
func urlParts(s string) (scheme, rest string, ok bool) {
	name, rest, found := strings.Cut(s, ":")
	if !found || !strings.EqualFold(name, "postgres") && !strings.EqualFold(name, "postgresql") {
		return "", s, false
	}
	slashes := len(rest) - len(strings.TrimLeft(rest, "/"))
	return s[:len(name)+1+slashes], rest[slashes:], true
}

// splitURL splits the rest of a URL after its scheme (urlParts) into its
// user info, the host and path, and the query, reading it so that
// whatever the server's client could take for a password is in the user
// info or in the query's password parameters:
//   - the user info ends at the last '@' before the first '/' (an '@', a
//     '?' or a '#' of a password unescaped stays in it, as the client
//     reads them), but before the first '?' when an '@' comes before
//     that '?' (then the '?' starts the query, which may hold '@'s of its
//     own: application_name=a@b);
//   - with no '@' before the first '/', at the last '@' of all: a
//     password holding a '/' (a database named with an '@' then shows
//     masked, which errs towards hiding).
func splitURL(rest string) (user, password string, hasPassword bool, host, query string, hasQuery bool) {
	end := len(rest)
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		end = i
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if q := strings.IndexByte(rest[:end], '?'); q >= 0 && strings.LastIndexByte(rest[:q], '@') >= 0 {
		at = strings.LastIndexByte(rest[:q], '@')
	}
	if at >= 0 && strings.Contains(rest[:at], ":") {
		// A password whose '@' and '/' are both unescaped ("u:p@ss/w@h/db"
		// reads as host "ss" and database "w@h/db"): the last '@' before
		// the query ends the user info, which errs towards hiding (such a
		// URL is refused, ErrAtInDatabase, and shown so).
		pathEnd := len(rest)
		if q := strings.IndexByte(rest[at:], '?'); q >= 0 {
			pathEnd = at + q
		}
		if a := strings.LastIndexByte(rest[:pathEnd], '@'); a > at {
			at = a
		}
	}
	if at < 0 {
		// No '@' before the first '/': the user info, if any, holds a '/'
		// (and maybe a '?'), or the '@'s are the path's or the query's.
		// The last '@' errs towards hiding; the query's password
		// parameters are masked apart (secretRanges).
		at = strings.LastIndexByte(rest, '@')
	}
	host = rest
	if at >= 0 {
		user, password, hasPassword = strings.Cut(rest[:at], ":")
		host = rest[at+1:]
	}
	host, query, hasQuery = strings.Cut(host, "?")
	return user, password, hasPassword, host, query, hasQuery
}

func redactKeywords(s string) string {
	return mask(s, keywordPasswords(s))
}

// keywordPasswords are the ranges of the password=… values of a
// keyword/value string s. A bare value runs on over the words after it
// that hold no '=' (`password=my secret dbname=x`, `password="my
// secret"`: only a single quote quotes, so the client refuses such a
// string, and its error would quote the rest of the password).
func keywordPasswords(s string) [][2]int {
	var out [][2]int
	for _, m := range passwordKeyword.FindAllStringSubmatchIndex(s, -1) {
		start, end := m[4], m[5]
		if !strings.HasPrefix(s[start:], "'") {
			for {
				next := strings.TrimLeftFunc(s[end:], unicode.IsSpace)
				word := next
				if i := strings.IndexFunc(word, unicode.IsSpace); i >= 0 {
					word = word[:i]
				}
				if word == "" || len(next) == len(s[end:]) || strings.Contains(word, "=") {
					break
				}
				end = len(s) - len(next) + len(word)
			}
		}
		out = append(out, [2]int{start, end})
	}
	return out
}

// passwordKeyword matches a password=… setting of a keyword/value string,
// with the value bare or single-quoted (quotes may hold spaces and \').
var passwordKeyword = regexp.MustCompile(`(?i)(\b(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'?|(?:[^\s\\]|\\.?)*)`)

// Describe names the server of connURL without secrets, e.g.
// "app@db.example.com:5432/legacy".
func Describe(connURL string) string {
	if unescapedAt(connURL) != nil {
		return Redact(connURL)
	}
	cfg, err := pgconn.ParseConfig(connURL)
	if err != nil {
		return Redact(connURL)
	}
	host := cfg.Host
	if !strings.HasPrefix(host, "/") {
		host = net.JoinHostPort(host, fmt.Sprint(cfg.Port))
	} else {
		host = fmt.Sprintf("%s (port %d)", host, cfg.Port)
	}
	out := fmt.Sprintf("%s@%s/%s", cfg.User, host, cfg.Database)
	for _, pw := range passwords(connURL) {
		if strings.Contains(out, pw) { // read as a host or a database name (an '@' of a query value before it)
			return Redact(connURL)
		}
	}
	return out
}

// Error is a connection failure whose message is safe to print: it names the
// role of the database (source, target), the server, and the cause, and
// never the password.
type Error struct {
	Role   string // "source", "target", …
	Server string // Describe of the URL
	Err    error
	// NoPassword says that the connection offered no password: none in
	// the URL, PGPASSWORD or the password file.
	NoPassword bool
	// secrets are the URL's passwords (passwords), which the message of
	// Err may quote where the client read part of a URL as a host name.
	secrets []string
}

// newError is an *Error of connecting to connURL, the database of role,
// named by server.
func newError(role, connURL, server string, err error) *Error {
	return &Error{Role: role, Server: server, Err: err, secrets: passwords(connURL)}
}

func (e *Error) Error() string {
	cause := e.cause()
	for _, pw := range e.secrets {
		cause = maskIn(cause, pw)
	}
	msg := fmt.Sprintf("connect to %s database %s: %s", e.Role, e.Server, cause)
	if TooManyConnections(e.Err) {
		msg += " (" + TooManyConnectionsHint + ")"
	}
	if code := sqlState(e.Err); code == "28P01" && e.NoPassword {
		msg += " (the server asks this role for a password, and none was given: put it in the URL, in PGPASSWORD or in ~/.pgpass)"
	} else if hint := wrongURL(e.Role, code); hint != "" {
		msg += " (" + hint + ")"
	}
	if hint := unreachable(e.Err); hint != "" {
		msg += " (" + hint + ")"
	}
	return msg
}

// maskIn replaces the password pw in the message msg with "xxxxx":
// everywhere when it has 4 characters or more, and where it stands as a
// word of its own when shorter (masked everywhere, a password "on" would
// mask letters of the message itself).
func maskIn(msg, pw string) string {
	if len(pw) >= 4 {
		return strings.ReplaceAll(msg, pw, "xxxxx")
	}
	if pw == "" {
		return msg
	}
	word := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
	var b strings.Builder
	for {
		i := strings.Index(msg, pw)
		if i < 0 {
			b.WriteString(msg)
			return b.String()
		}
		before, _ := utf8.DecodeLastRuneInString(msg[:i])
		after, _ := utf8.DecodeRuneInString(msg[i+len(pw):])
		b.WriteString(msg[:i])
		if (i == 0 || !word(before)) && (i+len(pw) == len(msg) || !word(after)) {
			b.WriteString("xxxxx")
		} else {
			b.WriteString(pw)
		}
		msg = msg[i+len(pw):]
	}
}

// unreachable says what to check when err is a failure to reach any
// server at the URL's address, "" otherwise. Unlike wrongURL's, these can
// pass (a server that restarts), so they do not make WrongURL true.
func unreachable(err error) string {
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return "no such host: check the URL's host name"
	}
	// Only the dial's own errors: a missing file elsewhere (a client
	// certificate, say) is no missing socket.
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		return ""
	}
	switch {
	case errors.Is(op.Err, syscall.ECONNREFUSED):
		return "nothing accepts connections at that address: check the URL's host and port, and that the server runs (pg_isready -h HOST -p PORT)"
	case errors.Is(op.Err, syscall.ENOENT):
		return "no server listens on that socket: check the URL's host (the socket's directory) and port, and that the server runs (pg_isready -h DIR -p PORT)"
	}
	return ""
}

// wrongURL says what to check of the URL of the role database for each
// SQLSTATE with which a server refuses a connection for what the URL
// says, rather than for a passing condition; "" for any other SQLSTATE.
// Whether there is advice depends on the SQLSTATE alone (see WrongURL);
// what it says may depend on the role: only a target is a database
// created for the cutover, a source is the legacy database itself.
func wrongURL(role, code string) string {
	switch code {
	case "3D000":
		hint := "the server has no database of that name: check the URL's database name"
		switch role {
		case "source":
			hint += "; the source is the legacy database itself, which the cutover reads and never creates nor changes"
		case "target":
			hint += "; a target is an empty database created for the cutover, then given the schema by `cutover schema apply`"
		}
		return hint
	case "28P01":
		return "the server refused the password for that role: check the URL's password, or PGPASSWORD and ~/.pgpass"
	case "28000":
		return "the server has no such role, or its pg_hba.conf refuses this role, database or client address: check the URL's user, or the server's pg_hba.conf"
	}
	return ""
}

// WrongURL reports whether err is a connection refused for what its URL
// says (a database or role the server does not have, a wrong password),
// or a URL that cannot be parsed: running the same command again cannot
// help.
func WrongURL(err error) bool {
	var e *Error
	var parse *pgconn.ParseConfigError
	return errors.As(err, &e) && (wrongURL(e.Role, sqlState(e.Err)) != "" || errors.As(e.Err, &parse) || errors.Is(e.Err, ErrAtInUserInfo) || errors.Is(e.Err, ErrAtInDatabase) || errors.Is(e.Err, ErrAtInQuery))
}

// sqlState is the SQLSTATE of the server error in err, "" when there is none.
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// TooManyConnections reports whether err is a server's refusal of a new
// connection for want of a free slot (SQLSTATE 53300: max_connections, or
// the role's or the database's CONNECTION LIMIT).
func TooManyConnections(err error) bool { return sqlState(err) == "53300" }

// ExplainLimits explains err when a limit of the server stopped a command,
// at whatever step: a connection refused for want of a free slot
// (TooManyConnections), or a limit of the server's configuration (SQLSTATE
// 53400), in practice temp_file_limit under a sort or a hash that spills to
// disk. A refused connection is also told need, the connections the
// command holds (none when need is the zero value). It explains an error
// once, however often it is called on it; other errors are returned as
// they are.
func ExplainLimits(err error, need Connections) error {
	var explained *limitError
	var said *Error
	switch {
	case errors.As(err, &explained):
		return err
	case TooManyConnections(err) && errors.As(err, &said):
		if need.Workers == 0 {
			return err // a refused Connect explains itself
		}
		return &limitError{err, need.String()}
	case TooManyConnections(err):
		hint := TooManyConnectionsHint
		if need.Workers != 0 {
			hint += "; " + need.String()
		}
		return &limitError{err, hint}
	case sqlState(err) == "53400":
		return &limitError{err, "a limit of the server's configuration stopped the statement; temp_file_limit, the room a sort or a hash may take in temporary files, is the usual one for the cutover's large statements: " +
			"lift it for the cutover's role (ALTER ROLE … SET temp_file_limit = -1, as a superuser), then re-run the same command"}
	}
	return err
}

// Connections is the most connections a command holds at once on each
// server, for the number of workers it was given: what a role's or a
// database's CONNECTION LIMIT, and max_connections less the application's
// share, must leave it.
type Connections struct {
	Command        string // what holds them: "a run", "a verification"
	Workers        int    // the command's --workers
	Source, Target int
}

func (c Connections) String() string {
	return fmt.Sprintf("%s with --workers %d holds up to %d connections to the source and %d to the target",
		c.Command, c.Workers, c.Source, c.Target)
}

// limitError is an error ExplainLimits explained.
type limitError struct {
	err  error
	hint string
}

func (e *limitError) Error() string { return e.err.Error() + " (" + e.hint + ")" }
func (e *limitError) Unwrap() error { return e.err }

// TooManyConnectionsHint says what to do about TooManyConnections.
const TooManyConnectionsHint = "the server has no connection left for this role or database: " +
	"lower --workers (each worker holds a connection to each server, and a command a few more of its own), " +
	"or raise max_connections or the role's or the database's CONNECTION LIMIT; re-running the same command is safe"

func (e *Error) Unwrap() error { return e.Err }

// ConnectFailed is err, a failure to connect to the role database at
// connURL, as an *Error; a refusal of the session's start-up parameters
// is a *PoolerError within it.
func ConnectFailed(role, connURL string, err error) *Error {
	e := newError(role, connURL, Describe(connURL), pooled(err))
	if cfg, perr := pgconn.ParseConfig(connURL); perr == nil && cfg.Password == "" { // ParseConfig reads PGPASSWORD and the password file
		e.NoPassword = true
	}
	return e
}

func (e *Error) cause() string {
	var pe *PoolerError
	if errors.As(e.Err, &pe) {
		return pe.Error()
	}
	return connectCause(e.Err)
}

// shapeHint says what makes connString no postgres:// URL where it holds
// one: a space or a quote around it (pasted from an environment file), or
// another scheme; "" otherwise.
func shapeHint(connString string) string {
	m := schemeLike.FindStringSubmatch(connString)
	if m == nil {
		return ""
	}
	scheme := m[1]
	switch trimmed := strings.Trim(scheme, " \t\r\n\"'`"); {
	case trimmed != scheme && (strings.EqualFold(trimmed, "postgres") || strings.EqualFold(trimmed, "postgresql")):
		return "it begins with a space or a quote: give the URL without them"
	case !strings.EqualFold(scheme, "postgres") && !strings.EqualFold(scheme, "postgresql"):
		return "its scheme is not postgres:// or postgresql://"
	}
	return ""
}

// schemeLike matches a string that begins, after spaces and quotes, with
// a URL's scheme and "://".
var schemeLike = regexp.MustCompile("^([ \t\r\n\"'`]*[A-Za-z][A-Za-z0-9+.:-]*)://")

// connectCause is the cause of a failed connection on one line.
func connectCause(err error) string {
	// pgconn's ConnectError repeats the config; its inner error is the cause.
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && ce.Unwrap() != nil {
		err = ce.Unwrap()
	}
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		msg := "the URL cannot be parsed: " + parseReason(pe)
		if hint := shapeHint(pe.ConnString); hint != "" {
			msg += " (" + hint + ")"
		}
		return msg
	}
	// One line; pgconn joins the errors of its attempts (e.g. with and
	// without TLS) with newlines, and they are often the same.
	var lines []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" && !slices.Contains(lines, l) {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "; ")
}

// parseReason is why pgconn could not parse a connection string ("invalid
// port", "unknown target_session_attrs value: bogus"), without the
// string: pgconn's own message quotes it with its passwords masked only
// as best it can, and the Error that says the reason names the server
// already (Redact). Any password of the string that the reason still
// holds is masked as Redact masks it.
func parseReason(pe *pgconn.ParseConfigError) string {
	bare := *pe
	bare.ConnString = ""
	reason := bare.Error()
	// pgconn writes "cannot parse `STRING`: REASON"; should that change,
	// the whole message stands, masked below all the same.
	if r, ok := strings.CutPrefix(reason, "cannot parse ``: "); ok {
		reason = r
	}
	pws := passwords(pe.ConnString)
	for _, pw := range pws {
		reason = strings.ReplaceAll(reason, pw, "xxxxx")
	}
	// A piece of the string the reason quotes may hold part of a password
	// (a query parameter read from inside one): such a piece goes.
	return quoted.ReplaceAllStringFunc(reason, func(q string) string {
		for _, pw := range pws {
			for i := 0; i+4 <= len(pw); i++ {
				if strings.Contains(q, pw[i:i+4]) {
					return `"…"`
				}
			}
		}
		return q
	})
}

// quoted finds the double-quoted pieces of a message.
var quoted = regexp.MustCompile(`"[^"]*"`)

// passwords returns every password connString may hold, as written and
// unescaped: a URL's where Redact masks (secretRanges), or a
// keyword/value string's password=… values. Like Redact, it errs
// towards too many.
func passwords(connString string) []string {
	var raw []string
	if _, rest, isURL := urlParts(connString); isURL {
		for _, r := range secretRanges(rest) {
			raw = append(raw, rest[r[0]:r[1]])
		}
	} else {
		raw = otherPasswords(connString)
	}
	// A value that runs on past a space or an '&' (keywordPasswords,
	// valueEnd) the client splits there, and sends the pieces after the
	// first as parameters' names, which a server's error may quote.
	for _, pw := range raw {
		if strings.ContainsAny(pw, " \t\n&") {
			raw = append(raw, strings.FieldsFunc(pw, func(r rune) bool { return r == '&' || unicode.IsSpace(r) })...)
		}
	}
	var pws []string
	for _, pw := range raw {
		for _, v := range []string{pw, unescape(url.PathUnescape, pw), unescape(url.QueryUnescape, pw)} {
			if v != "" && !slices.Contains(pws, v) {
				pws = append(pws, v)
			}
		}
	}
	// The longest first: a password that holds another is masked whole.
	slices.SortFunc(pws, func(a, b string) int { return len(b) - len(a) })
	return pws
}

func unescape(f func(string) (string, error), s string) string {
	if u, err := f(s); err == nil {
		return u
	}
	return ""
}

// ErrAtInUserInfo refuses a URL whose user info the server's client would
// read otherwise than it was meant: with an '@' of a password unescaped,
// the client takes what follows the first '@' as the host, so part of the
// password would be dialled, and shown in the errors, as a host name. (A
// '/' of a password with no '@' before it is read as the end of a port
// and the start of the database, which a database named with an '@'
// cannot be told from: not refused, see unescapedAt; after an '@', see
// ErrAtInDatabase.)
var ErrAtInUserInfo = errors.New("the URL cannot be parsed: its user info holds an '@' unescaped; write an '@' of the password (or of the user name) as %40 (and a '/' as %2F)")

// ErrAtInDatabase refuses a URL with a password whose database name holds
// an '@': what a password's '@' and '/' left unescaped read as
// ("u:p@ss/w@h/db": host "ss", database "w@h/db"), which would dial part
// of the password as a host and show it in the errors. A database named
// with an '@' is written with %40 in such a URL.
var ErrAtInDatabase = errors.New("the URL cannot be parsed safely: it has a password, and its database name holds an '@', as when an '@' and a '/' of the password are left unescaped; write an '@' of the password as %40 and a '/' as %2F (and an '@' of a database name as %40)")

// ErrAtInQuery refuses a URL with no database path whose query holds an
// '@' ("postgres://h?password=Pass@word"): the server's client reads the
// text up to that '@' as the user info, and what follows as the host, so
// it would dial part of the query's password as a host and show it in the
// errors.
var ErrAtInQuery = errors.New("the URL cannot be parsed safely: its query holds an '@' and no '/' (the database path) comes before it, so the server's client would read up to that '@' as a user name and password and the rest as the host; write the '@' as %40, or give the database (postgres://host/db?…)")

// queryInUserInfo matches user info that is a host, maybe a port, and
// the start of a query (a '?', a parameter's name and an '='): not a user
// name and a password, which may hold "?x=" of its own ("u:p?x=1@h/db" is
// user u, password "p?x=1"). Only a password of digits alone before its
// '?' cannot be told from a port.
var queryInUserInfo = regexp.MustCompile(`^(?:\[[^\]]*\]|[^:@/?\[]*)(?::[0-9]*)?\?[A-Za-z_]+=`)

// unescapedAt refuses a postgres:// URL that the server's client would
// read with part of its password as the host (ErrAtInUserInfo,
// ErrAtInDatabase, ErrAtInQuery), and returns nil for any other:
//   - its user info ends at the first '@' before the first '/', and the
//     host runs from there to the first '?', so an '@' in that host is
//     one of the password's;
//   - with a password in the user info, an '@' in the database name (up
//     to the first '?') is one of the password's too, unless escaped;
//   - user info that is a host (maybe with a port) followed by a '?', a
//     name and an '=' is a query the '@' of a value ended.
//
// (A '/' of a password with no '@' before it cannot be told from a port
// and a database named with an '@': such a URL is not refused, and its
// password is masked wherever it shows.)
func unescapedAt(connURL string) error {
	_, rest, isURL := urlParts(connURL)
	if !isURL {
		return nil
	}
	authority, path, _ := strings.Cut(rest, "/")
	userInfo, host, found := strings.Cut(authority, "@")
	if !found {
		return nil
	}
	if queryInUserInfo.MatchString(userInfo) {
		return ErrAtInQuery
	}
	if host, _, _ = strings.Cut(host, "?"); strings.Contains(host, "@") {
		return ErrAtInUserInfo
	}
	if path, _, _ = strings.Cut(path, "?"); strings.Contains(userInfo, ":") && strings.Contains(path, "@") {
		return ErrAtInDatabase
	}
	return nil
}

// ParseConfig parses connURL for a pool, wrapping errors as *Error.
func ParseConfig(role, connURL string) (*pgxpool.Config, error) {
	if err := unescapedAt(connURL); err != nil {
		return nil, newError(role, connURL, Redact(connURL), err)
	}
	cfg, err := pgxpool.ParseConfig(connURL)
	if err != nil {
		return nil, newError(role, connURL, Redact(connURL), err)
	}
	return cfg, nil
}

// noTimeouts are the timeouts a production server often sets for its
// database or role (ALTER DATABASE … SET statement_timeout = '30s') against
// runaway application queries. Left on, they stop the cutover's own work,
// and every re-run at the same place: a batch's COPY or an index build
// that outlasts statement_timeout (57014); the source transaction that
// holds the run's snapshot, idle while the readers copy, ended by
// idle_in_transaction_session_timeout (the readers' imports then fail
// with "invalid snapshot identifier"); a lock wait that outlasts
// lock_timeout (55P03). idle_session_timeout (PostgreSQL 14+, see
// StartSessions) would end the session that holds the run lock while
// the others work.
var noTimeouts = []Setting{{"statement_timeout", "0"}, {"lock_timeout", "0"}, {"idle_in_transaction_session_timeout", "0"}}

// pinned are session settings a database or role may set that the
// cutover's work cannot run under; every session starts with these values
// instead, unless the URL sets its own:
//   - search_path public, where the legacy tables and the target's live.
//     An empty one (set by ALTER DATABASE, a hardening against
//     CVE-2018-1058) left the target schema's migrations nowhere to create
//     their tables ("no schema has been selected to create in", 3F000).
//   - default_transaction_isolation read committed. Under serializable,
//     the run's mappings, applied side by side, failed each other with
//     serialization failures (40001), and so would every re-run.
//     Statements that need a snapshot (the extract, verify) begin their
//     transactions with an isolation level of their own.
//   - row_security off. A table with row-level security that applies to
//     the role hid the rows its policies filter from every read, the
//     counts of the conservation law included, so a run lost them and
//     said that everything was accounted for. Off, such a read fails
//     (42501) instead, as pg_dump's do; extract.Detect names the tables
//     before that (extract.RowSecurityError).
var pinned = []Setting{{"search_path", "public"}, {"default_transaction_isolation", "read committed"}, {"row_security", "off"}}

// StartSessions makes the sessions of cfg start without the server's
// timeouts (noTimeouts, and idle_session_timeout from PostgreSQL 14) and
// with the pinned settings, except those the URL sets itself (a
// statement_timeout=… parameter of the URL wins, and so does an
// options=-c statement_timeout=… one). Every connection of the
// cutover goes through it. A session that does not show the values asked
// for, or runs in another server process than the one its connection was
// told of, fails to connect with a *PoolerError: something between the
// cutover and the server (a pooler) dropped them, or hands sessions out.
func StartSessions(cfg *pgconn.Config) {
	var asked []string
	inOptions := optionSettings(cfg.RuntimeParams["options"])
	for _, s := range append(slices.Clone(noTimeouts), pinned...) {
		if _, set := paramKey(cfg.RuntimeParams, s.Name); !set && !inOptions[s.Name] {
			cfg.RuntimeParams[s.Name] = s.Value
			asked = append(asked, s.Name)
		}
	}
	params := cfg.RuntimeParams // what a command sets after (Connect's settings) is checked too
	_, idleSet := paramKey(cfg.RuntimeParams, "idle_session_timeout")
	idleSet = idleSet || inOptions["idle_session_timeout"]
	after := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, c *pgconn.PgConn) error {
		if after != nil {
			if err := after(ctx, c); err != nil {
				return err
			}
		}
		// idle_session_timeout is not a start-up parameter: a server
		// before 14 refuses the connection for a setting it does not
		// know. Set by the first statement, it does not save a session
		// from a server that ends sessions idle for less than the moment
		// before that statement (real ones count in minutes).
		stmt := ""
		if !idleSet && serverMajor(c) >= 14 {
			stmt = "SET idle_session_timeout = 0"
		}
		want := make([]Setting, len(asked))
		for i, name := range asked {
			want[i] = Setting{name, params[name]}
		}
		return checkStarted(ctx, c, stmt, want)
	}
}

// optionSettings returns the names of the settings that options, the
// start-up parameter of command-line switches (a URL's
// options=-c name=value), sets: "-c name=value", "-cname=value" and
// "--name=value", split at white space that no backslash escapes, as the
// server splits them. The server applies these before the other start-up
// parameters, so a setting the cutover pinned beside them would win.
func optionSettings(options string) map[string]bool {
	var args []string
	var arg strings.Builder
	escaped, inArg := false, false
	for _, r := range options {
		switch {
		case escaped:
			arg.WriteRune(r)
			escaped, inArg = false, true
		case r == '\\':
			escaped, inArg = true, true
		case unicode.IsSpace(r):
			if inArg {
				args = append(args, arg.String())
				arg.Reset()
				inArg = false
			}
		default:
			arg.WriteRune(r)
			inArg = true
		}
	}
	if inArg {
		args = append(args, arg.String())
	}
	set := map[string]bool{}
	for i := 0; i < len(args); i++ {
		var setting string
		switch a := args[i]; {
		case a == "-c" && i+1 < len(args):
			i++
			setting = args[i]
		case strings.HasPrefix(a, "--"):
			setting = a[2:]
		case strings.HasPrefix(a, "-c"):
			setting = a[2:]
		default:
			continue
		}
		if name, _, ok := strings.Cut(setting, "="); ok {
			set[strings.ReplaceAll(strings.ToLower(name), "-", "_")] = true
		}
	}
	return set
}

// serverMajor is the major version the server reported, 0 when it cannot
// be read.
func serverMajor(c *pgconn.PgConn) int { return majorVersion(c.ParameterStatus("server_version")) }

// ServerVersionNum reads the server_version_num of q's server (150004 for
// 15.4).
func ServerVersionNum(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (int, error) {
	var num int
	err := q.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&num)
	return num, err
}

// VersionName names a server_version_num as PostgreSQL does: 130012 is
// 13.12, 140000 is 14 (before 10, 90624 is 9.6.24).
func VersionName(num int) string {
	major, minor := num/10000, num%10000
	if major < 10 {
		return fmt.Sprintf("%d.%d.%d", major, minor/100, minor%100)
	}
	if minor == 0 {
		return fmt.Sprint(major)
	}
	return fmt.Sprintf("%d.%d", major, minor)
}

// majorVersion reads the major version of a server_version ("15.4 (Debian
// 15.4-1)" → 15, "14beta1" → 14), 0 when there is none.
func majorVersion(v string) int {
	end := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	if end >= 0 {
		v = v[:end]
	}
	n, _ := strconv.Atoi(v)
	return n
}

// Connect opens one connection, starting with settings and without the
// server's timeouts (StartSessions), and checks it, wrapping errors as
// *Error.
func Connect(ctx context.Context, role, connURL string, settings ...Setting) (*pgx.Conn, error) {
	if err := unescapedAt(connURL); err != nil {
		return nil, newError(role, connURL, Redact(connURL), err)
	}
	cfg, err := pgx.ParseConfig(connURL)
	if err != nil {
		return nil, newError(role, connURL, Redact(connURL), err)
	}
	StartSessions(&cfg.Config)
	apply(cfg.RuntimeParams, settings) // a pinned setting given here too is checked with its value (a search_path of its own)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, ConnectFailed(role, connURL, err)
	}
	return conn, nil
}

// Setting is a server parameter every connection of a pool starts with.
type Setting struct{ Name, Value string }

// AppName names the sessions as pg_stat_activity shows them
// (application_name), unless the URL names them itself.
func AppName(name string) Setting { return Setting{Name: "application_name", Value: name} }

// apply sets settings on params, the URL's parameters: the URL's
// application_name wins over AppName.
func apply(params map[string]string, settings []Setting) {
	_, named := paramKey(params, "application_name")
	for _, s := range settings {
		if s.Name == "application_name" && named {
			continue
		}
		SetParam(params, s.Name, s.Value)
	}
}

// paramKey returns the key of params, a connection's start-up parameters,
// that names the setting name in any letter case (a URL may spell it
// TimeZone, or timezone), and whether there is one.
func paramKey(params map[string]string, name string) (string, bool) {
	for k := range params {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

// SetParam sets the start-up parameter name to value in params, dropping
// every other spelling of it first: the server applies the parameters in
// the order they come, which for a map is random, so a URL's TimeZone
// beside a timezone set here would win at random.
func SetParam(params map[string]string, name, value string) {
	for k := range params {
		if strings.EqualFold(k, name) {
			delete(params, k)
		}
	}
	params[name] = value
}

// NoJIT turns JIT compilation off: the cutover's set-based statements have
// large cost estimates, so the planner compiles them, and compiling often
// costs more than the statement saves.
var NoJIT = Setting{"jit", "off"}

// TextFormat fixes how a session writes values as text, whatever the
// server, database, role or URL sets: timestamps with time zone in UTC, ISO
// dates, intervals in the postgres style, bytea in hex, floats in their
// shortest exact form. A run writes the rows it archives and rejects as
// to_jsonb of the legacy row, whose timestamps carry the session's offset
// and whose intervals, bytea and floats follow these settings; verify
// computes the same JSON from the source to compare them, so both must
// render alike (the rows are "kept verbatim", MAPPING.md). Set last, they
// replace the URL's own values, in whatever letter case it spells them
// (see Pool, SetParam).
var TextFormat = []Setting{{"timezone", "UTC"}, {"datestyle", "ISO, MDY"}, {"intervalstyle", "postgres"},
	{"bytea_output", "hex"}, {"extra_float_digits", "1"}}

// NoParallelQuery keeps each statement in its own backend. The cutover
// already reads with one connection per worker, each scanning its own
// batch; parallel workers on top of them compete for the same CPUs (a
// no-op at 1M on two CPUs: 1.15-1.20 s without them, 1.26-1.32 s with).
var NoParallelQuery = Setting{"max_parallel_workers_per_gather", "0"}

// Pool opens a pool of at most maxConns connections, each starting with
// settings and without the server's timeouts (StartSessions), and checks
// that the server answers, wrapping errors as *Error.
func Pool(ctx context.Context, role, connURL string, maxConns int32, settings ...Setting) (*pgxpool.Pool, error) {
	cfg, err := ParseConfig(role, connURL)
	if err != nil {
		return nil, err
	}
	StartSessions(&cfg.ConnConfig.Config)
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	apply(cfg.ConnConfig.RuntimeParams, settings)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, newError(role, connURL, Describe(connURL), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, ConnectFailed(role, connURL, err)
	}
	return pool, nil
}

// SameDatabaseError refuses a source and a target that are one database
// (the same URL given twice, say).
type SameDatabaseError struct{ Database string }

func (e *SameDatabaseError) Error() string {
	return "the source and the target are the same database (" + e.Database + "): the source is the legacy database, which cutover only reads; " +
		"the target is another database, with the target schema applied (`cutover schema apply --target …`)"
}

// Identity names the database conn is connected to: the same for any two
// connections to one database of one running server (the server's start
// time and the database's oid), different otherwise.
func Identity(ctx context.Context, conn *pgx.Conn) (string, error) {
	var id string
	err := conn.QueryRow(ctx, `SELECT pg_postmaster_start_time()::text || '/' || oid::text FROM pg_database WHERE datname = current_database()`).Scan(&id)
	return id, err
}

// DatabaseID names the database conn is connected to for longer than
// Identity does: the cluster's system identifier and the database's oid,
// which outlive server restarts. A database restored from a dump, created
// anew or in another cluster has another; a physical standby, or a clone by
// base backup, has its primary's. It returns "" when the role may not read
// the cluster's identity (pg_control_system, which hardened servers revoke
// from PUBLIC); it asks the catalog first, so that such a server logs no
// error.
func DatabaseID(ctx context.Context, conn *pgx.Conn) (string, error) {
	var may bool
	if err := conn.QueryRow(ctx, `SELECT has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')`).Scan(&may); err != nil || !may {
		return "", err
	}
	var id string
	err := conn.QueryRow(ctx, `SELECT (SELECT system_identifier FROM pg_control_system())::text || '/' || oid::text
		FROM pg_database WHERE datname = current_database()`).Scan(&id)
	return id, err
}
