package hdr

import (
	"regexp"
	"testing"
)

func TestStatusString(t *testing.T) {
	kebab := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	seen := map[string]Status{}
	for s := OK; s < NumStatus; s++ {
		name := s.String()
		if !kebab.MatchString(name) {
			t.Errorf("Status(%d).String() = %q, not kebab-case", s, name)
		}
		if prev, dup := seen[name]; dup {
			t.Errorf("Status %d and %d share the name %q", prev, s, name)
		}
		seen[name] = s
	}
	for s, want := range map[Status]string{OK: "ok", TooShort: "too-short", BadChecksum: "bad-checksum", BadLength: "bad-length", NumStatus: "unknown-status", 255: "unknown-status"} {
		if got := s.String(); got != want {
			t.Errorf("Status(%d).String() = %q, want %q", s, got, want)
		}
	}
}
