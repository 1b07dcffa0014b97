package ledger

import (
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestEntryTagRoundTrip(t *testing.T) {
	stamp := Stamp{Seconds: time.Date(2026, 11, 26, 9, 30, 1, 0, time.UTC).Unix(), Counter: 7}
	e, err := NewEntry("production", Good, stamp, "3F2A9C1B7D4E0000000000000000000000000000", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.Tag, "production.") || !strings.Contains(e.Tag, ".good.20261126T093001Z.3f2a9c1b7d4e.x.") {
		t.Fatalf("unexpected tag %q", e.Tag)
	}
	got, ok := ParseTag(e.Tag)
	if !ok {
		t.Fatalf("ParseTag(%q) failed", e.Tag)
	}
	if got != e {
		t.Fatalf("round trip: got %+v want %+v", got, e)
	}
	if _, ok := ParseTag(e.RecordTag()); ok {
		t.Fatal("a record tag parsed as an entry")
	}
	if r, ok := ParseRecordTag(e.RecordTag()); !ok || r != e {
		t.Fatal("record tag does not lead back to its entry")
	}
	longest, err := NewEntry(strings.Repeat("e", 31), Deploying, Stamp{Seconds: maxSeconds, Counter: maxCounter}, strings.Repeat("a", 40), strings.Repeat("b", 40))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(longest.RecordTag()); n > MaxTagLength {
		t.Fatalf("longest record tag is %d characters", n)
	}
}

func TestLexicalOrderIsNewestFirst(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var tags []string
	var want []string
	var latest *Stamp
	for i := 0; i < 50; i++ {
		now := base.Add(time.Duration(i/5) * time.Second) // five entries per second
		s := After(now, latest)
		latest = &s
		e, err := NewEntry("staging", Good, s, "", "")
		if err != nil {
			t.Fatal(err)
		}
		tags = append(tags, e.Tag)
		want = append([]string{e.Tag}, want...)
	}
	sort.Strings(tags)
	for i := range tags {
		if tags[i] != want[i] {
			t.Fatalf("position %d: lexical %q, newest-first %q", i, tags[i], want[i])
		}
	}
}

func TestAfterNeverGoesBackwards(t *testing.T) {
	latest := &Stamp{Seconds: 2000, Counter: 3}
	// A runner whose clock is behind the newest entry still writes a newer stamp.
	if s := After(time.Unix(1000, 0), latest); !latest.Less(s) {
		t.Fatalf("stamp %+v not after %+v", s, latest)
	}
	if s := After(time.Unix(2000, 0), &Stamp{Seconds: 2000, Counter: maxCounter}); s != (Stamp{Seconds: 2001}) {
		t.Fatalf("counter overflow: %+v", s)
	}
	if s := After(time.Unix(3000, 0), latest); s != (Stamp{Seconds: 3000}) {
		t.Fatalf("fresh second: %+v", s)
	}
}

func TestParseTagRejectsOtherTags(t *testing.T) {
	digest := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}
	for _, tag := range []string{
		"latest", "v1.2.3", "production-current", BadMarkerTag("production", digest),
		"sha256-" + strings.Repeat("a", 64) + ".sig",
		"Production.8235098199998.good.20261126T093001Z.x.x.abcdef",
		"production.8235098199998.fine.20261126T093001Z.x.x.abcdef",
		"production.823509819999.good.20261126T093001Z.x.x.abcdef",
		"production.8235098199998.good.20261126T093002Z.x.x.abcdef", // time disagrees with rev
		"production.8235098199998.good.20261126T093001Z.XYZ.x.abcdef",
		"production.8235098199998.good.20261126T093001Z.x.x.ABCDEF",
	} {
		if _, ok := ParseTag(tag); ok {
			t.Errorf("ParseTag(%q) accepted", tag)
		}
	}
}

func TestValidateEnv(t *testing.T) {
	for _, env := range []string{"production", "staging", "eu-west-1", "a"} {
		if err := ValidateEnv(env); err != nil {
			t.Errorf("%q: %v", env, err)
		}
	}
	for _, env := range []string{"", "Production", "1prod", "prod.eu", "prod_eu", strings.Repeat("a", 32), "prod\n"} {
		if err := ValidateEnv(env); err == nil {
			t.Errorf("%q accepted", env)
		}
	}
}

func FuzzParseTag(f *testing.F) {
	f.Add("production.8235098199998.good.20261126T093001Z.3f2a9c1b7d4e.x.k3f9a2")
	f.Add("staging.8235098199998.deploying.20261126T093001Z.x.0f9e8d7c6b5a.000000")
	f.Add("latest")
	f.Add("production.bad.sha256-" + strings.Repeat("0", 64))
	f.Fuzz(func(t *testing.T, tag string) {
		e, ok := ParseTag(tag)
		if !ok {
			return
		}
		// Anything accepted must be exactly what NewEntry would write for it.
		rebuilt := strings.Join([]string{e.Env, e.Stamp.rev(), string(e.Status), e.Time().Format(timeLayout), orX(e.Commit), orX(e.Tree), e.Nonce}, ".")
		if rebuilt != tag {
			t.Fatalf("ParseTag(%q) accepted a tag it would write as %q", tag, rebuilt)
		}
		if len(tag) > MaxTagLength {
			t.Fatalf("accepted a %d-character tag", len(tag))
		}
	})
}
