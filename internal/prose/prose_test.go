package prose

import "testing"

func TestList(t *testing.T) {
	for _, c := range []struct {
		items []string
		most  int
		want  string
	}{
		{nil, 3, ""},
		{[]string{"users"}, 3, "users"},
		{[]string{"a", "b", "c"}, 3, "a, b, c"},
		{[]string{"a", "b", "c", "d", "e"}, 3, "a, b, c and 2 more"},
	} {
		if got := List(c.items, c.most); got != c.want {
			t.Errorf("List(%q, %d) = %q, want %q", c.items, c.most, got, c.want)
		}
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0 batches", 1: "1 batch", 12: "12 batches"} {
		if got := Count(n, "batch", "batches"); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPlural(t *testing.T) {
	for n, want := range map[int64]string{0: "rows", 1: "row", 2: "rows"} {
		if got := Plural(n, "row", "rows"); got != want {
			t.Errorf("Plural(%d) = %q, want %q", n, got, want)
		}
	}
}
