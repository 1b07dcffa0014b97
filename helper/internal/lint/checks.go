package lint

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/shipgate/shipgate/helper/internal/circleci"
)

// SG001: a production deploy needs a `type: approval` job upstream in its requires chain.
func (l *linter) checkApproval(e *entry) {
	if e.env != envProduction {
		return
	}
	for _, a := range e.ancestors() {
		if a.approval {
			return
		}
	}
	l.add(RuleProductionApproval, nodePos(e.node), entryScopes(e),
		fmt.Sprintf("production deploy job %s%s has no approval job in its requires chain", e.name, envNote(e)), "")
}

// SG002, SG003, SG004: deploy jobs must be limited by branch or tag filters; production to the
// release branch, staging to the staging branch. A staging deploy that production is promoted
// from in the same workflow may run on the release branch instead (trunk-based promotion:
// main builds once, deploys staging, then production).
func (l *linter) checkBranches(e *entry) {
	gs := gates(e)
	if len(gs) == 0 {
		l.add(RuleDeployFilters, nodePos(e.node), entryScopes(e),
			fmt.Sprintf("deploy job %s has no branch or tag filters and runs on every branch", e.name), "")
		return
	}
	release, staging := l.opts.releaseBranch(), l.opts.stagingBranch()
	named := namedBranches(e)
	switch e.env {
	case envProduction:
		if !limitedTo(gs, []string{release}, append(named, staging)...) {
			l.add(RuleProductionBranch, filtersPos(e), entryScopes(e),
				fmt.Sprintf("production deploy job %s%s is not limited to the release branch %s", e.name, envNote(e), release), "")
		}
	case envStaging:
		want, also := []string{staging}, ""
		if promotesToProduction(e) {
			want = append(want, release)
			also = fmt.Sprintf(" or the release branch %s", release)
		}
		if !limitedTo(gs, want, append(named, release)...) {
			l.add(RuleStagingBranch, filtersPos(e), entryScopes(e),
				fmt.Sprintf("staging deploy job %s%s is not limited to the staging branch %s%s", e.name, envNote(e), staging, also), "")
		}
	default:
		if limitedTo(gs, nil) {
			return
		}
		if runsOn(gs, probeBranches[0]) {
			l.add(RuleDeployFilters, filtersPos(e), entryScopes(e),
				fmt.Sprintf("deploy job %s runs on feature branches: its filters do not limit it", e.name), "")
		}
	}
}

// promotesToProduction reports whether a production deploy follows e in its workflow.
func promotesToProduction(e *entry) bool {
	for _, d := range e.descendants() {
		if d.deploy && d.env == envProduction {
			return true
		}
	}
	return false
}

// envNote says where a deploy job's environment was read from, when that is not an explicit
// environment parameter or setting, so a surprising classification can be understood.
func envNote(e *entry) string {
	if e.envWhy == "" || e.envWhy == "lint settings" || strings.HasPrefix(e.envWhy, "parameter ") {
		return ""
	}
	return fmt.Sprintf(" (%s by its %s)", e.env, e.envWhy)
}

// filtersPos points at the entry's filters key when it has one, else at the entry.
func filtersPos(e *entry) pos {
	if k, _ := circleci.Lookup(e.body, "filters"); k != nil {
		return nodePos(k)
	}
	return nodePos(e.node)
}

// SG005: a deploy job needs a context.
func (l *linter) checkContext(e *entry) {
	if len(e.contexts) > 0 {
		return
	}
	l.add(RuleDeployContext, nodePos(e.node), entryScopes(e),
		fmt.Sprintf("deploy job %s has no context", e.name), "")
}

// SG006: staging and production deploys must not share a context. The message names every
// staging job that uses it, sorted, so it does not depend on the order of workflows (the
// config-policy bundle, which sees mappings without order, words it the same).
func (l *linter) checkSharedContexts() {
	deploys := l.deployEntries()
	users := map[string][]string{}
	for _, e := range deploys {
		if e.env == envStaging {
			for _, c := range e.contexts {
				if !contains(users[c], e.name) {
					users[c] = append(users[c], e.name)
				}
			}
		}
	}
	staging := map[string]string{}
	for c, names := range users {
		sort.Strings(names)
		if len(names) == 1 {
			staging[c] = "staging deploy job " + names[0] + " also uses"
		} else {
			staging[c] = "staging deploy jobs " + strings.Join(names, ", ") + " also use"
		}
	}
	for _, e := range deploys {
		if e.env != envProduction {
			continue
		}
		for _, c := range e.contexts {
			if other, shared := staging[c]; shared {
				where := e.contextKey
				if where == nil {
					where = e.node
				}
				l.add(RuleSharedContext, nodePos(where), entryScopes(e),
					fmt.Sprintf("production deploy job %s%s uses context %s, which %s", e.name, envNote(e), c, other), "")
			}
		}
	}
}

