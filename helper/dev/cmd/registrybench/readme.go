package main

import (
	"fmt"
	"os"
	"strings"
)

// The README's benchmark tables are not typed by hand: `make bench` copies them from the report
// it has just written, between these markers, and TestReadmeTablesComeFromTheReport fails when
// the two differ (issue 15: "the README's table comes from it").
const (
	readmeBegin = "<!-- make bench copies the tables below from bench/RESULTS.md: do not edit them by hand -->"
	readmeEnd   = "<!-- end of the tables make bench copies -->"
)

// readmeSections are the report's sections whose tables the README shows, by heading prefix.
var readmeSections = []struct{ heading, title string }{
	{"## distribution v3.1.2, anonymous", "Requests per promotion, distribution v3.1.2 (Debian's 2.8 and basic auth: bench/RESULTS.md)"},
	{"## distribution v3.1.2, bearer tokens", "Behind a bearer-token registry (distribution `auth.token`, a token server): requests and token requests"},
	{"## Cross-registry wall time", "Cross-registry wall time, milliseconds: the median of the runs, the fastest in brackets"},
	{"## Start-up", "Start-up of each binary"},
}

// readmeTables returns the README's block for report: each section's tables and the line under
// each (the verdict), under a bold title. Sections the report lacks are left out.
func readmeTables(report string) string {
	var b strings.Builder
	for _, s := range readmeSections {
		body, ok := section(report, s.heading)
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "**%s**\n\n", s.title)
		var inTable bool
		for _, line := range strings.Split(body, "\n") {
			switch {
			case strings.HasPrefix(line, "|"):
				inTable = true
				b.WriteString(line + "\n")
			case inTable && line == "":
				b.WriteString("\n")
				inTable = false
			case strings.HasPrefix(line, "shipgate had "):
				b.WriteString(line + "\n\n")
			}
		}
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// section returns the text under the first heading that starts with prefix, up to the next
// heading of the same level.
func section(report, prefix string) (string, bool) {
	at := strings.Index(report, "\n"+prefix)
	if at < 0 {
		return "", false
	}
	rest := report[at+1:]
	rest = rest[strings.Index(rest, "\n")+1:]
	if end := strings.Index(rest, "\n## "); end >= 0 {
		rest = rest[:end]
	}
	return rest, true
}

// updateReadme replaces the block between the markers in the README at path with the tables of
// report.
func updateReadme(path, report string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	text := string(data)
	begin, end, err := blockBounds(path, text)
	if err != nil {
		return err
	}
	updated := text[:begin] + "\n\n" + readmeTables(report) + "\n" + text[end:]
	return os.WriteFile(path, []byte(updated), 0o644)
}

// readmeBlock returns what the README at path holds between the markers.
func readmeBlock(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	text := string(data)
	begin, end, err := blockBounds(path, text)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(text[begin:end]) + "\n", nil
}

// blockBounds returns where the README's benchmark block starts (just after its opening
// marker) and ends (at its closing marker); a README without both is an error (the block has
// one home).
func blockBounds(path, text string) (begin, end int, err error) {
	begin, end = strings.Index(text, readmeBegin), strings.Index(text, readmeEnd)
	if begin < 0 || end < begin {
		return 0, 0, fmt.Errorf("%s has no benchmark block (%q … %q)", path, readmeBegin, readmeEnd)
	}
	return begin + len(readmeBegin), end, nil
}
