package awsrole

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzEnvLines sources the $BASH_ENV lines for arbitrary credential and region values in bash:
// nothing runs, every value reads back exactly, and AWS_PROFILE ends unset. A value bash cannot
// hold (NUL) must be refused, never written.
func FuzzEnvLines(f *testing.F) {
	for _, v := range adversarial {
		f.Add(v, v+"s", "t"+v, "us-east-1")
	}
	f.Add("AKIA", "secret", "token\x00", "us-east-1")
	f.Add("AKIA", "secret", "token", "eu-west-1'; touch PWNED; '")
	bash, err := exec.LookPath("bash")
	if err != nil {
		f.Skip("bash not installed")
	}
	f.Fuzz(func(t *testing.T, key, secret, token, region string) {
		lines, err := EnvLines(Credentials{AccessKeyID: key, SecretAccessKey: secret, SessionToken: token, Expiration: time.Now()}, region)
		if err != nil {
			if !strings.ContainsRune(key+secret+token+region, 0) {
				t.Fatalf("refused values without NUL: %v", err)
			}
			return
		}
		dir := t.TempDir()
		file := filepath.Join(dir, "bash_env")
		if err := os.WriteFile(file, []byte(lines), 0o600); err != nil {
			t.Fatal(err)
		}
		script := `set -u; source "$1"; for v in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION; do printf '%s\0' "${!v}"; done; printf '%s' "${AWS_PROFILE-unset}"`
		cmd := exec.Command(bash, "-c", script, "bash", file)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "AWS_PROFILE=shadow"}
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("bash: %v: %s", err, stderr.String())
		}
		want := strings.Join([]string{key, secret, token, region, region, "unset"}, "\x00")
		if out.String() != want {
			t.Fatalf("read back %q, want %q", out.String(), want)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Fatalf("sourcing created files: %v", entries)
		}
	})
}

// FuzzWriteProfile writes a profile into credential and config files that already hold other
// profiles (and arbitrary other content). Either the write is refused, or: the profile's section
// appears once with exactly its keys and values, every other section survives, and no value
// opened a section or key of its own.
func FuzzWriteProfile(f *testing.F) {
	existing := "[default]\naws_access_key_id = KEEP\n\n[other]\nregion = eu-west-1\n"
	f.Add("shipgate", "AKIA", "secret", "token", "us-east-1", existing)
	f.Add("default", "AKIA", "secret", "token", "us-east-1", existing)
	f.Add("shipgate", "AKIA\n[evil]\nx = y", "secret", "token", "us-east-1", existing)
	f.Add("shipgate", "AKIA", "secret\rcredential_process = touch PWNED", "token", "us-east-1", existing)
	f.Add("ship]gate", "AKIA", "secret", "token", "us-east-1", "")
	f.Add("shipgate", "AKIA", "secret", "token", "us-east-1", "[shipgate]\naws_access_key_id = OLD\n[shipgate]\nx = 1\n")
	f.Add("a", "k", "s", "t", "r", "[ a ]\nk = v\n[b]")
	f.Fuzz(func(t *testing.T, profile, key, secret, token, region, before string) {
		dir := t.TempDir()
		files := ProfileFiles{Credentials: filepath.Join(dir, "credentials"), Config: filepath.Join(dir, "config")}
		for _, p := range []string{files.Credentials, files.Config} {
			if err := os.WriteFile(p, []byte(before), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		err := WriteProfile(files, profile, Credentials{AccessKeyID: key, SecretAccessKey: secret, SessionToken: token}, region)
		if err != nil {
			return
		}
		for _, v := range []string{key, secret, token, region} {
			if strings.ContainsAny(v, "\r\n") {
				t.Fatalf("accepted a value with a line break: %q", v)
			}
		}
		configSection := "profile " + profile
		if profile == "default" {
			configSection = "default"
		}
		for _, file := range []struct {
			path, section string
			keys          [][2]string
		}{
			{files.Credentials, profile, [][2]string{{"aws_access_key_id", key}, {"aws_secret_access_key", secret}, {"aws_session_token", token}}},
			{files.Config, configSection, [][2]string{{"region", region}}},
		} {
			data, err := os.ReadFile(file.path)
			if err != nil {
				t.Fatal(err)
			}
			after := parseINI(string(data))
			got := after.sections[file.section]
			if after.count[file.section] != 1 || len(got) != len(file.keys) {
				t.Fatalf("%s: section [%s] appears %d times with %d lines, want once with %d:\n%s", filepath.Base(file.path), file.section, after.count[file.section], len(got), len(file.keys), data)
			}
			for i, kv := range file.keys {
				// INI readers trim values; STS never returns surrounding spaces, and --region is
				// validated before writing, so compare what a reader sees.
				if want := strings.TrimSpace(kv[0] + " = " + kv[1]); got[i] != want {
					t.Fatalf("%s: [%s] line %d is %q, want %q", filepath.Base(file.path), file.section, i, got[i], want)
				}
			}
			for name := range parseINI(before).sections {
				if name != "" && name != file.section && after.count[name] == 0 {
					t.Fatalf("%s: section [%s] was lost:\n%s", filepath.Base(file.path), name, data)
				}
			}
			for name := range after.sections {
				if _, was := parseINI(before).sections[name]; !was && name != file.section {
					t.Fatalf("%s: a new section [%s] appeared:\n%s", filepath.Base(file.path), name, data)
				}
			}
		}
	})
}

type ini struct {
	sections map[string][]string // section -> its non-blank lines, in order
	count    map[string]int
}

// parseINI reads sections as the AWS CLI does: a line that is "[name]" after trimming opens a
// section; other non-blank lines belong to the open one. Lines end at \n (and \r, which Python's
// universal newlines also honour).
func parseINI(text string) ini {
	out := ini{sections: map[string][]string{}, count: map[string]int{}}
	current := ""
	sc := bufio.NewScanner(strings.NewReader(strings.ReplaceAll(text, "\r", "\n")))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			current = strings.TrimSpace(line[1 : len(line)-1])
			out.count[current]++
			if _, ok := out.sections[current]; !ok {
				out.sections[current] = nil
			}
			continue
		}
		out.sections[current] = append(out.sections[current], line)
	}
	return out
}
