package lint

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// A job is a deploy by what it does (issue 18 point 9: a `deploy-docs` job syncing files to S3
// got deploy errors while `ship-it` running `helm upgrade --kube-context prod` got none). The
// name is one signal among these; .shipgate-lint.yml (`deploy_jobs`, `not_deploy_jobs`)
// overrides them all.

// deployCommands are commands that change what runs in an environment.
// Each is matched at the start of a simple command (circleci.SimpleCommands), so `echo
// 'kubectl apply'` is not one.
var deployCommands = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:` + strings.Join([]string{
		`\bkubectl\b[^\n;&|]*?\s(apply|replace|patch|scale|set\s+image|rollout\s+(restart|undo|resume))\b`,
		`\bhelm\b[^\n;&|]*?\s(upgrade|install)\b`,
		`\bhelmfile\b[^\n;&|]*?\s(apply|sync)\b`,
		`\baws\s+ecs\s+(update-service|create-service|deploy)\b`,
		`\baws\s+lambda\s+(update-function-code|update-alias|publish-version)\b`,
		`\baws\s+cloudformation\s+(deploy|update-stack|create-stack)\b`,
		`\baws\s+deploy\s+create-deployment\b`,
		`\baws\s+apprunner\s+(update-service|start-deployment)\b`,
		`\baws\s+elasticbeanstalk\s+update-environment\b`,
		`\bgcloud\s+(beta\s+|alpha\s+)?(run\s+(deploy|services\s+(update|replace))|app\s+deploy|functions\s+deploy|deploy\s+releases\s+(create|promote))\b`,
		`\bterraform\b[^\n;&|]*?\sapply\b`,
		`\bterragrunt\b[^\n;&|]*?\sapply\b`,
		`\bpulumi\s+up\b`,
		`\bargocd\s+app\s+(sync|set)\b`,
		`\b(flyctl|fly)\s+deploy\b`,
		`\bskaffold\s+(run|deploy)\b`,
		`\b(serverless|sls|cdk|eb)\s+deploy\b`,
		`\bcopilot\s+(svc|job)\s+deploy\b`,
		`\baz\s+(webapp|functionapp|containerapp)\s+(deploy|update|up)\b`,
		`\bdoctl\s+apps\s+(update|create-deployment)\b`,
		`\bheroku\s+(container:release|releases:rollback)\b`,
		`\becs-deploy\b`,
	}, "|") + `)`)
})

// deployingOrbSteps are orb jobs and commands of well-known orbs that deploy, as named in each
// orb's src/jobs and src/commands (CircleCI-Public/aws-ecs-orb, kubernetes-orb, helm-orb, …).
var deployingOrbSteps = wordSet(
	"circleci/aws-ecs/deploy-service-update", "circleci/aws-ecs/deploy_service_update",
	"circleci/aws-ecs/update-service", "circleci/aws-ecs/update_service",
	"circleci/kubernetes/create-or-update-resource", "circleci/kubernetes/create_or_update_resource",
	"circleci/kubernetes/update-container-image", "circleci/kubernetes/update_container_image",
	"circleci/aws-eks/update-container-image", "circleci/aws-eks/create-or-update-resource",
	"circleci/helm/upgrade-helm-chart", "circleci/helm/upgrade_helm_chart",
	"circleci/helm/install-helm-chart", "circleci/helm/install_helm_chart",
	"circleci/gcp-cloud-run/deploy", "circleci/gcp-gke/rollout-image", "circleci/gcp-gke/publish-and-rollout-image",
	"circleci/terraform/apply", "circleci/aws-code-deploy/deploy", "circleci/aws-code-deploy/deploy-bundle",
)

// notServiceWords name targets that are not a running service: publishing documentation or a
// static site is not a release of the application.
var notServiceWords = wordSet("docs", "doc", "documentation", "javadoc", "apidocs", "storybook", "changelog")

// publishCommands upload files or packages; on their own they release no service.
var publishCommands = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:\baws\s+s3\s+(sync|cp)\b|\bgsutil\b[^\n;&|]*\s(rsync|cp)\b|\bgcloud\s+storage\s+(cp|rsync)\b|\baz\s+storage\s+blob\s+(upload|sync)|\bnpm\s+publish\b|\btwine\s+upload\b|\bmkdocs\s+gh-deploy\b|\bgh\s+release\b)`)
})

// deploySignal says what in the entry's job deploys, or "" when nothing does.
func (l *linter) deploySignal(e *entry) string {
	if e.orb != nil && deployingOrbSteps[e.orb.name+"/"+e.orbJob] {
		return "orb job " + e.orb.name + "/" + e.orbJob
	}
	for _, a := range l.actions(e) {
		for _, c := range a.cmds {
			// A dry run (kubectl apply --dry-run, helm upgrade --dry-run) changes nothing.
			if m := deployCommands().FindString(c); m != "" && !strings.Contains(c, "--dry-run") {
				return fmt.Sprintf("step runs %q", m)
			}
		}
		if cmd := a.orbCommand(); deployingOrbSteps[cmd] {
			return "step " + cmd
		}
	}
	return ""
}

// namedButNotDeploy reports whether a job whose name says deploy shows by its steps that it
// releases no service: it publishes documentation, or it only uploads files or packages.
// A job whose steps the linter cannot see (an orb's job) keeps its name's word.
func (l *linter) namedButNotDeploy(e *entry) bool {
	if e.def == nil {
		return false
	}
	if anyWord(words(e.name+" "+e.ref), notServiceWords) {
		return true
	}
	publishes := false
	for _, a := range l.actions(e) {
		for _, c := range a.cmds {
			if publishCommands().MatchString(c) {
				publishes = true
				continue
			}
			// A script named deploy (./deploy.sh, make deploy) may release anything.
			if anyWord(words(c), strongDeployWords) {
				return false
			}
		}
	}
	return publishes
}

// envFlags are the flags of deploy CLIs whose value names the target environment.
var envFlags = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?:--kube-context|--context|--namespace|--cluster|--environment|--env|--stage|--project|--workspace|--app|-n)[= ]+["']?([A-Za-z0-9_.:/-]+)|terraform\s+workspace\s+select\s+(\S+)`)
})

// envOfCommands reads the target environment from the deploy commands of the entry's job
// (`helm upgrade --kube-context prod`).
func (l *linter) envOfCommands(e *entry) (string, string) {
	for _, a := range l.actions(e) {
		for _, line := range a.cmds {
			if !deployCommands().MatchString(line) && !strings.HasPrefix(line, "terraform workspace select") {
				continue
			}
			for _, m := range envFlags().FindAllStringSubmatch(line, -1) {
				v := m[1] + m[2]
				if env := envOfText(v); env != "" {
					// The reason names the flag, never its value (a value may be anything).
					flag, _, _ := strings.Cut(strings.TrimSpace(m[0]), " ")
					flag, _, _ = strings.Cut(flag, "=")
					return env, "deploy command's " + flag
				}
			}
		}
	}
	return "", ""
}
