// Package ledger keeps shipgate's deployment ledger in the registry itself: every entry is a
// unique, never-moved tag on the image digest (so it is pullable and survives on repositories
// with immutable tags), a small record artifact beside it says who, what, when and why, and
// "current" and the rollback target are computed from the entries. docs/ledger.md is the
// specification; this package is its only implementation.
package ledger

import (
	"crypto/rand"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

// Status is what an entry says happened to a digest in an environment.
type Status string

// Statuses, in the order one deployment writes them.
const (
	Deploying Status = "deploying" // a deploy of the digest started
	Deployed  Status = "deployed"  // the deploy steps succeeded
	Good      Status = "good"      // checks passed: a rollback target
	Bad       Status = "bad"       // never deploy or promote again (unless forced)
)

// ParseStatus validates a status name.
func ParseStatus(s string) (Status, error) {
	switch Status(s) {
	case Deploying, Deployed, Good, Bad:
		return Status(s), nil
	}
	return "", failure.New(failure.Usage, "status %q: want deploying, deployed, good or bad", s)
}

// rank orders entries written in the same tick by one pipeline: deploying < deployed < good/bad.
func (s Status) rank() int {
	switch s {
	case Deploying:
		return 0
	case Deployed:
		return 1
	}
	return 2
}

// envPattern is compiled on first use, not at start-up (every command links the ledger).
var envPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`) })

// ValidateEnv checks an environment name against [a-z][a-z0-9-]{0,30}.
func ValidateEnv(env string) error {
	if !envPattern().MatchString(env) {
		return failure.New(failure.Usage, "environment %q: want a lower-case name matching [a-z][a-z0-9-]{0,30}", env)
	}
	return nil
}

// Tag layout (docs/ledger.md):
//
//	<env>.<rev>.<status>.<yyyymmddThhmmssZ>.<commit12|x>.<tree12|x>.<nonce>
//
// rev is 13 digits that sort newest first: 10 for 9999999999 minus the Unix second of the
// entry, 3 for 999 minus a logical counter within that second. The registry's tags/list is in
// lexical order, so one page after "<env>." holds the newest entries.
const (
	revDigits   = 13
	maxSeconds  = 9999999999
	maxCounter  = 999
	timeLayout  = "20060102T150405Z"
	nonceLength = 6
	// RecordSuffix marks an entry's record artifact: the entry tag plus ".r".
	RecordSuffix = ".r"
	// MaxTagLength is the distribution spec's limit.
	MaxTagLength = 128
)

// Stamp is a hybrid logical clock reading: a registry second and a counter within it.
type Stamp struct {
	Seconds int64
	Counter int
}

// After returns the stamp of a new entry: the registry's now, but never at or before latest,
// so entries stay ordered even when clocks disagree.
func After(now time.Time, latest *Stamp) Stamp {
	s := Stamp{Seconds: now.Unix()}
	if latest != nil && s.Seconds <= latest.Seconds {
		s = Stamp{Seconds: latest.Seconds, Counter: latest.Counter + 1}
		if s.Counter > maxCounter {
			s = Stamp{Seconds: latest.Seconds + 1}
		}
	}
	return s
}

// Less reports whether s is older than o.
func (s Stamp) Less(o Stamp) bool {
	if s.Seconds != o.Seconds {
		return s.Seconds < o.Seconds
	}
	return s.Counter < o.Counter
}

func (s Stamp) rev() string {
	return fmt.Sprintf("%010d%03d", maxSeconds-s.Seconds, maxCounter-s.Counter)
}

// Entry is one ledger entry as its tag spells it.
type Entry struct {
	Tag    string
	Env    string
	Status Status
	Stamp  Stamp
	// Commit and Tree are the first 12 hex digits of the source's commit and git tree, or "".
	Commit string
	Tree   string
	Nonce  string
}

// Time is the entry's registry time.
func (e Entry) Time() time.Time { return time.Unix(e.Stamp.Seconds, 0).UTC() }

// RecordTag is the tag of the entry's record artifact.
func (e Entry) RecordTag() string { return e.Tag + RecordSuffix }

// Newer orders entries newest first: by stamp, then by status rank (one pipeline writes
// deploying, deployed, good in that order), then by tag for a total order.
func Newer(a, b Entry) bool {
	if a.Stamp != b.Stamp {
		return b.Stamp.Less(a.Stamp)
	}
	if a.Status.rank() != b.Status.rank() {
		return a.Status.rank() > b.Status.rank()
	}
	return a.Tag > b.Tag
}

var hex12 = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{12}$`) })

