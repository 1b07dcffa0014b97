package lint

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/shipgate/shipgate/helper/internal/circleci"
)

var (
	// deployWords mark a job name as a deploy when an environment is also known.
	deployWords = wordSet("deploy", "deployment", "release", "promote", "promotion", "rollout")
	// strongDeployWords mark a job as a deploy even when its environment is not known.
	strongDeployWords = wordSet("deploy", "deployment")
	// rollbackWords mark a job as part of the rollback path, never as a deploy.
	rollbackWords   = wordSet("rollback", "revert", "undeploy")
	productionWords = wordSet("prod", "production", "prd", "live")
	stagingWords    = wordSet("staging", "stage", "stg")
	// otherEnvWords are environments that are neither production nor staging.
	otherEnvWords = wordSet("dev", "development", "qa", "uat", "sandbox", "preview", "demo", "preprod", "canary")
	// envParamKeys are parameter and variable names that hold a target environment.
	envParamKeys = wordSet("env", "environment", "target", "target_env", "target_environment",
		"deploy_env", "deploy_environment", "environment_name", "env_name", "stage", "shipgate_env", "to")
	pipelineParamRef = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`<<\s*pipeline\.parameters\.([A-Za-z0-9_-]+)\s*>>`) })
	preprodSpelling  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)pre[-_ ]?prod(uction)?`) })
)

func wordSet(ws ...string) map[string]bool {
	m := make(map[string]bool, len(ws))
	for _, w := range ws {
		m[w] = true
	}
	return m
}

func anyWord(ws []string, set map[string]bool) bool {
	for _, w := range ws {
		if set[w] {
			return true
		}
	}
	return false
}

// envWords returns the environment a piece of text names: production, staging, another known
// environment, or "".
func envOfText(s string) string {
	ws := words(preprodSpelling().ReplaceAllString(s, "preprod"))
	switch {
	case anyWord(ws, productionWords):
		return envProduction
	case anyWord(ws, stagingWords):
		return envStaging
	}
	for _, w := range ws {
		if otherEnvWords[w] {
			return w
		}
	}
	return ""
}

var envName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`) })

// envOfValue classifies a parameter value: a pipeline parameter reference counts as
// production when production is one of its values (the linter assumes the worst).
func (l *linter) envOfValue(v string) string {
	if m := pipelineParamRef().FindStringSubmatch(v); m != nil {
		for _, p := range l.cfg.params {
			if p.Name != m[1] {
				continue
			}
			best := envOfText(circleci.Scalar(circleci.Get(p.Value, "default")))
			for _, option := range circleci.Strings(circleci.Get(p.Value, "enum")) {
				if env := envOfText(option); env == envProduction || best == "" {
					best = env
				}
			}
			return best
		}
		return ""
	}
	if env := envOfText(v); env != "" {
		return env
	}
	if envName().MatchString(v) {
		return v
	}
	return ""
}

// inferEnv works out which environment a deploy entry targets, from the first source that
// names one: its parameters, a matrix over them, its name, its contexts, its deploy
// commands' flags, then its job definition's parameter defaults and environment.
func (l *linter) inferEnv(e *entry) (string, string) {
	sources := []func() (string, string){
		func() (string, string) { return l.envOfPairs(circleci.Pairs(e.body), nil, "parameter ") },
		func() (string, string) { return l.envOfMatrix(e) },
		func() (string, string) { return envOfText(e.name + " " + e.ref), "job name" },
		func() (string, string) {
			for _, c := range e.contexts {
				if env := envOfText(c); env != "" {
					return env, "context " + c
				}
			}
			return "", ""
		},
		func() (string, string) { return l.envOfCommands(e) },
		func() (string, string) {
			if e.def == nil {
				return "", ""
			}
			defaultOf := func(n *yaml.Node) *yaml.Node { return circleci.Get(n, "default") }
			return l.envOfPairs(circleci.Pairs(circleci.Get(e.def.body, "parameters")), defaultOf, "job parameter ")
		},
		func() (string, string) {
			if e.def == nil {
				return "", ""
			}
			return l.envOfPairs(circleci.Pairs(circleci.Get(e.def.body, "environment")), nil, "variable ")
		},
	}
	for _, source := range sources {
		if env, why := source(); env != "" {
			return env, why
		}
	}
	return "", ""
}

