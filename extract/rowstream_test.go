package extract

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// copyStream builds a binary COPY stream: the header (with an extension
// area), one tuple per row (a nil field is NULL), and the trailer.
func copyStream(rows [][][]byte) []byte {
	var b bytes.Buffer
	b.Write(copySignature)
	binary.Write(&b, binary.BigEndian, int32(0))
	binary.Write(&b, binary.BigEndian, int32(3))
	b.WriteString("ext")
	for _, row := range rows {
		binary.Write(&b, binary.BigEndian, int16(len(row)))
		for _, f := range row {
			if f == nil {
				binary.Write(&b, binary.BigEndian, int32(-1))
				continue
			}
			binary.Write(&b, binary.BigEndian, int32(len(f)))
			b.Write(f)
		}
	}
	binary.Write(&b, binary.BigEndian, int16(-1))
	return b.Bytes()
}

func int8Field(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

// TestRowStream checks the stream parser behind StageBatch: whatever the
// chunks the stream arrives in, it passes on the stream with each row
// version's hash cut out, counts the rows, sums the hashes as PostgreSQL's
// numeric sum does (past 64 bits, and negative), and hashes the rows as a
// stream without the hashes does.
func TestRowStream(t *testing.T) {
	wide := bytes.Repeat([]byte("w"), 70000)
	rows := [][][]byte{
		{[]byte("a"), nil, []byte("")},
		{wide, []byte("b"), nil},
		{[]byte("c"), []byte("d"), []byte("e")},
	}
	hashes := []int64{math.MaxInt64, math.MaxInt64, -5}
	var fingerprinted [][][]byte
	for i, r := range rows {
		fingerprinted = append(fingerprinted, append([][]byte{int8Field(hashes[i])}, r...))
	}
	in, want := copyStream(fingerprinted), copyStream(rows)

	var plain bytes.Buffer
	bare := &rowStream{out: &plain}
	if _, err := bare.Write(want); err != nil {
		t.Fatal(err)
	}
	if err := bare.finish(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(plain.Bytes(), want) {
		t.Fatal("a stream without row version hashes was not passed on as it came")
	}
	identity := "7/16384"
	for _, chunk := range []int{1, 2, 3, 7, 19, 64 << 10, len(in)} {
		var out bytes.Buffer
		r := &rowStream{out: &out, fingerprinted: true}
		for p := in; len(p) > 0; {
			n := min(chunk, len(p))
			if _, err := r.Write(p[:n]); err != nil {
				t.Fatalf("chunks of %d: %v", chunk, err)
			}
			p = p[n:]
		}
		if err := r.finish(); err != nil {
			t.Fatalf("chunks of %d: %v", chunk, err)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("chunks of %d: the stream passed on is not the rows without their hashes", chunk)
		}
		got := r.checksum(&identity)
		wantSum := Checksum{Rows: 3, Hash: bare.checksum(nil).Hash, Fingerprint: "f:7/16384:3:18446744073709551609"}
		if diff := cmp.Diff(wantSum, got); diff != "" {
			t.Errorf("chunks of %d: checksum (-want +got):\n%s", chunk, diff)
		}
	}
	// Another row's content, or the same rows in another order.
	other := copyStream([][][]byte{rows[0], rows[1], {[]byte("c"), []byte("d"), []byte("f")}})
	reordered := copyStream([][][]byte{rows[2], rows[0], rows[1]})
	sumOf := func(stream []byte) Checksum {
		r := &rowStream{}
		if _, err := r.Write(stream); err != nil {
			t.Fatal(err)
		}
		return r.checksum(nil)
	}
	if sumOf(other) == sumOf(want) {
		t.Error("a changed field left the checksum as it was")
	}
	if sumOf(reordered) != sumOf(want) {
		t.Error("the checksum depends on the rows' order")
	}
}

// TestRowStreamRejects: a stream that is not binary COPY, or that ends
// inside a tuple, is an error, not a checksum.
func TestRowStreamRejects(t *testing.T) {
	good := copyStream([][][]byte{{int8Field(1), []byte("x")}})
	for _, tc := range []struct {
		name   string
		stream []byte
		fp     bool
	}{
		{"text COPY", []byte("a\tb\n\\.\n......................"), false},
		{"cut inside a tuple", good[:len(good)-4], true},
		{"no trailer", good[:len(good)-2], true},
		{"bytes after the trailer", append(bytes.Clone(good), 0, 1), true},
		{"a row version hash of 4 bytes", copyStream([][][]byte{{[]byte("abcd"), []byte("x")}}), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &rowStream{fingerprinted: tc.fp}
			_, err := r.Write(tc.stream)
			if err == nil {
				err = r.finish()
			}
			if !errors.Is(err, errCopyFormat) {
				t.Errorf("got %v, want errCopyFormat", err)
			}
		})
	}
}