var (
	// staticKeyNames are variable, parameter or key names that hold long-lived cloud secrets.
	staticKeyNames = wordSet("aws_access_key_id", "aws_secret_access_key", "aws_access_key",
		"aws_secret_key", "gcloud_service_key", "gcp_service_key", "google_service_key",
		"google_credentials", "gcp_credentials_json", "google_application_credentials_json",
		"service_account_key", "gcp_sa_key", "azure_client_secret", "arm_client_secret",
		"azure_sp_password")
	staticValue        = `["']?(\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|[A-Za-z0-9/+]{16,})`
	accessKeyLiteral   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\b(AKIA|ASIA)[A-Z0-9]{16}\b`) })
	serviceAccountJSON = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`"type"\s*:\s*"service_account"|"private_key"\s*:`) })
	// staticKeyAssignment matches commands that set keys from a literal or a stored variable,
	// or log in with a key file. A value computed in the job (`$(...)`, e.g. from an OIDC
	// session's credentials) is not static.
	staticKeyAssignment = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)\b(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY)=` + staticValue +
			`|aws\s+configure\s+set\s+(aws_access_key_id|aws_secret_access_key)\s+` + staticValue +
			`|gcloud\s+auth\s+activate-service-account\b[^\n]*--key-file`)
	})
)

// SG007: static cloud credentials, literal or declared, anywhere in the config. The message
// names the key or the kind of secret, never its value.
func (l *linter) checkStaticCredentials() {
	circleci.Walk(l.cfg.root, func(parent, n *yaml.Node) {
		if n.Kind != yaml.ScalarNode {
			return
		}
		isKey := false
		if parent != nil && parent.Kind == yaml.MappingNode {
			for i := 0; i < len(parent.Content); i += 2 {
				if parent.Content[i] == n {
					isKey = true
					break
				}
			}
		}
		var what string
		switch {
		case isKey && staticKeyNames[strings.ToLower(n.Value)]:
			what = fmt.Sprintf("declares the static credential %s", n.Value)
		case isKey:
			return
		case accessKeyLiteral().MatchString(n.Value):
			what = "holds a literal AWS access key ID"
		case serviceAccountJSON().MatchString(n.Value):
			what = "holds a literal service-account key"
		case staticKeyAssignment().MatchString(n.Value):
			what = "sets static cloud credentials in a command"
		default:
			return
		}
		scopes := l.scopesAt(n.Line)
		where := "the config"
		if len(scopes) > 0 {
			where = "job " + scopes[0].job
		}
		l.add(RuleStaticCredentials, nodePos(n), scopes, fmt.Sprintf("%s %s instead of using OIDC", where, what), "")
	})
}

var digestHints = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`@sha256:|\bSHIPGATE_(IMAGE|DIGEST)\b|release\.json|\bdigest\b`)
})

