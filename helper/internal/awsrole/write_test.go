package awsrole

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// adversarial values: quotes, command substitutions, backticks, newlines, globs.
var adversarial = []string{
	`it's`, `'; touch PWNED; '`, `$(touch PWNED)`, "`touch PWNED`", "line1\nline2\n", `"$HOME"`, `\'\\`,
	`*`, `${IFS}`, `!!`, "\t tab", `''''`,
}

// TestEnvLinesSourcedInBash feeds adversarial credential values through the $BASH_ENV writer,
// sources the file in bash, and checks nothing ran and every value round-trips.
func TestEnvLinesSourcedInBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	for i, v := range adversarial {
		dir := t.TempDir()
		c := Credentials{AccessKeyID: v, SecretAccessKey: v + "s", SessionToken: "t" + v, Expiration: time.Now()}
		lines, err := EnvLines(c, v+"r")
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "bash_env")
		if err := os.WriteFile(file, []byte(lines), 0o600); err != nil {
			t.Fatal(err)
		}
		script := `set -u; source "$1"; for v in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION; do printf '%s\0' "${!v}"; done; printf '%s\0' "${AWS_PROFILE-unset}"`
		cmd := exec.Command(bash, "-c", script, "bash", file)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "AWS_PROFILE=shadow"}
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("value %d: bash: %v: %s", i, err, stderr.String())
		}
		got := strings.Split(strings.TrimSuffix(out.String(), "\x00"), "\x00")
		want := []string{v, v + "s", "t" + v, v + "r", "unset"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("value %d: got %q, want %q", i, got, want)
		}
		if _, err := os.Stat(filepath.Join(dir, "PWNED")); err == nil {
			t.Fatalf("value %d executed", i)
		}
	}
}

func TestWriteProfile(t *testing.T) {
	dir := t.TempDir()
	files := ProfileFiles{Credentials: filepath.Join(dir, ".aws", "credentials"), Config: filepath.Join(dir, ".aws", "config")}
	if err := os.MkdirAll(filepath.Dir(files.Credentials), 0o700); err != nil {
		t.Fatal(err)
	}
	// Existing files with other profiles and a world-readable mode.
	if err := os.WriteFile(files.Credentials, []byte("[other]\naws_access_key_id = KEEP\n\n[ci]\naws_access_key_id = OLD\naws_secret_access_key = OLDSECRET\n[after]\nx = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := Credentials{AccessKeyID: "ASIANEW", SecretAccessKey: "newsecret", SessionToken: "newtoken"}
	if err := WriteProfile(files, "ci", c, "eu-west-1"); err != nil {
		t.Fatal(err)
	}
	creds, _ := os.ReadFile(files.Credentials)
	want := "[other]\naws_access_key_id = KEEP\n\n[ci]\naws_access_key_id = ASIANEW\naws_secret_access_key = newsecret\naws_session_token = newtoken\n[after]\nx = 1\n"
	if string(creds) != want {
		t.Errorf("credentials file:\n%s\nwant:\n%s", creds, want)
	}
	config, _ := os.ReadFile(files.Config)
	if string(config) != "[profile ci]\nregion = eu-west-1\n" {
		t.Errorf("config file %q", config)
	}
	for _, f := range []string{files.Credentials, files.Config} {
		fi, err := os.Stat(f)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", f, fi.Mode().Perm(), err)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(files.Credentials))
	if len(entries) != 2 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	// The default profile is [default] in both files; a second write replaces, not appends.
	for i := 0; i < 2; i++ {
		if err := WriteProfile(files, "default", c, "us-east-1"); err != nil {
			t.Fatal(err)
		}
	}
	config, _ = os.ReadFile(files.Config)
	if strings.Count(string(config), "[default]") != 1 || !strings.Contains(string(config), "[profile ci]") {
		t.Errorf("config file %q", config)
	}
}

func TestWriteProfileRefusesSymlinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	if err := os.WriteFile(target, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "credentials")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	err := WriteProfile(ProfileFiles{Credentials: link, Config: filepath.Join(dir, "config")}, "ci",
		Credentials{AccessKeyID: "A", SecretAccessKey: "S", SessionToken: "T"}, "us-east-1")
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("err %v", err)
	}
	if data, _ := os.ReadFile(target); string(data) != "precious\n" {
		t.Fatalf("link target changed: %q", data)
	}
	if err := WriteProfile(ProfileFiles{Credentials: filepath.Join(dir, "c"), Config: filepath.Join(dir, "x")}, "bad name", Credentials{}, "us-east-1"); err == nil {
		t.Fatal("bad profile name accepted")
	}
}

func TestCredentialProcessJSON(t *testing.T) {
	exp := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	data, err := CredentialProcessJSON(Credentials{AccessKeyID: "A", SecretAccessKey: "S", SessionToken: "T", Expiration: exp})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"Version": float64(1), "AccessKeyId": "A", "SecretAccessKey": "S", "SessionToken": "T", "Expiration": "2026-11-26T10:00:00Z"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}