// NewEntry composes a new entry's tag.
func NewEntry(env string, status Status, stamp Stamp, commit, tree string) (Entry, error) {
	if err := ValidateEnv(env); err != nil {
		return Entry{}, err
	}
	if _, err := ParseStatus(string(status)); err != nil {
		return Entry{}, err
	}
	if stamp.Seconds < 0 || stamp.Seconds > maxSeconds || stamp.Counter < 0 || stamp.Counter > maxCounter {
		return Entry{}, failure.New(failure.Internal, "ledger stamp %+v out of range", stamp)
	}
	e := Entry{Env: env, Status: status, Stamp: stamp, Commit: shortSHA(commit), Tree: shortSHA(tree), Nonce: nonce()}
	e.Tag = strings.Join([]string{env, stamp.rev(), string(status), e.Time().Format(timeLayout), orX(e.Commit), orX(e.Tree), e.Nonce}, ".")
	if len(e.Tag)+len(RecordSuffix) > MaxTagLength {
		return Entry{}, failure.New(failure.Internal, "ledger tag %q too long", e.Tag)
	}
	return e, nil
}

func shortSHA(sha string) string {
	sha = strings.ToLower(sha)
	if len(sha) >= 12 && hex12().MatchString(sha[:12]) {
		return sha[:12]
	}
	return ""
}

func orX(s string) string {
	if s == "" {
		return "x"
	}
	return s
}

const nonceAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

func nonce() string {
	b := make([]byte, nonceLength)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	for i := range b {
		b[i] = nonceAlphabet[int(b[i])%len(nonceAlphabet)]
	}
	return string(b)
}

// ParseTag parses an entry tag. It reports ok=false for any other tag (records, bad markers,
// aliases, other tools' tags), never an error: a repository holds more than the ledger.
func ParseTag(tag string) (Entry, bool) {
	parts := strings.Split(tag, ".")
	if len(parts) != 7 || ValidateEnv(parts[0]) != nil || len(parts[1]) != revDigits {
		return Entry{}, false
	}
	inverted, err := strconv.ParseInt(parts[1][:10], 10, 64)
	if err != nil {
		return Entry{}, false
	}
	counter, err := strconv.Atoi(parts[1][10:])
	if err != nil {
		return Entry{}, false
	}
	status, err := ParseStatus(parts[2])
	if err != nil {
		return Entry{}, false
	}
	stamp := Stamp{Seconds: maxSeconds - inverted, Counter: maxCounter - counter}
	when, err := time.Parse(timeLayout, parts[3])
	if err != nil || when.Unix() != stamp.Seconds {
		return Entry{}, false
	}
	e := Entry{Tag: tag, Env: parts[0], Status: status, Stamp: stamp, Nonce: parts[6]}
	for i, field := range []*string{&e.Commit, &e.Tree} {
		v := parts[4+i]
		if v != "x" {
			if !hex12().MatchString(v) {
				return Entry{}, false
			}
			*field = v
		}
	}
	if len(e.Nonce) != nonceLength || strings.Trim(e.Nonce, nonceAlphabet) != "" {
		return Entry{}, false
	}
	return e, true
}

// ParseRecordTag returns the entry tag a record tag belongs to.
func ParseRecordTag(tag string) (Entry, bool) {
	if !strings.HasSuffix(tag, RecordSuffix) {
		return Entry{}, false
	}
	return ParseTag(strings.TrimSuffix(tag, RecordSuffix))
}

// BadMarkerTag is the verdict tag of a digest marked bad in env: <env>.bad.sha256-<hex>. It is
// written once, before the bad entry, and makes "is this digest bad here?" one request.
func BadMarkerTag(env string, digest v1.Hash) string {
	return env + ".bad." + digest.Algorithm + "-" + digest.Hex
}

// entryPrefix is what every tag of env's ledger starts with.
func entryPrefix(env string) string { return env + "." }

// pastEntries reports whether tag sorts after every possible entry and record of env: entries
// continue with a digit after the prefix, and ':' follows '9' in byte order.
func pastEntries(env, tag string) bool { return tag >= entryPrefix(env)+":" }
