package app

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// commandExamples are shown by `--help` and in docs/commands.md (issue 18 point 6), keyed by
// the command as typed after `shipgate`. TestEveryCommandHasExamples keeps the list complete.
var commandExamples = map[string][]string{
	"record-artifact": {
		"shipgate record-artifact --image registry.example.com/app:$CIRCLE_SHA1 --out release.json --export-to $BASH_ENV",
	},
	"promote": {
		"shipgate promote --release release.json --to registry.example.com/prod/app --env production --export-to $BASH_ENV",
		"shipgate promote --from registry.example.com/app@sha256:… --to other.example.com/app --to mirror.example.com/app --tag v1.4.2",
		"shipgate promote --release release.json --to registry.example.com/prod/app --env production --dry-run",
	},
	"mark-deployed": {
		"shipgate mark-deployed --status deploying --image registry.example.com/prod/app@sha256:… --env production",
		"shipgate mark-deployed --env production   # after promote --export-to: image and release from the environment",
	},
	"mark-good": {"shipgate mark-good --image registry.example.com/prod/app@sha256:… --env production"},
	"mark-bad":  {"shipgate mark-bad --image registry.example.com/prod/app@sha256:… --env production --reason 'smoke test failed'"},
	"releases": {
		"shipgate releases --repo registry.example.com/prod/app --env production",
		"shipgate releases --repo registry.example.com/prod/app --env production --limit 0 --output json",
	},
	"find": {"shipgate find --repo registry.example.com/staging/app --env staging --tree $(git rev-parse HEAD^{tree}) --export-to $BASH_ENV"},
	"rollback": {
		"shipgate rollback --repo registry.example.com/prod/app --env production --export-to $BASH_ENV",
		"shipgate rollback --repo registry.example.com/prod/app --env production --steps 2 --out rollback.json",
	},
	"ledger prune": {
		"shipgate ledger prune --repo registry.example.com/prod/app --env production   # dry run: what would go",
		"shipgate ledger prune --repo registry.example.com/prod/app --env production --keep 10 --keep-days 30 --apply",
		"shipgate ledger prune --repo registry.example.com/prod/app --ledger-repo registry.example.com/prod/app-ledger --env production --apply",
	},
	"ledger copy": {
		"shipgate ledger copy --repo registry.example.com/prod/app --to registry.example.com/prod/app-ledger --env production --apply",
	},
	"smoke-test": {
		"shipgate smoke-test --url https://app.example.com/healthz --expect-version $SHIPGATE_VERSION",
		"shipgate smoke-test --checks smoke.yml --timeout 5m --junit test-results/smoke.xml",
	},
	"lint": {
		"shipgate lint",
		"shipgate lint --output sarif .circleci/config.yml > lint.sarif",
		"shipgate lint --disable SG012 src/examples",
	},
	"policy bundle": {
		"shipgate policy bundle --out policies",
		"shipgate policy bundle --soft --settings .shipgate-lint.yml --out policies",
		"circleci policy decide --input .circleci/config.yml --no-compile -- policies",
	},
	"aws assume-role": {
		"shipgate aws assume-role --role-arn arn:aws:iam::123456789012:role/deploy --region eu-west-1 --export-to $BASH_ENV",
	},
	"aws credential-process": {
		"credential_process = shipgate aws credential-process --role-arn arn:aws:iam::123456789012:role/deploy --region eu-west-1",
	},
	"aws trust-policy": {
		"shipgate aws trust-policy --account-id 123456789012 --org-id $ORG_ID --project-id $PROJECT_ID --branch main",
		"shipgate aws trust-policy --account-id 123456789012 --org-id $ORG_ID --project-id $PROJECT_ID --check",
	},
	"gcp credentials": {
		"shipgate gcp credentials --provider projects/123456789012/locations/global/workloadIdentityPools/circleci/providers/circleci --export-to $BASH_ENV",
	},
	"gcp subject-token":   {"shipgate gcp subject-token   # run by Google's libraries through the credentials file"},
	"gcp access-token":    {"shipgate gcp access-token | docker login -u oauth2accesstoken --password-stdin europe-docker.pkg.dev"},
	"gcp provider-config": {"shipgate gcp provider-config --org-id $ORG_ID --project-id $PROJECT_ID --vcs-ref refs/heads/main"},
	"version":             {"shipgate version"},
	"completion":          {"source <(shipgate completion bash)", "source <(shipgate completion zsh)"},
}

const examplesHeading = "Examples:"

// addExamples appends a command's examples to its description, which --help and the command
// reference both show.
func addExamples(c *cli.Command, path string) {
	examples := commandExamples[path]
	if len(examples) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString(strings.TrimRight(c.Description, "\n"))
	if b.Len() > 0 {
		b.WriteString("\n\n")
	}
	b.WriteString(examplesHeading)
	for _, e := range examples {
		b.WriteString("\n  " + e)
	}
	c.Description = b.String()
}
