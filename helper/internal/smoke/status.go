package smoke

import (
	"fmt"
	"strconv"
	"strings"
)

// StatusSpec is the set of HTTP status codes a check accepts: exact codes (200), classes
// (2xx) or a comma-separated list of both (200,204 or 2xx,304). The zero value accepts
// nothing; use ParseStatus.
type StatusSpec struct {
	items []statusItem
}

// statusItem is one element of a StatusSpec: an exact code, or a class (1 to 5) when class is set.
type statusItem struct {
	value int
	class bool
}

// DefaultStatus is the status expectation of a check that names none: any 2xx. A redirect
// (3xx) is therefore a failure unless a check accepts it or follows redirects.
const DefaultStatus = "2xx"

// ParseStatus parses a status expectation: comma-separated items, each an exact code from 100
// to 599 or a class 1xx to 5xx (x in either case). Spaces around items are ignored.
func ParseStatus(text string) (StatusSpec, error) {
	var spec StatusSpec
	if strings.TrimSpace(text) == "" {
		return spec, fmt.Errorf("empty status expectation: want a code (200), a class (2xx) or a list (200,204)")
	}
	for _, part := range strings.Split(text, ",") {
		part = strings.TrimSpace(part)
		item, err := parseStatusItem(part)
		if err != nil {
			return StatusSpec{}, err
		}
		spec.items = append(spec.items, item)
	}
	return spec, nil
}

func parseStatusItem(part string) (statusItem, error) {
	if len(part) == 3 && (part[1] == 'x' || part[1] == 'X') && (part[2] == 'x' || part[2] == 'X') {
		if part[0] < '1' || part[0] > '5' {
			return statusItem{}, fmt.Errorf("unknown status class %q: want 1xx, 2xx, 3xx, 4xx or 5xx", part)
		}
		return statusItem{value: int(part[0] - '0'), class: true}, nil
	}
	if len(part) != 3 || strings.IndexFunc(part, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		if strings.ContainsAny(part, "xX") {
			return statusItem{}, fmt.Errorf("unknown status class %q: want 1xx, 2xx, 3xx, 4xx or 5xx", part)
		}
		return statusItem{}, fmt.Errorf("status %q: want a three-digit code such as 200 or a class such as 2xx", part)
	}
	code, _ := strconv.Atoi(part)
	if code < 100 || code > 599 {
		return statusItem{}, fmt.Errorf("status %d: HTTP status codes run from 100 to 599", code)
	}
	return statusItem{value: code}, nil
}

// Match reports whether code is accepted.
func (s StatusSpec) Match(code int) bool {
	for _, item := range s.items {
		if item.class && code/100 == item.value && code >= 100 && code <= 599 {
			return true
		}
		if !item.class && code == item.value {
			return true
		}
	}
	return false
}

// String renders the spec in the form ParseStatus reads (classes in lower case).
func (s StatusSpec) String() string {
	parts := make([]string, len(s.items))
	for i, item := range s.items {
		if item.class {
			parts[i] = strconv.Itoa(item.value) + "xx"
		} else {
			parts[i] = strconv.Itoa(item.value)
		}
	}
	return strings.Join(parts, ",")
}

// IsZero reports whether the spec accepts nothing (it was never parsed).
func (s StatusSpec) IsZero() bool { return len(s.items) == 0 }
