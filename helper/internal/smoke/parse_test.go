package smoke

import (
	"strings"
	"testing"
)

func TestParseStatus(t *testing.T) {
	cases := []struct {
		spec    string
		accepts []int
		rejects []int
		text    string
	}{
		{"200", []int{200}, []int{201, 204, 301, 500}, "200"},
		{"2xx", []int{200, 201, 204, 299}, []int{199, 300, 404}, "2xx"},
		{"2XX", []int{250}, []int{302}, "2xx"},
		{"200,204", []int{200, 204}, []int{201, 202}, "200,204"},
		{" 2xx , 301 ", []int{200, 301}, []int{302, 404}, "2xx,301"},
		{"5xx", []int{500, 503, 599}, []int{200, 499}, "5xx"},
		{"404", []int{404}, []int{200}, "404"},
	}
	for _, tc := range cases {
		spec, err := ParseStatus(tc.spec)
		if err != nil {
			t.Errorf("%q: %v", tc.spec, err)
			continue
		}
		for _, code := range tc.accepts {
			if !spec.Match(code) {
				t.Errorf("%q rejects %d", tc.spec, code)
			}
		}
		for _, code := range tc.rejects {
			if spec.Match(code) {
				t.Errorf("%q accepts %d", tc.spec, code)
			}
		}
		if spec.String() != tc.text {
			t.Errorf("%q renders as %q, want %q", tc.spec, spec, tc.text)
		}
	}
}

func TestParseStatusRejects(t *testing.T) {
	cases := map[string]string{
		"":        "empty",
		"6xx":     "unknown status class",
		"0xx":     "unknown status class",
		"2x":      "unknown status class",
		"2xxx":    "unknown status class",
		"x00":     "unknown status class",
		"ok":      "three-digit",
		"99":      "three-digit",
		"600":     "100 to 599",
		"099":     "100 to 599",
		"200,":    "three-digit",
		"200;204": "three-digit",
		"+20":     "three-digit",
	}
	for spec, want := range cases {
		if _, err := ParseStatus(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want one saying %q", spec, err, want)
		}
	}
}

func FuzzParseStatus(f *testing.F) {
	for _, seed := range []string{"200", "2xx", "200,204", "2XX, 301", "6xx", "", "1xx,5xx,418", "2x", "999", " 200 "} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		spec, err := ParseStatus(text)
		if err != nil {
			return
		}
		again, err := ParseStatus(spec.String())
		if err != nil {
			t.Fatalf("%q renders as %q, which does not parse: %v", text, spec, err)
		}
		if again.String() != spec.String() {
			t.Fatalf("round trip %q -> %q -> %q", text, spec, again)
		}
		for code := 100; code < 600; code++ {
			if spec.Match(code) != again.Match(code) {
				t.Fatalf("%q and %q disagree on %d", text, spec, code)
			}
		}
		if spec.Match(0) || spec.Match(99) || spec.Match(600) || spec.Match(-200) {
			t.Fatalf("%q accepts a code outside 100-599", text)
		}
	})
}

