package awsrole

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shipgate/shipgate/helper/internal/atomicfile"
	"github.com/shipgate/shipgate/helper/internal/exportenv"
	"github.com/shipgate/shipgate/helper/internal/failure"
)

// ConflictingVariables would make later AWS CLI/SDK calls use something other than the exported
// session: a profile selection, or the legacy session-token name some tools still read. Static
// keys from a context (aws-cli orb #162, #179, #193, #209) are overwritten by the export lines
// themselves.
var ConflictingVariables = []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SECURITY_TOKEN"}

// EnvLines returns the lines appended to $BASH_ENV: unset lines for conflicting variables,
// then single-quoted export lines for the session and region.
func EnvLines(c Credentials, region string) (string, error) {
	var b strings.Builder
	for _, name := range ConflictingVariables {
		line, err := exportenv.Unset(name)
		if err != nil {
			return "", err
		}
		b.WriteString(line)
	}
	for _, kv := range [][2]string{
		{"AWS_ACCESS_KEY_ID", c.AccessKeyID},
		{"AWS_SECRET_ACCESS_KEY", c.SecretAccessKey},
		{"AWS_SESSION_TOKEN", c.SessionToken},
		{"AWS_REGION", region},
		{"AWS_DEFAULT_REGION", region},
	} {
		line, err := exportenv.Line(kv[0], kv[1])
		if err != nil {
			return "", err
		}
		b.WriteString(line)
	}
	return b.String(), nil
}

// EnvNames are the variables EnvLines exports, for progress messages.
var EnvNames = []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"}

// ProfileEnvLines returns the lines that make later steps use profile: it is selected, and
// keys in the environment (which the SDKs prefer over any profile) are unset.
func ProfileEnvLines(profile string) (string, error) {
	var b strings.Builder
	for _, name := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_DEFAULT_PROFILE"} {
		line, _ := exportenv.Unset(name)
		b.WriteString(line)
	}
	line, err := exportenv.Line("AWS_PROFILE", profile)
	if err != nil {
		return "", err
	}
	b.WriteString(line)
	return b.String(), nil
}

// CredentialProcess is the JSON an AWS credential_process prints (AWS CLI and SDKs read it).
type CredentialProcess struct {
	Version         int
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

// CredentialProcessJSON renders c in the credential_process format.
func CredentialProcessJSON(c Credentials) ([]byte, error) {
	data, err := json.Marshal(CredentialProcess{
		Version: 1, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
		SessionToken: c.SessionToken, Expiration: c.Expiration.UTC().Format(time.RFC3339),
	})
	if err != nil {
		return nil, failure.Wrap(failure.Internal, errors.New("encoding failed"), "encoding credential_process output")
	}
	return append(data, '\n'), nil
}

var profileNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.+@-]{1,64}$`) })

// ProfileFiles says where the AWS shared files live.
type ProfileFiles struct {
	Credentials string // $AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials
	Config      string // $AWS_CONFIG_FILE or ~/.aws/config
}

// WriteProfile stores c and region as profile in the shared credentials and config files.
// Other profiles and lines are kept; the profile's section is replaced. Each file is written
// to a temporary file in its folder, mode 0600, and renamed over the original, so a reader
// never sees half a file and an existing wider mode does not survive; a symbolic link is
// refused rather than followed.
func WriteProfile(files ProfileFiles, profile string, c Credentials, region string) error {
	if !profileNameRE().MatchString(profile) {
		return failure.New(failure.Usage, "--profile %q: want 1 to 64 letters, digits and _.+@-", profile)
	}
	for _, v := range []string{c.AccessKeyID, c.SecretAccessKey, c.SessionToken, region} {
		if strings.ContainsAny(v, "\r\n") {
			return failure.New(failure.Internal, "credential values must not contain line breaks")
		}
	}
	credSection := profile
	configSection := "profile " + profile
	if profile == "default" {
		configSection = "default"
	}
	if err := updateINI(files.Credentials, credSection, [][2]string{
		{"aws_access_key_id", c.AccessKeyID},
		{"aws_secret_access_key", c.SecretAccessKey},
		{"aws_session_token", c.SessionToken},
	}); err != nil {
		return err
	}
	return updateINI(files.Config, configSection, [][2]string{{"region", region}})
}

// updateINI replaces (or appends) [section] in path with keys.
func updateINI(path, section string, keys [][2]string) error {
	existing, err := readNoFollow(path)
	if err != nil {
		return err
	}
	var out strings.Builder
	skipping, replaced := false, false
	writeSection := func() {
		out.WriteString("[" + section + "]\n")
		for _, kv := range keys {
			out.WriteString(kv[0] + " = " + kv[1] + "\n")
		}
	}
	sc := bufio.NewScanner(strings.NewReader(existing))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "[") && strings.HasSuffix(trimmed, "]") {
			name := strings.TrimSpace(trimmed[1 : len(trimmed)-1])
			if name == section {
				skipping = true
				if !replaced {
					writeSection()
					replaced = true
				}
				continue
			}
			skipping = false
		}
		if !skipping {
			out.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		return failure.Wrap(failure.Usage, err, "reading %q", path)
	}
	if !replaced {
		if out.Len() > 0 && !strings.HasSuffix(out.String(), "\n\n") {
			out.WriteString("\n")
		}
		writeSection()
	}
	return atomicfile.Write(path, []byte(out.String()), 0o600)
}

// readNoFollow reads path ("" when it does not exist), refusing a symbolic link.
func readNoFollow(path string) (string, error) {
	// O_NONBLOCK: a FIFO planted at the path is refused below instead of hanging the command.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return "", failure.New(failure.Usage, "%q is a symbolic link: refusing to follow it", path)
		}
		return "", failure.Wrap(failure.Usage, err, "opening %q", path)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return "", failure.New(failure.Usage, "%q is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 16<<20))
	if err != nil {
		return "", failure.Wrap(failure.Usage, err, "reading %q", path)
	}
	return string(data), nil
}
