package circleci

import (
	"regexp"
	"sort"
	"strings"
	"sync"
)

// ImageTools is what one CircleCI image ships on its PATH, with where that was read.
type ImageTools struct {
	// Image is the repository ("cimg/base") or machine image name ("ubuntu-2404").
	Image string
	// Tools are the commands the image ships.
	Tools []string
	// Complete says the list is complete for the CLIs TrackedCLIs names, so a tracked CLI not
	// listed is missing. A row that is not complete never makes a CLI missing.
	Complete bool
	// Source is the file the list was read from.
	Source string
}

var (
	baseTools = []string{"bash", "curl", "wget", "git", "git-lfs", "jq", "yq", "docker", "docker-compose",
		"make", "gcc", "cmake", "unzip", "zip", "tar", "gzip", "zstd", "ssh", "gpg", "shellcheck", "python",
		"python3", "psql", "dockerize", "parallel", "sudo", "envsubst", "sha256sum", "file", "nc", "retry"}
	deployTools = append(append([]string{}, baseTools...), "pip", "pip3", "rsync", "ansible",
		"ansible-playbook", "helm", "kubectl", "nfpm", "packer", "salt", "terraform")
	nodeTools = []string{"node", "npm", "npx", "yarn"}
)

func tools(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// Images is the table of images whose tools the checks know. Each row was read from the
// image's own Dockerfile in CircleCI-Public's repositories (December 2026); an image not in
// the table is unknown and never makes a CLI missing.
var Images = []ImageTools{
	{Image: "cimg/base", Tools: baseTools, Complete: true,
		Source: "CircleCI-Public/cimg-base 24.04/Dockerfile (docker, compose, git, curl, jq, yq; no cloud CLI)"},
	{Image: "cimg/deploy", Tools: deployTools, Complete: true,
		Source: "CircleCI-Public/cimg-deploy 2026.10/Dockerfile (FROM cimg/base; helm, kubectl, terraform, packer, ansible)"},
	{Image: "cimg/aws", Tools: tools(deployTools, nodeTools, []string{"aws", "docker-credential-ecr-login"}), Complete: true,
		Source: "CircleCI-Public/cimg-aws 2026.10/Dockerfile (FROM cimg/deploy:-node; AWS CLI v2, ECR credential helper)"},
	{Image: "cimg/gcp", Tools: tools(deployTools, nodeTools, []string{"gcloud", "gsutil", "bq", "gke-gcloud-auth-plugin"}), Complete: true,
		Source: "CircleCI-Public/cimg-gcp 2026.10/Dockerfile (FROM cimg/deploy:-node; google-cloud-cli)"},
	{Image: "cimg/azure", Tools: tools(deployTools, nodeTools, []string{"az"}), Complete: true,
		Source: "CircleCI-Public/cimg-azure 2026.10/Dockerfile (FROM cimg/deploy:-node; azure-cli)"},
	{Image: "cimg/node", Tools: tools(baseTools, nodeTools), Complete: true,
		Source: "CircleCI-Public/cimg-node Dockerfile.template (FROM cimg/base; nvm, node, yarn)"},
	// CircleCI documents its machine images as carrying "the minimum tools required to operate
	// a build on CircleCI (such as git) as well as ... docker"; the rest is not listed, so these
	// rows never make a CLI missing.
	{Image: "ubuntu-2404", Tools: []string{"bash", "git", "docker", "curl"},
		Source: "https://circleci.com/developer/machine/image/ubuntu-2404"},
	{Image: "ubuntu-2204", Tools: []string{"bash", "git", "docker", "curl"},
		Source: "https://circleci.com/developer/machine/image/ubuntu-2204"},
}

// TrackedCLIs are the deploy CLIs the checks look for: ones an image often lacks, whose
// absence fails a deploy step with exit 127 (issue 16 point 5).
var TrackedCLIs = []string{"kubectl", "helm", "aws", "gcloud", "gsutil", "az", "terraform", "eksctl",
	"kustomize", "pulumi", "argocd", "doctl", "flyctl", "heroku"}

// LookupImage returns the tools of an image reference such as "cimg/base:2026.10" or
// "cimg/deploy:2026.10-node" (a -node tag adds Node.js); ok is false for an image the table
// does not know, or whose repository is still a << >> parameter or a variable. A tag that is
// a parameter (`cimg/base:<< parameters.tag >>`, as the orb's own executor) still names the
// image.
func LookupImage(ref string) (ImageTools, bool) {
	ref = strings.TrimPrefix(ref, "docker.io/")
	repo, tag, _ := strings.Cut(ref, ":")
	repo, _, _ = strings.Cut(repo, "@")
	if strings.Contains(repo, "<<") || strings.Contains(repo, "$") {
		return ImageTools{}, false
	}
	for _, row := range Images {
		if row.Image == repo {
			if strings.HasSuffix(tag, "-node") {
				row.Tools = tools(row.Tools, nodeTools)
			}
			return row, true
		}
	}
	return ImageTools{}, false
}

// Ships reports whether the image ships cli.
func (it ImageTools) Ships(cli string) bool {
	for _, t := range it.Tools {
		if t == cli {
			return true
		}
	}
	return false
}

// OrbInstalls maps an orb command ("namespace/orb/command") to the CLIs it installs. The
// official orbs are CircleCI's own recipe for these CLIs (FACTS.md: circleci/kubernetes,
// circleci/aws-cli, circleci/gcp-cli). Command names as in each orb's src/commands
// (CircleCI-Public/kubernetes-orb, aws-cli-orb, gcp-cli-orb, helm-orb; both the older
// kebab-case and the current snake_case files).
var OrbInstalls = map[string][]string{
	"circleci/kubernetes/install-kubectl":                   {"kubectl"},
	"circleci/kubernetes/install_kubectl":                   {"kubectl"},
	"circleci/kubernetes/install":                           {"kubectl"},
	"circleci/aws-cli/setup":                                {"aws"},
	"circleci/aws-cli/install":                              {"aws"},
	"circleci/gcp-cli/setup":                                {"gcloud", "gsutil"},
	"circleci/gcp-cli/install":                              {"gcloud", "gsutil"},
	"circleci/helm/install-helm-client":                     {"helm"},
	"circleci/helm/install_helm_client":                     {"helm"},
	"circleci/azure-cli/install":                            {"az"},
	"circleci/terraform/install":                            {"terraform"},
	"circleci/aws-eks/install-eksctl":                       {"eksctl"},
	"circleci/aws-eks/install_eksctl":                       {"eksctl"},
	"circleci/aws-eks/update-kubeconfig-with-authenticator": {"kubectl", "aws"},
}

// installBy recognises, for every tracked CLI, a run step that installs it: a package manager
// or download naming the CLI's package or release URL. Compiled on first use, not at start-up
// (issue 15): every shipgate command would pay for it otherwise.
var installBy = sync.OnceValue(func() map[string]*regexp.Regexp {
	m := map[string]*regexp.Regexp{
		"aws":       regexp.MustCompile(`(?i)awscli|aws-cli|awscliv2`),
		"gcloud":    regexp.MustCompile(`(?i)google-cloud-(sdk|cli)|sdk\.cloud\.google\.com|cloud-sdk`),
		"gsutil":    regexp.MustCompile(`(?i)google-cloud-(sdk|cli)|sdk\.cloud\.google\.com|cloud-sdk`),
		"az":        regexp.MustCompile(`(?i)azure-cli|InstallAzureCLI`),
		"kubectl":   regexp.MustCompile(`(?i)(curl|wget|install|apt|snap|brew|asdf|aqua)\b[^\n]*\bkubectl\b|gcloud\s+components\s+install\s+[^\n]*kubectl|az\s+aks\s+install-cli`),
		"helm":      regexp.MustCompile(`(?i)get-helm|get\.helm\.sh|(install|apt|snap|brew|asdf)\b[^\n]*\bhelm\b`),
		"terraform": regexp.MustCompile(`(?i)releases\.hashicorp\.com/terraform|tfenv|(install|apt|brew|asdf)\b[^\n]*\bterraform\b`),
	}
	for _, cli := range TrackedCLIs {
		if m[cli] == nil {
			m[cli] = regexp.MustCompile(`(?i)(curl|wget|install|apt|snap|brew|asdf)\b[^\n]*\b` + regexp.QuoteMeta(cli) + `\b`)
		}
	}
	return m
})

// mayInstall is a cheap first look: a script that names no installer or download installs
// nothing.
var mayInstall = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)install|curl|wget|apt|snap|brew|asdf|aqua|tfenv|helm|cloud-sdk|google-cloud|azure-cli|awscli|aws-cli`)
})

// InstalledBy lists the tracked CLIs a run step's script installs.
func InstalledBy(script string) []string {
	if !mayInstall().MatchString(script) {
		return nil
	}
	var out []string
	for _, cli := range TrackedCLIs {
		if installBy()[cli].MatchString(script) {
			out = append(out, cli)
		}
	}
	return out
}

// commandSeparators split a script into simple commands.
var commandSeparators = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`&&|\|\||[;|&\n(]|\$\(|` + "`" + `|\bthen\b|\bdo\b|\belse\b`)
})

