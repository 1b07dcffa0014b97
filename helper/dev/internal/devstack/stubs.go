package devstack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// StubNames are the commands stubbed on PATH in local runs: what cannot exist on a developer's
// machine without cloud accounts or a container engine.
var StubNames = []string{"docker", "kubectl", "circleci", "aws", "gcloud"}

// WriteStubs writes one shell script per stub into dir, each running `executable stub NAME`.
func WriteStubs(dir, executable string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, stub := range StubNames {
		script := fmt.Sprintf("#!/bin/sh\n# shipgate devstack stub: %s is not available locally.\nexec %q stub %s \"$@\"\n", stub, executable, stub)
		if err := os.WriteFile(filepath.Join(dir, stub), []byte(script), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// RunStub runs stub name with args and returns its exit code.
func RunStub(name string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var err error
	switch name {
	case "docker":
		err = dockerStub(args, stdin, stdout)
	case "kubectl":
		err = kubectlStub(args, stdout)
	case "circleci":
		err = circleciStub(args, stdout)
	case "aws":
		err = awsStub(args, stdout)
	case "gcloud":
		err = gcloudStub(args, stdout)
	default:
		err = fmt.Errorf("no stub named %q", name)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s (local stub): %v\n", name, err)
		return 1
	}
	return 0
}

// dockerStub handles `docker login` and `docker [buildx] build --push -t REF [--build-arg K=V] DIR`:
// it pushes a small synthetic image whose labels carry the VERSION build argument and whether
// the source is broken (a file named BROKEN in the build context).
func dockerStub(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "buildx" {
		args = args[1:]
	}
	if len(args) == 0 {
		return fmt.Errorf("no docker command")
	}
	switch args[0] {
	case "login":
		_, _ = io.Copy(io.Discard, stdin)
		fmt.Fprintln(stdout, "Login Succeeded (local stub)")
		return nil
	case "push":
		fmt.Fprintln(stdout, "already pushed by build --push (local stub)")
		return nil
	case "build":
	default:
		return fmt.Errorf("unsupported docker command %q", args[0])
	}
	var tags []string
	buildArgs := map[string]string{}
	contextDir := "."
	for i := 1; i < len(args); i++ {
		a := args[i]
		next := func() string {
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch {
		case a == "--tag" || a == "-t":
			tags = append(tags, next())
		case strings.HasPrefix(a, "--tag="):
			tags = append(tags, strings.TrimPrefix(a, "--tag="))
		case a == "--build-arg":
			kv := strings.SplitN(next(), "=", 2)
			if len(kv) == 2 {
				buildArgs[kv[0]] = kv[1]
			}
		case a == "--push" || a == "--load":
		case a == "--platform" || a == "--file" || a == "-f":
			next()
		case !strings.HasPrefix(a, "-"):
			contextDir = a
		}
	}
	if len(tags) == 0 {
		return fmt.Errorf("build needs --tag")
	}
	img, err := random.Image(512, 2)
	if err != nil {
		return err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config.Labels = map[string]string{VersionLabel: buildArgs["VERSION"]}
	if _, err := os.Stat(filepath.Join(contextDir, "BROKEN")); err == nil {
		cfg.Config.Labels[BrokenLabel] = "true"
	}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	for _, tag := range tags {
		ref, err := name.ParseReference(tag, name.WeakValidation)
		if err != nil {
			return err
		}
		if host := ref.Context().RegistryStr(); !strings.HasPrefix(host, "127.") && !strings.HasPrefix(host, "localhost") {
			return fmt.Errorf("refusing to push %s: the local world only reaches registries on 127.0.0.1 (is REGISTRY set?)", tag)
		}
		if err := remote.Write(ref, img); err != nil {
			return fmt.Errorf("pushing %s: %w", tag, err)
		}
		fmt.Fprintf(stdout, "pushed %s (%s) (local stub)\n", tag, digest)
	}
	return nil
}

// kubectlStub handles `kubectl [--context ENV] set image deployment/app app=IMAGE` by deploying
// IMAGE to the stand-in service of ENV (--context, else $SHIPGATE_ENV), found at $<ENV>_URL;
// `rollout status` succeeds.
func kubectlStub(args []string, stdout io.Writer) error {
	env := os.Getenv("SHIPGATE_ENV")
	var rest []string
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "--context" && i+1 < len(args):
			env = args[i+1]
			i++
		case strings.HasPrefix(args[i], "--context="):
			env = strings.TrimPrefix(args[i], "--context=")
		default:
			rest = append(rest, args[i])
		}
	}
	if len(rest) >= 2 && rest[0] == "rollout" && rest[1] == "status" {
		fmt.Fprintln(stdout, "deployment \"app\" successfully rolled out (local stub)")
		return nil
	}
	if len(rest) < 4 || rest[0] != "set" || rest[1] != "image" {
		return fmt.Errorf("unsupported kubectl command %q", strings.Join(args, " "))
	}
	kv := strings.SplitN(rest[3], "=", 2)
	if len(kv) != 2 {
		return fmt.Errorf("set image wants CONTAINER=IMAGE, got %q", rest[3])
	}
	base := os.Getenv(strings.ToUpper(env) + "_URL")
	if env == "" || base == "" {
		return fmt.Errorf("no service for environment %q (set --context or SHIPGATE_ENV, and %s_URL)", env, strings.ToUpper(env))
	}
	resp, err := http.Post(strings.TrimSuffix(base, "/")+"/-/deploy?image="+url.QueryEscape(kv[1]), "text/plain", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("deploy refused: %s", strings.TrimSpace(string(body)))
	}
	fmt.Fprint(stdout, string(body))
	return nil
}

// circleciStub handles `circleci run oidc get [--claims JSON]` (a fresh token from the local
// issuer, printed like the real command) and `circleci run release plan|update ...` (recorded).
func circleciStub(args []string, stdout io.Writer) error {
	admin := os.Getenv("SHIPGATE_DEVSTACK_ADMIN")
	if admin == "" {
		return fmt.Errorf("SHIPGATE_DEVSTACK_ADMIN is not set")
	}
	if len(args) >= 3 && args[0] == "run" && args[1] == "oidc" && args[2] == "get" {
		q := url.Values{}
		for i := 3; i < len(args); i++ {
			if args[i] == "--claims" && i+1 < len(args) {
				var claims map[string]any
				if err := json.Unmarshal([]byte(args[i+1]), &claims); err != nil {
					return fmt.Errorf("--claims: %w", err)
				}
				if aud, ok := claims["aud"].(string); ok {
					q.Set("aud", aud)
				}
				i++
			}
		}
		if branch := os.Getenv("CIRCLE_BRANCH"); branch != "" {
			q.Set("ref", "refs/heads/"+branch)
		}
		resp, err := http.Get(admin + "/mint?" + q.Encode())
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		token, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("minting: %s", token)
		}
		fmt.Fprintln(stdout, string(token))
		return nil
	}
	if len(args) >= 3 && args[0] == "run" && args[1] == "release" {
		body, _ := json.Marshal(map[string]any{"Args": args[2:]})
		resp, err := http.Post(admin+"/release", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(stdout, resp.Body)
		return nil
	}
	return fmt.Errorf("unsupported circleci command %q", strings.Join(args, " "))
}

// awsStub answers the AWS CLI calls the examples make around the helper.
func awsStub(args []string, stdout io.Writer) error {
	switch {
	case len(args) >= 2 && args[0] == "ecr" && args[1] == "get-login-password":
		fmt.Fprintln(stdout, "local-registry-token")
	case len(args) >= 2 && args[0] == "eks" && args[1] == "update-kubeconfig":
		fmt.Fprintln(stdout, "Updated context (local stub)")
	case len(args) >= 2 && args[0] == "sts" && args[1] == "get-caller-identity":
		fmt.Fprintf(stdout, "{\"Account\": %q}\n", AccountID)
	default:
		return fmt.Errorf("unsupported aws command %q", strings.Join(args, " "))
	}
	return nil
}

// gcloudStub answers `gcloud auth configure-docker` and deploys `gcloud run deploy NAME --image
// IMAGE` to the stand-in service of $SHIPGATE_ENV. Like the real gcloud, it needs the
// external_account credentials that `shipgate gcp credentials` wrote.
func gcloudStub(args []string, stdout io.Writer) error {
	if err := checkExternalAccount(os.Getenv("GOOGLE_APPLICATION_CREDENTIALS")); err != nil {
		return err
	}
	switch {
	case len(args) >= 2 && args[0] == "auth" && args[1] == "configure-docker":
		fmt.Fprintln(stdout, "Docker configuration file updated (local stub)")
		return nil
	case len(args) >= 2 && args[0] == "run" && args[1] == "deploy":
		image := ""
		for i := 2; i < len(args); i++ {
			if args[i] == "--image" && i+1 < len(args) {
				image = args[i+1]
			} else if strings.HasPrefix(args[i], "--image=") {
				image = strings.TrimPrefix(args[i], "--image=")
			}
		}
		return kubectlStub([]string{"set", "image", "deployment/app", "app=" + image}, stdout)
	}
	return fmt.Errorf("unsupported gcloud command %q", strings.Join(args, " "))
}

func checkExternalAccount(path string) error {
	if path == "" {
		return fmt.Errorf("GOOGLE_APPLICATION_CREDENTIALS is not set: run shipgate/gcp_credentials first")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var creds struct {
		Type             string         `json:"type"`
		CredentialSource map[string]any `json:"credential_source"`
	}
	if err := json.Unmarshal(data, &creds); err != nil || creds.Type != "external_account" || creds.CredentialSource["executable"] == nil {
		return fmt.Errorf("%s is not an external_account file with an executable source", path)
	}
	return nil
}