// envOfPairs finds an environment in the values of keys named like an environment parameter;
// valueOf picks the value inside each entry (a parameter's default), nil for the entry itself.
func (l *linter) envOfPairs(pairs []circleci.Pair, valueOf func(*yaml.Node) *yaml.Node, what string) (string, string) {
	for _, p := range pairs {
		if !envParamKeys[strings.ToLower(p.Name)] {
			continue
		}
		v := p.Value
		if valueOf != nil {
			v = valueOf(v)
		}
		if env := l.envOfValue(circleci.Scalar(v)); env != "" {
			return env, what + p.Name
		}
	}
	return "", ""
}

// envOfMatrix reads a matrix over environments: the job deploys production when any cell does.
func (l *linter) envOfMatrix(e *entry) (string, string) {
	best := ""
	for _, p := range circleci.Pairs(circleci.Get(circleci.Get(e.body, "matrix"), "parameters")) {
		if !envParamKeys[strings.ToLower(p.Name)] {
			continue
		}
		for _, c := range circleci.Strings(p.Value) {
			if env := l.envOfValue(c); env == envProduction || best == "" {
				best = env
			}
		}
	}
	if best == "" {
		return "", ""
	}
	return best, "matrix parameters"
}

// classify marks the deploy entries and their environments. Job group members are classified
// first; a workflow entry that runs a group is a deploy when one of its members is.
func (l *linter) classify() {
	notDeploy := wordSet(l.opts.NotDeployJobs...)
	for _, wf := range append(append([]*workflow{}, l.cfg.groups...), l.cfg.workflows...) {
		for _, e := range wf.entries {
			if e.approval || notDeploy[e.name] {
				continue
			}
			if e.group != nil {
				l.classifyGroupEntry(e)
				continue
			}
			explicitEnv, explicit := l.opts.DeployJobs[e.name]
			if !explicit {
				explicitEnv, explicit = l.opts.DeployJobs[e.ref]
			}
			env, why := l.inferEnv(e)
			e.deploy = explicit || l.isDeploy(e, env)
			if !e.deploy {
				continue
			}
			e.env, e.envWhy = env, why
			if explicitEnv != "" {
				e.env, e.envWhy = l.envOfValue(explicitEnv), "lint settings"
			}
			if e.env == "" {
				l.add(RuleDeployJobEnvUndecided, nodePos(e.node), entryScopes(e),
					fmt.Sprintf("deploy job %s: its environment is not recognised, so production and staging rules are skipped", e.name), "")
			}
		}
	}
}

// isDeploy decides whether an entry not named in the settings is a deploy: shipgate's own
// jobs and commands, then what its steps do, then its name (issue 18 point 9).
func (l *linter) isDeploy(e *entry, env string) bool {
	switch {
	case e.isShipgateJob("deploy_release", "deploy", "promote"):
		return true
	case e.isShipgateJob("rollback", "smoke_test"):
		return false
	case l.cfg.usesShipgateCommand(e, "deploy_release", "deploy", "promote"):
		return true
	}
	ws := words(e.name + " " + e.ref)
	if anyWord(ws, rollbackWords) {
		return false
	}
	if l.deploySignal(e) != "" {
		return true
	}
	named := anyWord(ws, strongDeployWords) || anyWord(ws, deployWords) && env != ""
	return named && !l.namedButNotDeploy(e)
}

