package secret

import "testing"

func TestColumn(t *testing.T) {
	for _, c := range []struct {
		name string
		want bool
	}{
		{"access_token", true}, {"refresh_token", true}, {"token", true}, {"session_state", true},
		{"credential_public_key", true}, {"password_hash", true}, {"userPassword", true}, {"pwd", true},
		{"apiKey", true}, {"api_key", true}, {"X-Api-Key", true}, {"private_key", true}, {"aws_access_key_id", true},
		{"Authorization", true}, {"bearer", true}, {"cookie", true}, {"client_secret", true},
		{"author", false}, {"credential_id", false}, {"email", false}, {"details", false}, {"title", false},
	} {
		if got := Column(c.name); got != c.want {
			t.Errorf("Column(%q) = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestScrubJSON(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
		scrubbed       bool
	}{
		{"no secret key", `{"b": 1, "a": "x"}`, `{"b": 1, "a": "x"}`, false},
		{"not JSON", `password=hunter2`, `password=hunter2`, false},
		{"two documents", `{"password": 1} {"a": 2}`, `{"password": 1} {"a": 2}`, false},
		{"a secret named only in a value", `{"note": "reset the password"}`, `{"note": "reset the password"}`, false},
		{"top level", `{"password": "hunter2", "k": "v"}`, `{"k":"v","password":"[redacted]"}`, true},
		{"nested, numbers kept", `{"a": {"apiKey": "x", "n": 1.50}, "l": [{"Authorization": "Bearer y"}]}`,
			`{"a":{"apiKey":"[redacted]","n":1.50},"l":[{"Authorization":"[redacted]"}]}`, true},
		{"markup kept", `{"pwd": "<b>", "t": "a<b>&c"}`, `{"pwd":"[redacted]","t":"a<b>&c"}`, true},
	} {
		got, scrubbed := ScrubJSON(c.in)
		if got != c.want || scrubbed != c.scrubbed {
			t.Errorf("%s: ScrubJSON(%s) = %s, %v; want %s, %v", c.name, c.in, got, scrubbed, c.want, c.scrubbed)
		}
	}
}