func TestParsePath(t *testing.T) {
	doc, err := decodeJSON([]byte(`{"build":{"version":"1.2.3","number":42},"items":[{"name":"first"},{"name":"last"}],
		"a.b":{"c":true},"with-dash":null,"":"empty key","nested":[[1,2],[3,4]]}`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path, canonical, want string
		found                 bool
	}{
		{".build.version", ".build.version", `"1.2.3"`, true},
		{".build.number", ".build.number", `42`, true},
		{".items[0].name", ".items[0].name", `"first"`, true},
		{".items[-1].name", ".items[-1].name", `"last"`, true},
		{".items.[1].name", ".items[1].name", `"last"`, true},
		{`.["a.b"].c`, `.["a.b"].c`, `true`, true},
		{`.["build"]["version"]`, `.build.version`, `"1.2.3"`, true},
		{".with-dash", ".with-dash", `null`, true},
		{`.[""]`, `.[""]`, `"empty key"`, true},
		{".nested[1][0]", ".nested[1][0]", `3`, true},
		{".", ".", "", true},
		{".items[2]", ".items[2]", "", false},
		{".items[-3]", ".items[-3]", "", false},
		{".build.missing", ".build.missing", "", false},
		{".build[0]", ".build[0]", "", false},
		{".items.name", ".items.name", "", false},
		{".build.version.x", ".build.version.x", "", false},
	}
	for _, tc := range cases {
		p, err := ParsePath(tc.path)
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		if p.String() != tc.canonical {
			t.Errorf("%s renders as %s, want %s", tc.path, p, tc.canonical)
		}
		value, found := p.Lookup(doc)
		if found != tc.found {
			t.Errorf("%s: found %v, want %v", tc.path, found, tc.found)
			continue
		}
		if found && tc.want != "" && describeJSON(value) != tc.want {
			t.Errorf("%s = %s, want %s", tc.path, describeJSON(value), tc.want)
		}
	}
}

func TestParsePathRejects(t *testing.T) {
	for _, path := range []string{"", "build.version", ".build..version", ".build.", "..", ".items[", ".items[x]", ".items[]",
		".items[1", `.["unterminated]`, `.["a"x]`, ".a b", ".a[0]b", ".items[1.5]", ".items[10000000000]", `.["\q"]`, "$.a", ".a/b"} {
		if p, err := ParsePath(path); err == nil {
			t.Errorf("%q parsed as %s", path, p)
		} else if !strings.Contains(err.Error(), "JSON path") {
			t.Errorf("%q: error %q does not name the JSON path", path, err)
		}
	}
}

func FuzzParsePath(f *testing.F) {
	for _, seed := range []string{".", ".build.version", ".items[0].name", ".items[-1]", `.["a.b"].c`, `.[""]`, ".a..b", ".x[", `.["\u00e9"]`, ".a-b_c[12][3]"} {
		f.Add(seed)
	}
	doc, _ := decodeJSON([]byte(`{"build":{"version":"1"},"items":[{"name":"n"}],"a.b":{"c":[1,2]}}`))
	f.Fuzz(func(t *testing.T, text string) {
		p, err := ParsePath(text)
		if err != nil {
			return
		}
		again, err := ParsePath(p.String())
		if err != nil {
			t.Fatalf("%q renders as %q, which does not parse: %v", text, p, err)
		}
		if again.String() != p.String() {
			t.Fatalf("round trip %q -> %q -> %q", text, p, again)
		}
		v1, ok1 := p.Lookup(doc)
		v2, ok2 := again.Lookup(doc)
		if ok1 != ok2 || describeJSON(v1) != describeJSON(v2) {
			t.Fatalf("%q and %q look up different values", text, p)
		}
	})
}

func TestJSONEqual(t *testing.T) {
	doc, err := decodeJSON([]byte(`{"s":"1.2.3","n":42,"f":1.50,"t":true,"z":null,"o":{"a":1,"b":[1,2]},"big":12345678901234567890,"empty":""}`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path, want string
		equal      bool
	}{
		{".s", "1.2.3", true},
		{".s", `"1.2.3"`, false},
		{".s", "1.2.30", false},
		{".n", "42", true},
		{".n", "42.0", true},
		{".n", "4.2e1", true},
		{".n", "43", false},
		{".n", "forty-two", false},
		{".f", "1.5", true},
		{".t", "true", true},
		{".t", "True", false},
		{".z", "null", true},
		{".z", "", false},
		{".o", `{"b":[1,2.0],"a":1}`, true},
		{".o", `{"a":1}`, false},
		{".o", `not json`, false},
		{".big", "12345678901234567890", true},
		{".big", "12345678901234567891", false},
		{".empty", "", true},
	}
	for _, tc := range cases {
		p, _ := ParsePath(tc.path)
		value, _ := p.Lookup(doc)
		if got := jsonEqual(value, tc.want); got != tc.equal {
			t.Errorf("%s (%s) == %q: %v, want %v", tc.path, describeJSON(value), tc.want, got, tc.equal)
		}
	}
}

func TestParseJSONPair(t *testing.T) {
	cases := []struct{ text, path, value string }{
		{".build.version=1.2.3", ".build.version", "1.2.3"},
		{`.["a=b"]=c`, `.["a=b"]`, "c"},
		{".x==y", ".x", "=y"},
		{".x=", ".x", ""},
	}
	for _, tc := range cases {
		pair, err := ParseJSONPair(tc.text)
		if err != nil || pair.Name != tc.path || pair.Value != tc.value {
			t.Errorf("%q: %+v %v", tc.text, pair, err)
		}
	}
	for _, bad := range []string{".x", "x=1", ".a..b=1", ""} {
		if pair, err := ParseJSONPair(bad); err == nil {
			t.Errorf("%q: parsed as %+v", bad, pair)
		}
	}
}
