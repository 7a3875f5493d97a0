package reconcile

import "testing"

// TestKeyTallies: tallies add up across reasons, tell a swapped key from
// the right one at equal counts, and refuse a sum that is no integer.
func TestKeyTallies(t *testing.T) {
	huge := "18446744073709551615" // beyond int64: sums are numeric
	cases := []struct {
		name  string
		a, b  [][2]any // (n, sum) added to each side
		equal bool
	}{
		{"the same keys, split otherwise", [][2]any{{int64(2), huge}, {int64(1), "-5"}}, [][2]any{{int64(3), "18446744073709551610"}}, true},
		{"as many keys, other sums", [][2]any{{int64(2), "10"}}, [][2]any{{int64(2), "11"}}, false},
		{"other counts, equal sums", [][2]any{{int64(2), "10"}}, [][2]any{{int64(3), "10"}}, false},
		{"none against none", nil, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := tallies{}, tallies{}
			for _, x := range c.a {
				if err := a.add("t", "archived", x[0].(int64), x[1].(string)); err != nil {
					t.Fatal(err)
				}
			}
			for _, x := range c.b {
				if err := b.add("t", "archived", x[0].(int64), x[1].(string)); err != nil {
					t.Fatal(err)
				}
			}
			if got := a.get("t", "archived").equal(b.get("t", "archived")); got != c.equal {
				t.Errorf("equal = %v, want %v", got, c.equal)
			}
		})
	}
	if err := (tallies{}).add("t", "archived", 1, "1.5"); err == nil {
		t.Error("a sum that is no integer was taken")
	}
}