// commandPrefixes come before the command a simple command runs.
var commandPrefixes = map[string]bool{"sudo": true, "exec": true, "command": true, "time": true, "!": true,
	"if": true, "elif": true, "while": true, "until": true, "{": true, "env": true}

// envAssignment is a leading `NAME=value` of a simple command.
var envAssignment = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=\S*$`) })

// CalledCLIs lists, sorted, the tracked CLIs a script runs as commands.
func CalledCLIs(script string) []string {
	return CLIsRunBy(SimpleCommands(script))
}

// CLIsRunBy lists, sorted, the tracked CLIs that simple commands (SimpleCommands) run.
func CLIsRunBy(commands []string) []string {
	seen := map[string]bool{}
	for _, cmd := range commands {
		if name, _, _ := strings.Cut(cmd, " "); trackedCLIs[name] {
			seen[name] = true
		}
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

var trackedCLIs = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range TrackedCLIs {
		m[c] = true
	}
	return m
}()

// SimpleCommands splits a script into its simple commands, each starting at the command it
// runs (after `sudo`, `exec`, `env`, `if`, `while`… and variable assignments), words joined
// by one space. Comment lines and heredoc bodies are not commands; `echo 'kubectl apply'`
// runs echo. It reads shell the way a reviewer skims it, not as a parser: good enough to tell
// which CLIs a step calls.
func SimpleCommands(script string) []string {
	var out []string
	for _, line := range scriptLines(script) {
		for _, part := range commandSeparators().Split(line, -1) {
			fields := strings.Fields(part)
			for len(fields) > 0 && (envAssignment().MatchString(fields[0]) || commandPrefixes[fields[0]]) {
				fields = fields[1:]
			}
			if len(fields) > 0 {
				out = append(out, strings.Join(fields, " "))
			}
		}
	}
	return out
}

var configRef = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\\?<<\s*(parameters|pipeline)\.[^<>\n]*>>`) })

var heredocStart = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`<<-?\s*['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?`) })

// scriptLines returns the script's lines that hold commands: comments and heredoc bodies out.
func scriptLines(script string) []string {
	var out []string
	var heredocEnd string
	for _, line := range strings.Split(script, "\n") {
		trimmed := strings.TrimSpace(line)
		if heredocEnd != "" {
			if trimmed == heredocEnd {
				heredocEnd = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		// << parameters.x >> and << pipeline.… >> are config references, not heredocs.
		bare := configRef().ReplaceAllString(line, "")
		if m := heredocStart().FindStringSubmatch(bare); m != nil && !strings.Contains(bare, "<<<") {
			heredocEnd = m[1]
		}
		out = append(out, line)
	}
	return out
}
