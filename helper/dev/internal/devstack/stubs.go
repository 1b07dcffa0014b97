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

// Where a stub is on PATH models where the real tool exists on CircleCI (tools.go): BaseStubs
// for every job (what cimg/base and the machine images ship, and the CircleCI CLI every job has),
// ImageStubs only for a job whose image ships them, InstallableStubs only after a step installed
// them (the stand-ins of the official orbs' install commands copy them onto PATH).
var (
	BaseStubs        = []string{"docker", "circleci"}
	InstallableStubs = []string{"kubectl", "aws", "gcloud"}
)

// WriteStubs writes one shell script per named stub into dir, each running `executable stub NAME`.
func WriteStubs(dir, executable string, names ...string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, stub := range names {
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
	case "helm":
		err = helmStub(args, stdout)
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

// helmStub handles `helm upgrade --install RELEASE CHART [--kube-context ENV] --set image=IMAGE
// [--wait] [--timeout T] [--namespace N]` by deploying IMAGE to the stand-in service of ENV, as
// kubectl set image does: the chart is not rendered, the image value is what reaches the service.
func helmStub(args []string, stdout io.Writer) error {
	if len(args) < 2 || args[0] != "upgrade" {
		return fmt.Errorf("unsupported helm command %q", strings.Join(args, " "))
	}
	var kube []string
	image := ""
	for i := 1; i < len(args); i++ {
		switch {
		case args[i] == "--kube-context" && i+1 < len(args):
			kube = append(kube, "--context", args[i+1])
			i++
		case args[i] == "--set" && i+1 < len(args):
			for _, kv := range strings.Split(args[i+1], ",") {
				if v, ok := strings.CutPrefix(kv, "image="); ok {
					image = v
				}
			}
			i++
		case (args[i] == "--timeout" || args[i] == "--namespace" || args[i] == "-n") && i+1 < len(args):
			i++
		}
	}
	if image == "" {
		return fmt.Errorf("helm upgrade without --set image=IMAGE: the stand-in service would not change")
	}
	if err := kubectlStub(append(kube, "set", "image", "deployment/app", "app="+image), stdout); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Release \"app\" has been upgraded. Happy Helming! (local stub)")
	return nil
}

// RolloutFailsEnv, set to ENV@VERSION, makes `kubectl rollout status` fail in ENV while the
// stand-in service runs VERSION: that release's pods never become ready, any other's do.
const RolloutFailsEnv = "SHIPGATE_DEVSTACK_ROLLOUT_FAILS"

// runningVersion asks a stand-in service which version it runs (its state endpoint).
func runningVersion(base string) (string, error) {
	resp, err := http.Get(strings.TrimSuffix(base, "/") + "/-/state")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var state struct {
		Version string `json:"version"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&state); err != nil {
		return "", err
	}
	return state.Version, nil
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
		// A test makes the rollout of one environment fail (a release whose pods never become
		// ready), to exercise a failed deploy step rather than a failed smoke test.
		if failing, version, ok := strings.Cut(os.Getenv(RolloutFailsEnv), "@"); ok && env != "" && failing == env {
			if running, err := runningVersion(os.Getenv(strings.ToUpper(env) + "_URL")); err != nil || running == version {
				return fmt.Errorf("error: deployment \"app\" exceeded its progress deadline")
			}
		}
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
	case len(args) >= 2 && args[0] == "ecs":
		return ecsStub(args[1:], stdout)
	default:
		return fmt.Errorf("unsupported aws command %q", strings.Join(args, " "))
	}
	return nil
}

// ecsStub answers the Amazon ECS calls of a deploy by task definition revision, as the aws CLI
// makes them: `register-task-definition --family F --container-definitions JSON` records a new
// revision (kept in the job's home, like the service would keep it) and prints its ARN;
// `update-service --cluster ENV --service S --task-definition ARN` deploys that revision's first
// container image to the stand-in service of ENV; `wait services-stable` returns once it is.
func ecsStub(args []string, stdout io.Writer) error {
	flag := func(name string) string {
		for i := 1; i < len(args); i++ {
			if args[i] == name && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(args[i], name+"="); ok {
				return v
			}
		}
		return ""
	}
	state := filepath.Join(os.Getenv("HOME"), ".shipgate-ecs-stub")
	switch args[0] {
	case "register-task-definition":
		family := flag("--family")
		var containers []struct {
			Name  string `json:"name"`
			Image string `json:"image"`
		}
		if err := json.Unmarshal([]byte(flag("--container-definitions")), &containers); err != nil || family == "" || len(containers) == 0 || containers[0].Image == "" {
			return fmt.Errorf("register-task-definition wants --family and --container-definitions with an image: %v", err)
		}
		if err := os.MkdirAll(state, 0o755); err != nil {
			return err
		}
		revisions, _ := filepath.Glob(filepath.Join(state, family+":*"))
		arn := fmt.Sprintf("arn:aws:ecs:us-east-1:%s:task-definition/%s:%d", AccountID, family, len(revisions)+1)
		if err := os.WriteFile(filepath.Join(state, fmt.Sprintf("%s:%d", family, len(revisions)+1)), []byte(containers[0].Image), 0o644); err != nil {
			return err
		}
		fmt.Fprintln(stdout, arn)
		return nil
	case "update-service":
		arn := flag("--task-definition")
		_, revision, ok := strings.Cut(arn, ":task-definition/")
		if !ok {
			return fmt.Errorf("update-service wants --task-definition ARN, got %q", arn)
		}
		image, err := os.ReadFile(filepath.Join(state, revision))
		if err != nil {
			return fmt.Errorf("task definition %s is not registered", arn)
		}
		return kubectlStub([]string{"--context", flag("--cluster"), "set", "image", "deployment/app", "app=" + string(image)}, stdout)
	case "wait":
		if len(args) >= 2 && args[1] == "services-stable" {
			return nil
		}
	}
	return fmt.Errorf("unsupported aws ecs command %q", strings.Join(args, " "))
}

// gcloudStub answers `gcloud auth login --brief --cred-file FILE`, `gcloud auth
// configure-docker` and deploys `gcloud run deploy NAME --image IMAGE` to the stand-in service of
// $SHIPGATE_ENV. Like the real gcloud, it acts only for an account activated with `auth login`:
// gcloud's own commands do not read GOOGLE_APPLICATION_CREDENTIALS (that variable is for client
// libraries), which is why CircleCI's GCP OIDC recipe runs `gcloud auth login --brief
// --cred-file` first (FACTS.md, "Learned from third-party software"). configure-docker itself
// only edits the Docker config, but the push after it authenticates through gcloud's active
// account, so the stub refuses it without one too. The active credential file is kept where
// gcloud keeps its configuration ($CLOUDSDK_CONFIG, else ~/.config/gcloud).
func gcloudStub(args []string, stdout io.Writer) error {
	config := os.Getenv("CLOUDSDK_CONFIG")
	if config == "" {
		config = filepath.Join(os.Getenv("HOME"), ".config", "gcloud")
	}
	active := filepath.Join(config, "shipgate-stub-active-credential-file")
	if len(args) >= 2 && args[0] == "auth" && args[1] == "login" {
		file := ""
		for i := 2; i < len(args); i++ {
			if args[i] == "--cred-file" && i+1 < len(args) {
				file = args[i+1]
			} else if strings.HasPrefix(args[i], "--cred-file=") {
				file = strings.TrimPrefix(args[i], "--cred-file=")
			}
		}
		if file == "" {
			return fmt.Errorf("auth login: only --cred-file is supported here (no browser)")
		}
		if err := checkExternalAccount(file); err != nil {
			return err
		}
		if err := os.MkdirAll(config, 0o700); err != nil {
			return err
		}
		return os.WriteFile(active, []byte(file), 0o600)
	}
	file, err := os.ReadFile(active)
	if err != nil {
		return fmt.Errorf("(gcloud.%s) You do not currently have an active account selected: run gcloud auth login --brief --cred-file=$GOOGLE_APPLICATION_CREDENTIALS", strings.Join(args[:min(2, len(args))], "."))
	}
	if err := checkExternalAccount(string(file)); err != nil {
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
