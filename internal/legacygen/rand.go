package legacygen

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// uid is a UUID as pgx encodes it for a uuid column.
type uid = [16]byte

func uidString(u uid) string { return uuid.UUID(u).String() }

// rnd is a PCG stream with the helpers the generators use.
type rnd struct{ *rand.Rand }

// rng returns the stream for (seed, name, k): the same triple always gives
// the same values, whatever else was generated before.
func (g *gen) rng(name string, k int) rnd {
	h := fnv64(name)
	return rnd{rand.New(rand.NewPCG(g.seed^h, uint64(k)*0x9E3779B97F4A7C15^(h>>7)))}
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// uid draws a random (version 4) UUID.
func (r rnd) uid() uid {
	var u uid
	binary.LittleEndian.PutUint64(u[:8], r.Uint64())
	binary.LittleEndian.PutUint64(u[8:], r.Uint64())
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// n returns a uniform int in [a, b].
func (r rnd) n(a, b int) int {
	if b <= a {
		return a
	}
	return a + r.IntN(b-a+1)
}

// p is true with probability prob.
func (r rnd) p(prob float64) bool { return r.Float64() < prob }

// count draws a count with the given mean (spread ±50 %, rounded at random).
func (r rnd) count(mean float64) int {
	if mean <= 0 {
		return 0
	}
	x := mean * (0.5 + r.Float64())
	n := int(x)
	if r.Float64() < x-float64(n) {
		n++
	}
	return n
}

func pick[T any](r rnd, xs []T) T { return xs[r.IntN(len(xs))] }

// at returns a time in [from, to) with microsecond precision.
func (r rnd) at(from, to time.Time) time.Time {
	d := to.Sub(from).Microseconds()
	if d <= 0 {
		return from
	}
	return from.Add(time.Duration(r.Int64N(d)) * time.Microsecond)
}

// after returns a time in [t, t+d) with microsecond precision.
func (r rnd) after(t time.Time, d time.Duration) time.Time { return r.at(t, t.Add(d)) }

func (r rnd) hex(nbytes int) string {
	b := make([]byte, nbytes)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return hex.EncodeToString(b)
}

func (r rnd) ip() netip.Addr {
	if r.p(0.2) {
		var b [16]byte
		b[0], b[1] = 0x20, 0x01
		for i := 2; i < 16; i++ {
			b[i] = byte(r.Uint32())
		}
		return netip.AddrFrom16(b)
	}
	return netip.AddrFrom4([4]byte{byte(r.n(1, 223)), byte(r.Uint32()), byte(r.Uint32()), byte(r.n(1, 254))})
}

// day truncates t to its UTC date.
func day(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }

// opt returns v, or nil (SQL NULL) with probability pNull.
func (r rnd) opt(pNull float64, v any) any {
	if r.p(pNull) {
		return nil
	}
	return v
}

// orNil turns a zero time into NULL.
func orNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func idOrNil(u uid) any {
	if u == (uid{}) {
		return nil
	}
	return u
}

var (
	infinity    = pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true}
	farPast     = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	epochZero   = time.Unix(0, 0).UTC()
	farFuture   = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
	year2099    = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	installedAt = time.Date(2019, 1, 7, 9, 30, 0, 0, time.UTC) // the legacy migrations ran
)

// round2 rounds to two decimals (numeric(3,2)).
func round2(f float64) float64 { return math.Round(f*100) / 100 }