// SG008: the production deploy path must deploy the tested image: no build in the deploy job,
// no build upstream that staging did not also depend on, and a user-defined deploy job must
// attach the workspace or deploy by digest.
func (l *linter) checkRebuild(e *entry) {
	if e.env != envProduction {
		return
	}
	if l.jobBuildsImage(e) {
		l.add(RuleProductionRebuild, nodePos(e.node), entryScopes(e),
			fmt.Sprintf("production deploy job %s%s builds an image instead of promoting the tested digest", e.name, envNote(e)), "")
		return
	}
	stagingExists, stagingPath := l.stagingPath()
	if stagingExists {
		for _, a := range e.ancestors() {
			if !stagingPath[a] && l.jobBuildsImage(a) {
				l.add(RuleProductionRebuild, nodePos(e.node), entryScopes(e),
					fmt.Sprintf("production deploy job %s%s requires %s, which builds a new image that staging never tested", e.name, envNote(e), a.name), "")
				return
			}
		}
	}
	if e.def == nil || e.orb != nil {
		return // an orb job: its steps are not visible here
	}
	for _, step := range e.steps() {
		name, body := stepName(step)
		if name == "attach_workspace" {
			return
		}
		if alias, _, ok := strings.Cut(name, "/"); ok {
			if imp := l.cfg.orbs[alias]; imp != nil && imp.shipgate {
				return
			}
		}
		for _, s := range circleci.Scalars(body) {
			if digestHints().MatchString(s) {
				return
			}
		}
	}
	l.add(RuleProductionRebuild, nodePos(e.node), entryScopes(e),
		fmt.Sprintf("production deploy job %s%s neither attaches the workspace nor deploys by digest", e.name, envNote(e)), "")
}

// stagingPath returns whether any staging deploy exists and the set of entries staging deploys
// depend on (computed once per file).
func (l *linter) stagingPath() (bool, map[*entry]bool) {
	if l.staging == nil {
		l.staging = map[*entry]bool{}
		for _, wf := range l.cfg.workflows {
			for _, other := range wf.entries {
				if other.deploy && other.env == envStaging {
					l.stagingExists = true
					l.staging[other] = true
					for _, a := range other.ancestors() {
						l.staging[a] = true
					}
				}
			}
		}
	}
	return l.stagingExists, l.staging
}

