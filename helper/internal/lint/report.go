package lint

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/shipgate/shipgate/helper/internal/safetext"
)

// Formats are the report formats Write accepts.
var Formats = []string{"text", "json", "sarif", "junit"}

// Write renders the report in format (text, json, sarif or junit). version is the tool version
// SARIF records.
func Write(w io.Writer, r *Report, format, version string) error {
	switch format {
	case "text":
		_, err := io.WriteString(w, r.Text())
		return err
	case "json":
		return writeJSON(w, r)
	case "sarif":
		return writeJSON(w, r.SARIF(version))
	case "junit":
		return r.writeJUnit(w)
	}
	return fmt.Errorf("report format %q: want one of %s", format, strings.Join(Formats, ", "))
}

func writeJSON(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", data)
	return err
}

// Text renders findings one per line (file:line:column: severity RULE: message) with the hint
// indented below, then a summary line.
func (r *Report) Text() string {
	var b strings.Builder
	for _, f := range r.Findings {
		// Messages quote the config (job names, commands): escaped so a name holding a newline
		// cannot add a line to the report (issue 14 class 3).
		safetext.Fprintf(&b, "%s: %s %s: %s\n", f.Position(), f.Severity, f.Rule, f.Message)
		if f.Hint != "" {
			safetext.Fprintf(&b, "    hint: %s\n", f.Hint)
		}
		if f.Source != "" {
			safetext.Fprintf(&b, "    see: %s\n", f.Source)
		}
	}
	b.WriteString(r.Summary())
	b.WriteString("\n")
	return b.String()
}

// FailureLine is the one line that says why the lint failed, for stderr. The text report
// already ends with the summary on stdout, so the line does not repeat it (issue 18 point 10:
// the summary printed twice); the other formats carry no summary a person reads, so it is
// the summary.
func (r *Report) FailureLine(format string) string {
	if format == "text" {
		return fmt.Sprintf("findings at or above %s (the report above lists them)", r.FailOn)
	}
	return r.Summary()
}

// Summary is one line counting the findings.
func (r *Report) Summary() string {
	files := plural(len(r.Files), "file")
	if len(r.Findings) == 0 {
		return fmt.Sprintf("no problems in %s", files)
	}
	return fmt.Sprintf("%s, %s, %s in %s", plural(r.Errors, "error"), plural(r.Warnings, "warning"), plural(r.Notes, "note"), files)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// sarifLog is the subset of SARIF 2.1.0 that code-scanning tools read.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string      `json:"id"`
	Name                 string      `json:"name"`
	ShortDescription     sarifText   `json:"shortDescription"`
	Help                 sarifText   `json:"help"`
	HelpURI              string      `json:"helpUri"`
	DefaultConfiguration sarifConfig `json:"defaultConfiguration"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn"`
}

// SARIF returns the report as a SARIF 2.1.0 log (one run, every rule described).
func (r *Report) SARIF(version string) any {
	all := Rules()
	index := map[string]int{}
	driver := sarifDriver{Name: "shipgate lint", Version: version, InformationURI: docsURI}
	for i, rule := range all {
		index[rule.ID] = i
		driver.Rules = append(driver.Rules, sarifRule{
			ID: rule.ID, Name: rule.Title,
			ShortDescription:     sarifText{rule.Title},
			Help:                 sarifText{rule.Hint},
			HelpURI:              rule.Docs(),
			DefaultConfiguration: sarifConfig{Level: string(rule.Severity)},
		})
	}
	results := []sarifResult{}
	for _, f := range r.Findings {
		results = append(results, sarifResult{
			RuleID: f.Rule, RuleIndex: index[f.Rule], Level: string(f.Severity),
			Message: sarifText{f.Message + ". Fix: " + f.Hint},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: filepath.ToSlash(f.File)},
				Region:           sarifRegion{StartLine: f.Line, StartColumn: f.Column},
			}}},
		})
	}
	return sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{{Tool: sarifTool{Driver: driver}, Results: results}},
	}
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// writeJUnit renders one test suite per file and one test case per rule, so CircleCI's test
// insights show each rule passing or failing. Errors are failures; warnings and notes are
// reported in system-out of a passing case, unless they reach the fail-on severity.
func (r *Report) writeJUnit(w io.Writer) error {
	out := junitSuites{Name: "shipgate lint"}
	byFile := map[string][]Finding{}
	for _, f := range r.Findings {
		byFile[f.File] = append(byFile[f.File], f)
	}
	for _, file := range r.Files {
		suite := junitSuite{Name: file}
		for _, rule := range Rules() {
			c := junitCase{Name: rule.ID + " " + rule.Title, Classname: "shipgate.lint." + rule.ID, File: file}
			var lines []string
			failed := false
			for _, f := range byFile[file] {
				if f.Rule != rule.ID {
					continue
				}
				lines = append(lines, fmt.Sprintf("%s: %s %s: %s (hint: %s)", f.Position(), f.Severity, f.Rule, f.Message, f.Hint))
				failed = failed || f.Severity.rank() >= r.FailOn.rank()
			}
			text := strings.Join(lines, "\n")
			switch {
			case failed:
				c.Failure = &junitFailure{Message: fmt.Sprintf("%d finding(s)", len(lines)), Type: rule.ID, Text: text}
				suite.Failures++
			case text != "":
				c.SystemOut = text
			}
			suite.Cases = append(suite.Cases, c)
			suite.Tests++
		}
		out.Tests += suite.Tests
		out.Failures += suite.Failures
		out.Suites = append(out.Suites, suite)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