// classifyGroupEntry makes a workflow entry that runs a job group a deploy when a member is
// one; its environment is production when any member deploys production, and the members'
// contexts count as its own.
func (l *linter) classifyGroupEntry(e *entry) {
	for _, m := range e.members() {
		if !m.deploy {
			continue
		}
		e.deploy = true
		if e.env == "" || m.env == envProduction {
			e.env, e.envWhy = m.env, "job group member "+m.name
		}
		for _, c := range m.contexts {
			if !contains(e.contexts, c) {
				e.contexts = append(e.contexts, c)
			}
		}
		if e.contextKey == nil {
			e.contextKey = m.contextKey
		}
	}
	if e.deploy && e.env == "" {
		l.add(RuleDeployJobEnvUndecided, nodePos(e.node), entryScopes(e),
			fmt.Sprintf("deploy job %s: its environment is not recognised, so production and staging rules are skipped", e.name), "")
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// jobBuildsImage reports whether the entry's job (or a job of its job group) builds an image.
func (l *linter) jobBuildsImage(e *entry) bool {
	for _, m := range e.members() {
		if l.jobBuildsImage(m) {
			return true
		}
	}
	if e.orb != nil {
		if buildingOrbJobs[e.orb.name+"/"+e.orbJob] {
			return true
		}
		ws := words(e.orbJob)
		if !e.orb.known && anyWord(ws, wordSet("build")) && anyWord(ws, wordSet("image", "docker", "push", "publish")) {
			return true
		}
	}
	for _, step := range e.steps() {
		name, body := stepName(step)
		if alias, cmd, ok := strings.Cut(name, "/"); ok {
			if imp := l.cfg.orbs[alias]; imp != nil && buildingOrbCommands[imp.name+"/"+cmd] {
				return true
			}
		}
		if name == "run" {
			for _, s := range circleci.Scalars(body) {
				if buildCommand().MatchString(s) {
					return true
				}
			}
		}
	}
	return false
}

var (
	buildCommand = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?m)\b(docker(\s+image|\s+buildx|\s+compose)?\s+build|buildah\s+(bud|build)|podman\s+build|kaniko/executor|pack\s+build|ko\s+(build|publish|apply)|gcloud\s+builds\s+submit|nerdctl\s+build)\b`)
	})
	// buildingOrbJobs and buildingOrbCommands are orb jobs and commands that build an image.
	buildingOrbJobs = wordSet("circleci/docker/publish", "circleci/aws-ecr/build_and_push_image",
		"circleci/aws-ecr/build-and-push-image", "circleci/gcp-gcr/build-and-push-image",
		"circleci/gcp-gcr/build_and_push_image")
	buildingOrbCommands = wordSet("circleci/docker/build", "circleci/aws-ecr/build_image",
		"circleci/aws-ecr/build-image", "circleci/aws-ecr/build_and_push_image",
		"circleci/gcp-gcr/build-image", "circleci/gcp-gcr/build_image")
)

// hasSmokeTest reports whether the entry's job runs a smoke test or health check.
func (l *linter) hasSmokeTest(e *entry) bool {
	for _, m := range e.members() {
		if l.hasSmokeTest(m) {
			return true
		}
	}
	// The orb's deploy job runs its smoke tests after the deploy steps.
	if e.isShipgateJob("deploy_release", "deploy", "smoke_test") {
		return true
	}
	if anyWord(words(e.name+" "+e.ref), smokeWords) {
		return true
	}
	// So does the orb's deploy command (promote, your steps, mark, smoke test, mark).
	if l.cfg.usesShipgateCommand(e, "smoke_test", "deploy_release", "deploy") {
		return true
	}
	for _, step := range e.steps() {
		name, body := stepName(step)
		if name != "run" {
			if anyWord(words(name), smokeWords) {
				return true
			}
			continue
		}
		text := circleci.Scalar(body)
		if text == "" {
			text = circleci.Scalar(circleci.Get(body, "name")) + " " + circleci.Scalar(circleci.Get(body, "command"))
		}
		if anyWord(words(text), smokeWords) || strings.Contains(text, "shipgate smoke-test") {
			return true
		}
	}
	return false
}

var smokeWords = wordSet("smoke", "health", "healthcheck", "healthz", "readiness", "verify")