var mutableTag = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9._/-]*:(latest|stable|edge|nightly)\b([^@A-Za-z0-9._-]|$)`)
})

// SG009: a deploy job must not deploy a mutable tag. Its invocation parameters and its steps
// are searched; the executor's own image is not what it deploys and is not checked.
func (l *linter) checkMutableTag(e *entry) {
	var nodes []*yaml.Node
	for _, p := range circleci.Pairs(e.body) {
		switch p.Name {
		case "name", "requires", "context", "filters", "type", "serial-group", "matrix":
			continue
		}
		nodes = append(nodes, p.Value)
	}
	if e.def != nil {
		nodes = append(nodes, e.def.steps)
	}
	for _, m := range e.members() {
		for _, p := range circleci.Pairs(m.body) {
			nodes = append(nodes, p.Value)
		}
		if m.def != nil {
			nodes = append(nodes, m.def.steps)
		}
	}
	for _, n := range nodes {
		var hit *yaml.Node
		circleci.Walk(circleci.Deref(n), func(_, s *yaml.Node) {
			if hit == nil && s.Kind == yaml.ScalarNode && mutableTag().MatchString(s.Value) {
				hit = s
			}
		})
		if hit != nil {
			tag := mutableTag().FindStringSubmatch(hit.Value)[1]
			l.add(RuleMutableTag, nodePos(hit), entryScopes(e),
				fmt.Sprintf("deploy job %s deploys the mutable tag :%s", e.name, tag), "")
			return
		}
	}
}

// SG010: a deploy job needs a smoke test or health check in itself or in a job after it.
func (l *linter) checkSmokeTest(e *entry) {
	if l.smokeTested(e) {
		return
	}
	for _, d := range e.descendants() {
		if l.smokeTested(d) {
			return
		}
	}
	l.add(RuleSmokeTest, nodePos(e.node), entryScopes(e),
		fmt.Sprintf("deploy job %s has no smoke test or health check after it", e.name), "")
}

// smokeTested memoises hasSmokeTest per entry.
func (l *linter) smokeTested(e *entry) bool {
	if v, ok := l.smoke[e]; ok {
		return v
	}
	if l.smoke == nil {
		l.smoke = map[*entry]bool{}
	}
	v := l.hasSmokeTest(e)
	l.smoke[e] = v
	return v
}

// SG011: a config that deploys needs a rollback path: a rollback job or pipeline parameter.
func (l *linter) checkRollbackPath() {
	deploys := l.deployEntries()
	if len(deploys) == 0 || l.opts.RollbackPipeline != "" {
		return
	}
	for _, p := range l.cfg.params {
		if anyWord(words(p.Name), rollbackWords) {
			return
		}
	}
	for name := range l.cfg.jobs {
		if anyWord(words(name), rollbackWords) {
			return
		}
	}
	for _, wf := range l.cfg.workflows {
		if anyWord(words(wf.name), rollbackWords) {
			return
		}
		for _, e := range wf.entries {
			if e.isShipgateJob("rollback") || anyWord(words(e.name+" "+e.ref), rollbackWords) ||
				l.cfg.usesShipgateCommand(e, "rollback") {
				return
			}
		}
	}
	p := nodePos(l.cfg.workflowsKey)
	l.add(RuleRollbackPath, p, nil, "the config deploys but has no rollback job or rollback pipeline parameter", "")
}

// SG012: deploy jobs should be serialised with serial-group (or job-groups). A warning: an
// older pipeline's pre-empted deploy ends as not_run and the workflow can still go green.
func (l *linter) checkSerialGroup(e *entry) {
	if e.serial {
		return
	}
	l.add(RuleSerialGroup, nodePos(e.node), entryScopes(e),
		fmt.Sprintf("deploy job %s has no serial-group, so two pipelines can deploy at once", e.name), "")
}

// SG013: an approval job's name must not also be a job under `jobs:`.
func (l *linter) checkApprovalNames() {
	for _, wf := range l.cfg.workflows {
		for _, e := range wf.entries {
			if !e.approval {
				continue
			}
			for _, name := range []string{e.name, e.ref} {
				if _, defined := l.cfg.jobs[name]; defined {
					l.add(RuleApprovalNameIsJob, nodePos(e.node), entryScopes(e),
						fmt.Sprintf("approval job %s has the name of a job defined under jobs:", name), "")
					break
				}
			}
		}
	}
}

// SG014: a pipeline parameter that selects the target environment must be an enum.
func (l *linter) checkEnvironmentParams() {
	for _, p := range l.cfg.params {
		name := strings.ToLower(p.Name)
		if !anyWord(words(name), wordSet("env", "environment", "stage")) {
			continue
		}
		typ := circleci.Scalar(circleci.Get(p.Value, "type"))
		if typ == "enum" || typ == "boolean" {
			continue
		}
		l.add(RuleEnvironmentParamEnum, nodePos(p.Key), nil,
			fmt.Sprintf("pipeline parameter %s selects an environment but is %s, not an enum", p.Name, describeType(typ)), "")
	}
}

func describeType(t string) string {
	if t == "" {
		return "untyped"
	}
	return "of type " + t
}

// anchorHolders are top-level keys configs commonly use only to hold YAML anchors.
var anchorHolders = wordSet("references", "aliases", "anchors", "defaults", "definitions")

func (l *linter) checkTopLevel(root *yaml.Node) {
	for _, p := range circleci.Pairs(root) {
		holdsAnchor := p.Value != nil && p.Value.Anchor != ""
		if !knownTopLevel[p.Name] && !anchorHolders[p.Name] && !holdsAnchor && !strings.HasPrefix(p.Name, "x-") {
			l.add(RuleUnknownTopLevelKey, nodePos(p.Key), nil,
				fmt.Sprintf("unknown top-level key %q", p.Name), "")
		}
	}
}

func (l *linter) checkOrbs() {
	for _, imp := range l.cfg.orbs {
		if imp.known {
			continue
		}
		what := "orb " + imp.name
		if imp.name == "" {
			what = "inline orb " + imp.alias
		}
		l.add(RuleUnknownOrb, nodePos(imp.key), nil,
			fmt.Sprintf("%s is not known to shipgate lint: its jobs are judged by their names only", what), "")
	}
}

func (l *linter) checkUndefinedJobs() {
	for _, wf := range l.cfg.workflows {
		for _, e := range wf.entries {
			if e.approval || e.def != nil || e.group != nil {
				continue
			}
			if alias, _, ok := strings.Cut(e.ref, "/"); ok {
				if l.cfg.orbs[alias] != nil {
					continue
				}
				l.add(RuleUndefinedJob, nodePos(e.node), entryScopes(e),
					fmt.Sprintf("workflow %s runs %q but no orb is imported as %q", wf.name, e.ref, alias), "")
				continue
			}
			l.add(RuleUndefinedJob, nodePos(e.node), entryScopes(e),
				fmt.Sprintf("workflow %s runs %q, which is not defined under jobs:", wf.name, e.ref), "")
		}
	}
}
