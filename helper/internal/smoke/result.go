package smoke

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shipgate/shipgate/helper/internal/safetext"
)

// Result is a run's verdict and the evidence for it. Its JSON form is the --output json
// document; every string in it is redacted.
type Result struct {
	// Healthy is true when every check passed Successes times in a row.
	Healthy bool `json:"healthy"`
	// Verdict is "healthy" or "unhealthy".
	Verdict string `json:"verdict"`
	// Reason says why an unhealthy run failed.
	Reason         string        `json:"reason,omitempty"`
	Started        time.Time     `json:"started"`
	ElapsedSeconds float64       `json:"elapsedSeconds"`
	Successes      int           `json:"successesRequired"`
	Checks         []CheckResult `json:"checks"`
}

// Check outcomes in CheckResult.Outcome.
const (
	OutcomePassed    = "passed"
	OutcomeFailed    = "failed"
	OutcomeUndecided = "undecided" // the run ended (another check failed) before this one was decided
)

// CheckResult is one check's part of a Result.
type CheckResult struct {
	Name    string `json:"name"`
	Method  string `json:"method"`
	URL     string `json:"url"`
	Outcome string `json:"outcome"`
	// Reason says why the check failed or was left undecided.
	Reason       string `json:"reason,omitempty"`
	Attempts     int    `json:"attempts"`
	Failures     int    `json:"failures"`
	PassesInARow int    `json:"passesInARow"`
	// LastStatus is the HTTP status of the last attempt (0: no response).
	LastStatus int `json:"lastStatus,omitempty"`
	// LastResult is a one-line summary of the last attempt; Problems lists its unmet
	// expectations.
	LastResult string   `json:"lastResult,omitempty"`
	Problems   []string `json:"problems,omitempty"`
	// BodyExcerpt is a short, redacted excerpt of the last response body.
	BodyExcerpt     string  `json:"bodyExcerpt,omitempty"`
	ExpectedVersion string  `json:"expectedVersion,omitempty"`
	VersionFoundIn  string  `json:"versionFoundIn,omitempty"`
	ElapsedSeconds  float64 `json:"elapsedSeconds"`
}

func (r *runner) result(states []*checkState, reason string) *Result {
	end := r.clock.Now()
	res := &Result{
		Healthy: reason == "", Verdict: "healthy", Reason: reason, Started: r.start.UTC(),
		ElapsedSeconds: seconds(end.Sub(r.start)), Successes: r.successes,
	}
	if !res.Healthy {
		res.Verdict = "unhealthy"
	}
	for _, s := range states {
		c := CheckResult{
			Name: s.check.Name, Method: s.check.method, URL: s.check.shownURL,
			Attempts: s.attempts, Failures: s.failures, PassesInARow: s.inARow,
			ExpectedVersion: s.check.version, Reason: s.reason,
		}
		finished := s.finishedAt
		switch {
		case s.passed:
			c.Outcome = OutcomePassed
		case s.failed:
			c.Outcome = OutcomeFailed
		default:
			c.Outcome = OutcomeUndecided
			c.Reason = "not decided: the run stopped when another check failed"
			finished = end
		}
		c.ElapsedSeconds = seconds(finished.Sub(r.start))
		if o := s.last; o != nil {
			c.LastStatus = o.status
			c.LastResult = o.summary()
			c.Problems = o.problems
			if o.problem != "" {
				c.Problems = []string{"no response: " + o.problem}
			}
			c.BodyExcerpt = o.excerpt
			c.VersionFoundIn = o.versionAt
		}
		res.Checks = append(res.Checks, c)
	}
	return res
}

func seconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond)) / float64(time.Second)
}

// Text renders the verdict for people: a first line with the verdict, then one block per check.
func (res *Result) Text() string {
	// Names, URLs, reasons and body excerpts come from the checks file and the service:
	// escaped so they cannot forge lines (issue 14 class 3).
	var b strings.Builder
	if res.Healthy {
		safetext.Fprintf(&b, "healthy: %d check(s) passed %d time(s) in a row in %.1fs\n", len(res.Checks), res.Successes, res.ElapsedSeconds)
	} else {
		safetext.Fprintf(&b, "unhealthy: %s (after %.1fs)\n", res.Reason, res.ElapsedSeconds)
	}
	for _, c := range res.Checks {
		name := c.Name + "  "
		if c.Name == c.URL {
			name = "" // a --url check is named after its URL
		}
		safetext.Fprintf(&b, "  %-9s %s%s %s: %d attempt(s), %d failed", c.Outcome, name, c.Method, c.URL, c.Attempts, c.Failures)
		if c.LastStatus != 0 {
			fmt.Fprintf(&b, ", last status %d", c.LastStatus)
		}
		if c.VersionFoundIn != "" {
			safetext.Fprintf(&b, ", version %s in %s", c.ExpectedVersion, c.VersionFoundIn)
		}
		b.WriteString("\n")
		if c.Outcome != OutcomePassed {
			if c.Reason != "" && c.Outcome == OutcomeUndecided {
				safetext.Fprintf(&b, "            %s\n", c.Reason)
			}
			for _, p := range c.Problems {
				safetext.Fprintf(&b, "            - %s\n", p)
			}
			if c.BodyExcerpt != "" {
				safetext.Fprintf(&b, "            body: %s\n", c.BodyExcerpt)
			}
		}
	}
	return b.String()
}

// JUnit XML, as CircleCI's store_test_results reads it: one test case per check.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitFailure `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// JUnit renders res as JUnit XML.
func (res *Result) JUnit() ([]byte, error) {
	suite := junitSuite{
		Name: "smoke-test", Tests: len(res.Checks), Time: fmt.Sprintf("%.3f", res.ElapsedSeconds),
		Timestamp: res.Started.Format("2006-01-02T15:04:05"),
	}
	for _, c := range res.Checks {
		tc := junitCase{
			Name: c.Name, ClassName: "smoke-test", Time: fmt.Sprintf("%.3f", c.ElapsedSeconds),
			SystemOut: fmt.Sprintf("%s %s\nattempts: %d, failed: %d, passes in a row: %d\nlast: %s\n",
				c.Method, c.URL, c.Attempts, c.Failures, c.PassesInARow, c.LastResult),
		}
		detail := strings.Join(c.Problems, "\n")
		if c.BodyExcerpt != "" {
			detail += "\nbody: " + c.BodyExcerpt
		}
		switch c.Outcome {
		case OutcomeFailed:
			suite.Failures++
			tc.Failure = &junitFailure{Message: c.Reason, Type: "unhealthy", Text: detail}
		case OutcomeUndecided:
			suite.Skipped++
			tc.Skipped = &junitFailure{Message: c.Reason, Text: detail}
		}
		suite.Cases = append(suite.Cases, tc)
	}
	doc := junitSuites{Name: "shipgate smoke-test", Tests: suite.Tests, Failures: suite.Failures, Time: suite.Time, Suites: []junitSuite{suite}}
	data, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(data, '\n')...), nil
}

// WriteJUnit writes res as JUnit XML to path, creating its folder; the file is written
// beside its final name and renamed, so a reader never sees half a report and a planted
// symlink at path is replaced, not followed.
func WriteJUnit(path string, res *Result) error {
	data, err := res.JUnit()
	if err != nil {
		return fmt.Errorf("encoding JUnit report: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing JUnit report %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, ".junit-*.xml")
	if err != nil {
		return fmt.Errorf("writing JUnit report %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing JUnit report %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing JUnit report %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing JUnit report %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing JUnit report %s: %w", path, err)
	}
	return nil
}
