package circleci

// BuiltinSteps are the step names CircleCI itself defines (configuration reference, "steps"):
// a command or job of the same name is shadowed or ambiguous. `deploy` is deprecated but still
// parsed as the built-in, so CircleCI's language server reads an unqualified `deploy` call as
// the built-in step even inside an orb that defines a `deploy` command (FACTS.md, "Learned from
// third-party software"; issue 16 point 7).
var BuiltinSteps = map[string]bool{
	"run": true, "checkout": true, "setup_remote_docker": true, "save_cache": true,
	"restore_cache": true, "deploy": true, "store_artifacts": true, "store_test_results": true,
	"persist_to_workspace": true, "attach_workspace": true, "add_ssh_keys": true,
	"when": true, "unless": true,
}

// ConfigKeys are the top-level keys of a CircleCI 2.1 config (configuration reference), and
// OrbKeys those of an orb.
var (
	ConfigKeys = []string{"version", "setup", "orbs", "jobs", "workflows", "commands", "executors", "parameters", "experimental", "job-groups"}
	OrbKeys    = []string{"version", "description", "display", "orbs", "commands", "executors", "jobs", "examples"}
)
