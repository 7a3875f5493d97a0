package extract

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/bits"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// The batch checksum is taken from the rows as they cross, in PostgreSQL's
// binary COPY format: a header (an 11-byte signature, a flags word and an
// extension area), then one tuple after another (a field count, and each
// field as a 4-byte length, -1 for NULL, and its bytes), then a trailer
// (a field count of -1). rowStream parses that stream as it is written,
// whatever the chunks it comes in, and hashes each tuple's bytes. Reading
// the rows once for the stage and the checksum alike is what lets a first
// run skip the separate checksum pass over the source.

// copySignature opens every binary COPY stream.
var copySignature = []byte("PGCOPY\n\377\r\n\x00")

// rowStream is an io.Writer over a binary COPY stream. It counts and
// hashes the tuples and passes the stream on to out (nil: nowhere). With
// fingerprinted set, each tuple's first field is the row version's hash
// (hashtidextended of its ctid and xmin, an 8-byte integer): it is summed
// for the fingerprint and cut from the tuple before the tuple is hashed
// and passed on, so out receives the table's columns only.
type rowStream struct {
	out           io.Writer
	fingerprinted bool

	pending []byte // the start of a tuple (or of the header) not yet whole
	header  bool   // the header has been read
	ended   bool   // the trailer has been read

	rows    int64
	content uint64 // the sum of the tuples' hashes, modulo 2^64
	tids    sum128 // the sum of the row versions' hashes
	count   [2]byte
}

// Write parses p, after whatever an earlier Write left unfinished.
func (r *rowStream) Write(p []byte) (int, error) {
	data := p
	if len(r.pending) > 0 {
		r.pending = append(r.pending, p...)
		data = r.pending
	}
	used, err := r.parse(data)
	if err != nil {
		return 0, err
	}
	rest := data[used:]
	if len(r.pending) > 0 {
		r.pending = r.pending[:copy(r.pending, rest)]
	} else {
		r.pending = append(r.pending[:0], rest...)
	}
	return len(p), nil
}

// errCopyFormat is a stream that is not binary COPY as rowStream knows it.
var errCopyFormat = errors.New("not a binary COPY stream")

// parse reads the whole tuples (and the header and trailer) at the start
// of data and returns how many bytes they took.
func (r *rowStream) parse(data []byte) (int, error) {
	used := 0
	if !r.header {
		if len(data) < len(copySignature)+8 {
			return 0, nil
		}
		if !bytes.Equal(data[:len(copySignature)], copySignature) {
			return 0, fmt.Errorf("%w: no signature", errCopyFormat)
		}
		ext := int(binary.BigEndian.Uint32(data[len(copySignature)+4:]))
		n := len(copySignature) + 8 + ext
		if len(data) < n {
			return 0, nil
		}
		if err := r.pass(data[:n]); err != nil {
			return 0, err
		}
		r.header, used = true, n
	}
	for used < len(data) {
		if r.ended {
			return 0, fmt.Errorf("%w: bytes after the trailer", errCopyFormat)
		}
		t := data[used:]
		if len(t) < 2 {
			break
		}
		fields := int16(binary.BigEndian.Uint16(t))
		if fields == -1 {
			if err := r.pass(t[:2]); err != nil {
				return 0, err
			}
			r.ended, used = true, used+2
			continue
		}
		if fields < 0 || r.fingerprinted && fields < 1 {
			return 0, fmt.Errorf("%w: a tuple of %d fields", errCopyFormat, fields)
		}
		end, whole := 2, true
		for range fields {
			if len(t) < end+4 {
				whole = false
				break
			}
			n := int(int32(binary.BigEndian.Uint32(t[end:])))
			end += 4 + max(n, 0)
			if len(t) < end {
				whole = false
				break
			}
		}
		if !whole {
			break
		}
		if err := r.tuple(t[:end], fields); err != nil {
			return 0, err
		}
		used += end
	}
	return used, nil
}

// tuple takes one whole tuple of fields fields.
func (r *rowStream) tuple(t []byte, fields int16) error {
	body := t[2:]
	if r.fingerprinted {
		if len(body) < 12 || int32(binary.BigEndian.Uint32(body)) != 8 {
			return fmt.Errorf("%w: the row version's hash is not 8 bytes", errCopyFormat)
		}
		r.tids.add(int64(binary.BigEndian.Uint64(body[4:12])))
		body, fields = body[12:], fields-1
	}
	r.rows++
	r.content += xxhash.Sum64(body)
	if r.out == nil {
		return nil
	}
	if !r.fingerprinted {
		return r.pass(t)
	}
	binary.BigEndian.PutUint16(r.count[:], uint16(fields))
	if err := r.pass(r.count[:]); err != nil {
		return err
	}
	return r.pass(body)
}

func (r *rowStream) pass(b []byte) error {
	if r.out == nil {
		return nil
	}
	_, err := r.out.Write(b)
	return err
}

// finish reports a stream that stopped short of its trailer.
func (r *rowStream) finish() error {
	if !r.ended || len(r.pending) > 0 {
		return fmt.Errorf("%w: it ended inside a tuple or before its trailer", errCopyFormat)
	}
	return nil
}

// checksum returns the batch's checksum; identity is the cluster and file
// the fingerprint names (nil: no fingerprint).
func (r *rowStream) checksum(identity *string) Checksum {
	c := Checksum{Rows: r.rows, Hash: fmt.Sprintf("%s%016x", streamHash, r.content)}
	if r.fingerprinted {
		c.Fingerprint = fingerprint(r.rows, r.tids.String(), identity)
	}
	return c
}

// streamHash prefixes a content hash taken from the binary COPY stream.
// Checksums recorded by earlier builds (hashed on the server, "r:" and
// "t:") never compare equal to one, so a batch such a build recorded is
// counted as changed once, when its row versions changed too.
const streamHash = "b:"

// sum128 is a signed 128-bit sum of 64-bit integers: PostgreSQL's sum of
// bigints is a numeric and never overflows, and the fingerprint repeats its
// text (FingerprintBatch).
type sum128 struct {
	hi int64
	lo uint64
}

func (s *sum128) add(v int64) {
	lo, carry := bits.Add64(s.lo, uint64(v), 0)
	s.lo, s.hi = lo, s.hi+int64(carry)+v>>63
}

func (s sum128) String() string {
	b := big.NewInt(s.hi)
	b.Lsh(b, 64)
	return b.Add(b, new(big.Int).SetUint64(s.lo)).String()
}

// TableContent adds up the checksums of the batches of one table into the
// table's: its rows and the sum of their content hashes (each a sum of row
// hashes, so the total does not depend on how the rows fell into batches;
// batches are page ranges, and a table rewritten with the same rows has
// them on other pages). It returns false when a checksum was not taken
// from the stream (an earlier build's).
func TableContent(cs []Checksum) (Checksum, bool) {
	var total Checksum
	var sum uint64
	for _, c := range cs {
		h, ok := strings.CutPrefix(c.Hash, streamHash)
		if !ok {
			return Checksum{}, false
		}
		v, err := strconv.ParseUint(h, 16, 64)
		if err != nil {
			return Checksum{}, false
		}
		total.Rows += c.Rows
		sum += v
	}
	total.Hash = fmt.Sprintf("%s%016x", streamHash, sum)
	return total, true
}
