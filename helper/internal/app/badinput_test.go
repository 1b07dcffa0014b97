package app

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/shipgate/shipgate/helper/internal/testpeer/canary"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// badInput is one hostile or mistaken input to one command, and the exit code that refuses it.
type badInput struct {
	command string
	what    string
	args    []string
	env     map[string]string
	code    int
}

// TestBadInputsAreRefused runs every command with inputs it must refuse: malformed and
// path-walking references, injected environment names, invalid tags, digests of other
// algorithms, out-of-range numbers, hostile flag values. Each is refused with its documented
// exit code, one error line, nothing on stdout, nothing written to the registry, and no
// planted credential in the output. With SHIPGATE_BADINPUT_REPORT=FILE it writes the list
// as Markdown (RELIABILITY.md).
func TestBadInputsAreRefused(t *testing.T) {
	t.Parallel()
	reg := registryserver.StartT(t, registryserver.Options{})
	digest := testimage.Image(t, reg.Repo("app:v1"), 1).String()
	image := reg.Repo("app") + "@" + digest
	dir := t.TempDir()
	badJSON := filepath.Join(dir, "bad-release.json")
	if err := os.WriteFile(badJSON, []byte(`{"schemaVersion": 1, "image": "`), 0o600); err != nil {
		t.Fatal(err)
	}
	otherRelease := filepath.Join(dir, "other-release.json")
	if err := os.WriteFile(otherRelease, []byte(`{"schemaVersion": 2, "image": "`+image+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	writeFile := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	otherDigest := "sha256:" + strings.Repeat("b", 64)
	mismatched := writeFile("mismatch.json", `{"schemaVersion":1,"image":"`+image+`","repository":"`+reg.Repo("app")+`","digest":"`+otherDigest+`"}`)
	duplicated := writeFile("duplicate.json", `{"schemaVersion":1,"repository":"`+reg.Repo("app")+`","digest":"`+digest+`","digest":"`+otherDigest+`"}`)
	oversized := writeFile("oversized.json", `{"schemaVersion":1,"repository":"`+reg.Repo("app")+`","digest":"`+digest+`","pad":"`+strings.Repeat(" ", 1<<20)+`"}`)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "bash_env")
	if err := os.Symlink(filepath.Join(dir, "elsewhere"), link); err != nil {
		t.Fatal(err)
	}
	// A repository with a ledger (environment prod), for the typo'd-environment rows.
	ledgered := reg.Repo("ledgered") + "@" + testimage.Image(t, reg.Repo("ledgered:v1"), 1).String()
	if r := runCLI(t, nil, "mark-good", "--image", ledgered, "--env", "prod"); r.code != 0 {
		t.Fatalf("seeding a ledger: %+v", r)
	}
	sha512 := "sha512:" + strings.Repeat("0", 128)
	long := strings.Repeat("a", 129)
	env := map[string]string{"SMOKE_TOKEN": "Bearer " + canary.SmokeToken, "AWS_ACCESS_KEY_ID": canary.StaticAccessKeyID,
		"AWS_SECRET_ACCESS_KEY": canary.StaticSecretKey, "DOCKER_CONFIG": dir}
	cases := []badInput{
		{"record-artifact", "no --image", []string{"record-artifact"}, nil, 2},
		{"record-artifact", "upper-case repository", []string{"record-artifact", "--image", reg.Repo("App:v1")}, nil, 2},
		{"record-artifact", "neither tag nor digest", []string{"record-artifact", "--image", reg.Repo("app")}, nil, 2},
		{"record-artifact", "'..' path component", []string{"record-artifact", "--image", reg.Host + "/../etc/passwd:v1"}, nil, 2},
		{"record-artifact", "tag starting with '-'", []string{"record-artifact", "--image", reg.Repo("app:-v1")}, nil, 2},
		{"record-artifact", "129-character tag", []string{"record-artifact", "--image", reg.Repo("app:" + long)}, nil, 2},
		{"record-artifact", "sha512 digest", []string{"record-artifact", "--image", reg.Repo("app@" + sha512)}, nil, 2},
		{"record-artifact", "trailing newline", []string{"record-artifact", "--image", reg.Repo("app:v1\n")}, nil, 2},
		{"record-artifact", "query string in reference", []string{"record-artifact", "--image", reg.Repo("app:v1?x=1")}, nil, 2},
		{"record-artifact", "registry with a non-host name", []string{"record-artifact", "--image", "\x98.x/app:v1"}, nil, 2},
		{"record-artifact", "--timeout 0", []string{"record-artifact", "--image", reg.Repo("app:v1"), "--timeout", "0s"}, nil, 2},
		{"promote", "source by tag only", []string{"promote", "--from", reg.Repo("app:v1"), "--to", reg.Repo("prod")}, nil, 5},
		{"promote", "truncated digest", []string{"promote", "--from", reg.Repo("app@sha256:abc"), "--to", reg.Repo("prod")}, nil, 2},
		{"promote", "sha512 digest", []string{"promote", "--from", reg.Repo("app@" + sha512), "--to", reg.Repo("prod")}, nil, 2},
		{"promote", "destination with a tag", []string{"promote", "--from", image, "--to", reg.Repo("prod:v1")}, nil, 2},
		{"promote", "destination walking up", []string{"promote", "--from", image, "--to", reg.Host + "/prod/../../x"}, nil, 2},
		{"promote", "no destination", []string{"promote", "--from", image}, nil, 2},
		{"promote", "tag with a space", []string{"promote", "--from", image, "--to", reg.Repo("prod"), "--tag", "v 1"}, nil, 2},
		{"promote", "tag with shell syntax", []string{"promote", "--from", image, "--to", reg.Repo("prod"), "--tag", "$(touch PWNED)"}, nil, 2},
		{"promote", "129-character tag", []string{"promote", "--from", image, "--to", reg.Repo("prod"), "--tag", long}, nil, 2},
		{"promote", "environment with shell syntax", []string{"promote", "--from", image, "--to", reg.Repo("prod"), "--env", "prod;rm -rf /"}, nil, 2},
		{"promote", "malformed release file", []string{"promote", "--release", badJSON, "--to", reg.Repo("prod")}, nil, 2},
		{"promote", "release file of an unknown schema", []string{"promote", "--release", otherRelease, "--to", reg.Repo("prod")}, nil, 2},
		{"promote", "--from and --release together", []string{"promote", "--from", image, "--release", otherRelease, "--to", reg.Repo("prod")}, nil, 2},
		{"promote", "--export-to a symbolic link", []string{"promote", "--from", image, "--to", reg.Repo("prod"), "--export-to", link}, nil, 2},
		{"mark-deployed", "unknown status", []string{"mark-deployed", "--image", image, "--env", "prod", "--status", "running"}, nil, 2},
		{"mark-deployed", "status good (mark-good's job)", []string{"mark-deployed", "--image", image, "--env", "prod", "--status", "good"}, nil, 2},
		{"mark-good", "upper-case environment", []string{"mark-good", "--image", image, "--env", "Prod"}, nil, 2},
		{"mark-good", "32-character environment", []string{"mark-good", "--image", image, "--env", "p" + strings.Repeat("x", 31)}, nil, 2},
		{"mark-good", "environment with a dot", []string{"mark-good", "--image", image, "--env", "prod.good"}, nil, 2},
		{"mark-good", "environment with a newline", []string{"mark-good", "--image", image, "--env", "prod\nx"}, nil, 2},
		{"mark-good", "no environment", []string{"mark-good", "--image", image}, nil, 2},
		{"mark-good", "image by tag", []string{"mark-good", "--image", reg.Repo("app:v1"), "--env", "prod"}, nil, 5},
		{"mark-good", "unknown digest", []string{"mark-good", "--image", reg.Repo("app@sha256:" + strings.Repeat("0", 64)), "--env", "prod"}, nil, 4},
		{"mark-bad", "environment from the environment, hostile", []string{"mark-bad", "--image", image}, map[string]string{"SHIPGATE_FLAG_ENV": "$(id)"}, 2},
		{"mark-bad", "alias that is not a tag", []string{"mark-bad", "--image", image, "--env", "prod", "--alias", "prod current"}, nil, 2},
		{"releases", "repository with a tag", []string{"releases", "--repo", reg.Repo("app:v1"), "--env", "prod"}, nil, 2},
		{"releases", "repository with a digest", []string{"releases", "--repo", image, "--env", "prod"}, nil, 2},
		{"releases", "no repository", []string{"releases", "--env", "prod"}, nil, 2},
		{"releases", "--output xml", []string{"releases", "--repo", reg.Repo("app"), "--env", "prod", "--output", "xml"}, nil, 2},
		{"releases", "negative --limit", []string{"releases", "--repo", reg.Repo("app"), "--env", "prod", "--limit", "-1"}, nil, 2},
		{"find", "neither commit nor tree", []string{"find", "--repo", reg.Repo("app"), "--env", "prod"}, nil, 2},
		{"find", "commit that is not hex", []string{"find", "--repo", reg.Repo("app"), "--env", "prod", "--commit", "zzzz"}, nil, 2},
		{"find", "unknown status", []string{"find", "--repo", reg.Repo("app"), "--env", "prod", "--commit", "abcdef1", "--status", "great"}, nil, 2},
		{"releases", "repository that does not exist (NAME_UNKNOWN)", []string{"releases", "--repo", reg.Repo("ap"), "--env", "prod"}, nil, 4},
		{"releases", "environment never seen in a ledger that has others", []string{"releases", "--repo", reg.Repo("ledgered"), "--env", "prodution"}, nil, 4},
		{"rollback", "repository that does not exist (NAME_UNKNOWN)", []string{"rollback", "--repo", reg.Repo("ap"), "--env", "prod"}, nil, 4},
		{"rollback", "environment never seen in a ledger that has others", []string{"rollback", "--repo", reg.Repo("ledgered"), "--env", "prodution"}, nil, 4},
		{"find", "repository that does not exist (NAME_UNKNOWN)", []string{"find", "--repo", reg.Repo("ap"), "--env", "prod", "--commit", strings.Repeat("a", 40)}, nil, 4},
		{"find", "environment never seen in a ledger that has others", []string{"find", "--repo", reg.Repo("ledgered"), "--env", "prodution", "--commit", strings.Repeat("a", 40)}, nil, 4},
		{"rollback", "--steps 0", []string{"rollback", "--repo", reg.Repo("app"), "--env", "prod", "--steps", "0"}, nil, 2},
		{"rollback", "--digest of another algorithm", []string{"rollback", "--repo", reg.Repo("app"), "--env", "prod", "--digest", sha512}, nil, 2},
		{"rollback", "--digest and --steps", []string{"rollback", "--repo", reg.Repo("app"), "--env", "prod", "--digest", digest, "--steps", "2"}, nil, 2},
		{"rollback", "--digest never good here", []string{"rollback", "--repo", reg.Repo("app"), "--env", "prod", "--digest", digest}, nil, 5},
		{"rollback", "--timeout negative", []string{"rollback", "--repo", reg.Repo("app"), "--env", "prod", "--timeout", "-1s"}, nil, 2},
		{"ledger prune", "--keep 0", []string{"ledger", "prune", "--repo", reg.Repo("app"), "--env", "prod", "--keep", "0", "--apply"}, nil, 2},
		{"ledger prune", "negative --keep-days", []string{"ledger", "prune", "--repo", reg.Repo("app"), "--env", "prod", "--keep-days", "-1", "--apply"}, nil, 2},
		{"ledger prune", "environment with shell syntax", []string{"ledger", "prune", "--repo", reg.Repo("app"), "--env", "prod;rm -rf /", "--apply"}, nil, 2},
		{"ledger prune", "--ledger-repo on another registry", []string{"ledger", "prune", "--repo", reg.Repo("app"), "--env", "prod", "--ledger-repo", "elsewhere.example/app-ledger", "--apply"}, nil, 2},
		{"ledger prune", "--ledger-repo with a tag", []string{"ledger", "prune", "--repo", reg.Repo("app"), "--env", "prod", "--ledger-repo", reg.Repo("x:v1"), "--apply"}, nil, 2},
		{"ledger copy", "no --to", []string{"ledger", "copy", "--repo", reg.Repo("app"), "--env", "prod", "--apply"}, nil, 2},
		{"ledger copy", "--to the same repository", []string{"ledger", "copy", "--repo", reg.Repo("app"), "--to", reg.Repo("app"), "--env", "prod", "--apply"}, nil, 2},
		{"ledger copy", "--to another registry", []string{"ledger", "copy", "--repo", reg.Repo("app"), "--to", "elsewhere.example/app", "--env", "prod", "--apply"}, nil, 2},
		{"mark-good", "--ledger-repo on another registry", []string{"mark-good", "--image", image, "--env", "prod", "--ledger-repo", "elsewhere.example/app-ledger"}, nil, 2},
		{"aws assume-role", "no --role-arn", []string{"aws", "assume-role"}, nil, 2},
		{"aws assume-role", "malformed role ARN", []string{"aws", "assume-role", "--role-arn", "arn:aws:iam::12:role/x", "--region", "us-east-1"}, nil, 2},
		{"aws assume-role", "region with shell syntax", []string{"aws", "assume-role", "--role-arn", "arn:aws:iam::123456789012:role/x", "--region", "us-east-1;id"}, nil, 2},
		{"aws assume-role", "duration below 900s", []string{"aws", "assume-role", "--role-arn", "arn:aws:iam::123456789012:role/x", "--region", "us-east-1", "--duration", "1"}, nil, 2},
		{"aws assume-role", "unknown --write", []string{"aws", "assume-role", "--role-arn", "arn:aws:iam::123456789012:role/x", "--region", "us-east-1", "--write", "file"}, nil, 2},
		{"aws assume-role", "profile name with ']'", []string{"aws", "assume-role", "--role-arn", "arn:aws:iam::123456789012:role/x", "--region", "us-east-1", "--write", "profile", "--profile", "a]b"}, nil, 2},
		{"aws assume-role", "non-AWS STS endpoint", []string{"aws", "assume-role", "--role-arn", "arn:aws:iam::123456789012:role/x", "--region", "us-east-1", "--sts-endpoint", "https://evil.example"}, nil, 2},
		{"aws assume-role", "session name with '/'", []string{"aws", "assume-role", "--role-arn", "arn:aws:iam::123456789012:role/x", "--region", "us-east-1", "--session-name", "a/b"}, nil, 2},
		{"aws trust-policy", "account ID too short", []string{"aws", "trust-policy", "--account-id", "1", "--org-id", "o", "--project-id", "p"}, nil, 2},
		{"smoke-test", "no check", []string{"smoke-test"}, nil, 2},
		{"smoke-test", "ftp URL", []string{"smoke-test", "--url", "ftp://127.0.0.1/"}, nil, 2},
		{"smoke-test", "status 99", []string{"smoke-test", "--url", "http://127.0.0.1:1/", "--status", "99"}, nil, 2},
		{"smoke-test", "body regexp that does not compile", []string{"smoke-test", "--url", "http://127.0.0.1:1/", "--body", "("}, nil, 2},
		{"smoke-test", "JSON expectation without '='", []string{"smoke-test", "--url", "http://127.0.0.1:1/", "--json", ".a.b"}, nil, 2},
		{"smoke-test", "header with a literal credential", []string{"smoke-test", "--url", "http://127.0.0.1:1/", "--header", "Authorization=Bearer " + canary.SmokeToken}, nil, 2},
		{"smoke-test", "negative --successes", []string{"smoke-test", "--url", "http://127.0.0.1:1/", "--successes", "-1"}, nil, 2},
		{"promote", "stray word before --env (issue 18.1)", []string{"promote", "--from", image, "--to", reg.Repo("prod"), "oops", "--env", "production"}, nil, 2},
		{"promote", "two values after one --to", []string{"promote", "--from", image, "--to", reg.Repo("prod"), reg.Repo("x")}, nil, 2},
		{"releases", "environment as a positional word", []string{"releases", "--repo", reg.Repo("app"), "prod"}, nil, 2},
		{"lint", "flag after the file", []string{"lint", "c.yml", "--output", "json"}, nil, 2},
		{"shipgate", "mistyped command", []string{"releses", "--repo", reg.Repo("app")}, nil, 2},
		{"promote", "release file whose digest disagrees with its image (issue 14.5)", []string{"promote", "--release", mismatched, "--to", reg.Repo("prod")}, nil, 2},
		{"promote", "release file with a duplicate key", []string{"promote", "--release", duplicated, "--to", reg.Repo("prod")}, nil, 2},
		{"promote", "release file over 1 MiB", []string{"promote", "--release", oversized, "--to", reg.Repo("prod")}, nil, 2},
		{"promote", "--release naming a FIFO (issue 14.6)", []string{"promote", "--release", fifo, "--to", reg.Repo("prod")}, nil, 2},
		{"promote", "--release naming a folder", []string{"promote", "--release", dir, "--to", reg.Repo("prod")}, nil, 2},
		{"mark-good", "--release naming /dev/zero", []string{"mark-good", "--image", image, "--env", "prod", "--release", "/dev/zero"}, nil, 2},
		{"smoke-test", "--checks naming a FIFO", []string{"smoke-test", "--checks", fifo}, nil, 2},
		{"smoke-test", "--ca-file naming a FIFO", []string{"smoke-test", "--url", "https://127.0.0.1:1/", "--ca-file", fifo}, nil, 2},
		{"aws assume-role", "--token-file naming a FIFO", []string{"aws", "assume-role", "--role-arn", "arn:aws:iam::123456789012:role/x", "--region", "us-east-1", "--token-file", fifo}, nil, 2},
		{"lint", "config naming a FIFO", []string{"lint", fifo}, nil, 2},
		{"lint", "--config naming a FIFO", []string{"lint", "--config", fifo}, nil, 2},
		{"gcp access-token", "--credentials naming a FIFO", []string{"gcp", "access-token", "--credentials", fifo}, nil, 2},
		{"smoke-test", "negative --timeout", []string{"smoke-test", "--url", "http://127.0.0.1:1/", "--timeout", "-1s"}, nil, 2},
	}
	before := registryTags(t, reg)
	var report strings.Builder
	report.WriteString("| command | bad input | answer |\n|---|---|---|\n")
	accepted := 0
	for _, tc := range cases {
		t.Run(tc.command+"/"+tc.what, func(t *testing.T) {
			environment := map[string]string{}
			for k, v := range env {
				environment[k] = v
			}
			for k, v := range tc.env {
				environment[k] = v
			}
			r := runCLI(t, environment, tc.args...)
			fmt.Fprintf(&report, "| %s | %s | exit %d |\n", tc.command, tc.what, r.code)
			if r.code == 0 {
				accepted++
			}
			mustCode(t, r, tc.code)
			if strings.TrimSpace(r.stdout) != "" {
				t.Errorf("refused, yet stdout holds %q", r.stdout)
			}
			if f := canary.Scan(r.stdout + r.stderr); len(f) > 0 {
				t.Errorf("a planted credential in the output: %v", f)
			}
		})
	}
	if after := registryTags(t, reg); after != before {
		t.Errorf("refused inputs changed the registry:\nbefore %s\nafter  %s", before, after)
	}
	if _, err := os.Lstat(filepath.Join(dir, "elsewhere")); err == nil {
		t.Error("the symbolic link's target was written")
	}
	if path := os.Getenv("SHIPGATE_BADINPUT_REPORT"); path != "" {
		fmt.Fprintf(&report, "\n%d bad inputs over %d commands; accepted: %d.\n", len(cases), countCommands(cases), accepted)
		if err := os.WriteFile(path, []byte(report.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func countCommands(cases []badInput) int {
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.command] = true
	}
	return len(seen)
}

// registryTags lists the tags of the repositories the cases name, read directly.
func registryTags(t *testing.T, reg *registryserver.Server) string {
	t.Helper()
	var out []string
	for _, repo := range []string{"app", "prod", "x", "etc/passwd", "ledgered", "ap"} {
		r, err := name.NewRepository(reg.Repo(repo), name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		tags, _ := remote.List(r) // a repository never written has no tags
		for _, tag := range tags {
			out = append(out, repo+":"+tag)
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}
