# shipgate's deployment rules as a CircleCI config policy: what a job does, read from its run
# steps' simple commands and its command calls (lint: actions.go, deploysignals.go and
# circleci.SimpleCommands), so a job is a deploy by what it runs, not only by its name.
#
# Not expressible as in lint: heredoc bodies are not skipped (a heredoc line that reads like a
# deploy command counts as one), and config commands that call commands are followed three
# levels deep (lint: eight), as Rego has no recursion.
package org

import future.keywords

policy_name["shipgate_actions"]

sg_command_separators := "&&|\\|\\||[;|&\\n(]|\\$\\(|`|\\bthen\\b|\\bdo\\b|\\belse\\b"

sg_command_prefixes := {"sudo", "exec", "command", "time", "!", "if", "elif", "while", "until", "{", "env"}

sg_env_assignment(f) if regex.match(`^[A-Za-z_][A-Za-z0-9_]*=\S*$`, f)

sg_leading(f) if sg_env_assignment(f)

sg_leading(f) if sg_command_prefixes[f]

# sg_simple_commands splits a script into its simple commands, comments out, leading variable
# assignments and prefixes (sudo, env, if …) dropped.
sg_simple_commands(script) := [cmd |
	some line in split(script, "\n")
	not startswith(trim_space(line), "#")
	some part in regex.split(sg_command_separators, line)
	fields := [f | some f in regex.split(`\s+`, trim_space(part)); f != ""]
	starts := [i | some i, f in fields; not sg_leading(f)]
	count(starts) > 0
	cmd := concat(" ", array.slice(fields, starts[0], count(fields)))
]

sg_run_script(body) := s if {
	s := sg_str(body)
	s != ""
} else := sg_str(sg_get(body, "command"))

sg_commands_defs := sg_obj(input.commands)

# sg_action_of is one step as an action; callers add what it expands to.
sg_action_of(step) := {"call": "run", "cmds": sg_simple_commands(sg_run_script(sg_step_body(step))), "alias": ""} if {
	sg_step_name(step) == "run"
} else := {"call": name, "cmds": [], "alias": sg_call_alias(name)} if {
	name := sg_step_name(step)
	not name in {"", "when", "unless"}
}

sg_call_alias(name) := alias if {
	contains(name, "/")
	alias := split(name, "/")[0]
	sg_orb_imported(alias)
} else := ""

sg_nested_steps(step) := sg_list(sg_get(sg_step_body(step), "steps")) if {
	sg_step_name(step) in {"when", "unless"}
} else := sg_list(sg_get(sg_commands_defs[name], "steps")) if {
	name := sg_step_name(step)
	not contains(name, "/")
	_ = sg_commands_defs[name]
} else := sg_list(sg_get(sg_commands_defs[name], "steps")) if {
	name := sg_step_name(step)
	contains(name, "/")
	sg_call_alias(name) == ""
	_ = sg_commands_defs[name]
} else := []

# Levels of expansion, unrolled: a step, then what when/unless and config commands hold.
sg_acts0(steps) := [a | some step in steps; a := sg_action_of(step)]

sg_acts1(steps) := [a | some step in steps; some a in array.concat([x | x := sg_action_of(step)], sg_acts0(sg_nested_steps(step)))]

sg_acts2(steps) := [a | some step in steps; some a in array.concat([x | x := sg_action_of(step)], sg_acts1(sg_nested_steps(step)))]

sg_acts3(steps) := [a | some step in steps; some a in array.concat([x | x := sg_action_of(step)], sg_acts2(sg_nested_steps(step)))]

# sg_actions[key] is what the entry's job does, in step order (a job defined in this config).
sg_actions := {key: sg_acts3(sg_list(sg_get(sg_def(key), "steps"))) | some key, _ in sg_entries; sg_has_def(key)}

# (Not object.get: an array key is read as a path there.)
sg_acts_of(key) := sg_actions[key] if { _ = sg_actions[key] } else := []

sg_cmds(key) := [c | some a in sg_acts_of(key); some c in a.cmds]

sg_orb_commands(key) := [concat("/", [sg_orb_name(a.alias), substring(a.call, count(a.alias) + 1, -1)]) |
	some a in sg_acts_of(key)
	a.alias != ""
	sg_orb_name(a.alias) != ""
]

sg_deploy_commands := concat("", ["^(?:", concat("|", [
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
]), ")"])

sg_deploying_orb_steps := {
	"circleci/aws-ecs/deploy-service-update", "circleci/aws-ecs/deploy_service_update",
	"circleci/aws-ecs/update-service", "circleci/aws-ecs/update_service",
	"circleci/kubernetes/create-or-update-resource", "circleci/kubernetes/create_or_update_resource",
	"circleci/kubernetes/update-container-image", "circleci/kubernetes/update_container_image",
	"circleci/aws-eks/update-container-image", "circleci/aws-eks/create-or-update-resource",
	"circleci/helm/upgrade-helm-chart", "circleci/helm/upgrade_helm_chart",
	"circleci/helm/install-helm-chart", "circleci/helm/install_helm_chart",
	"circleci/gcp-cloud-run/deploy", "circleci/gcp-gke/rollout-image", "circleci/gcp-gke/publish-and-rollout-image",
	"circleci/terraform/apply", "circleci/aws-code-deploy/deploy", "circleci/aws-code-deploy/deploy-bundle",
}

sg_not_service_words := {"docs", "doc", "documentation", "javadoc", "apidocs", "storybook", "changelog"}

sg_publish_commands := `^(?:\baws\s+s3\s+(sync|cp)\b|\bgsutil\b[^\n;&|]*\s(rsync|cp)\b|\bgcloud\s+storage\s+(cp|rsync)\b|\baz\s+storage\s+blob\s+(upload|sync)|\bnpm\s+publish\b|\btwine\s+upload\b|\bmkdocs\s+gh-deploy\b|\bgh\s+release\b)`

# sg_deploy_signal: something in the entry's job deploys (a deploying orb job, a deploy command
# that is not a dry run, a deploying orb command).
sg_deploy_signal(key) if sg_deploying_orb_steps[concat("/", [sg_orb_name(sg_orb_alias(key)), sg_orb_job(key)])]

sg_deploy_signal(key) if {
	some c in sg_cmds(key)
	regex.match(sg_deploy_commands, c)
	not contains(c, "--dry-run")
}

sg_deploy_signal(key) if {
	some cmd in sg_orb_commands(key)
	sg_deploying_orb_steps[cmd]
}

# sg_named_but_not_deploy: a job named like a deploy that publishes documentation, or only
# uploads files or packages (a job whose steps are not visible keeps its name's word).
sg_named_but_not_deploy(key) if {
	sg_has_def(key)
	sg_any_word(concat(" ", [sg_entries[key].name, sg_entries[key].ref]), sg_not_service_words)
}

sg_named_but_not_deploy(key) if {
	sg_has_def(key)
	some c in sg_cmds(key)
	regex.match(sg_publish_commands, c)
	not sg_runs_deploy_script(key)
}

# A script named deploy (./deploy.sh, make deploy) may release anything.
sg_runs_deploy_script(key) if {
	some c in sg_cmds(key)
	not regex.match(sg_publish_commands, c)
	sg_any_word(c, sg_strong_deploy_words)
}

sg_env_flags := `(?:--kube-context|--context|--namespace|--cluster|--environment|--env|--stage|--project|--workspace|--app|-n)[= ]+["']?([A-Za-z0-9_.:/-]+)|terraform\s+workspace\s+select\s+(\S+)`

# sg_env_of_commands reads the target environment from the job's deploy commands
# (`helm upgrade --kube-context prod`); the reason names the flag, never its value.
sg_env_of_commands(key) := found[0] if {
	found := [[env, concat("", ["deploy command's ", split(split(trim_space(m[0]), " ")[0], "=")[0]])] |
		some c in sg_cmds(key)
		sg_commands_env_line(c)
		some m in regex.find_all_string_submatch_n(sg_env_flags, c, -1)
		env := sg_env_of_text(concat("", [m[1], m[2]]))
		env != ""
	]
	count(found) > 0
}

sg_commands_env_line(c) if regex.match(sg_deploy_commands, c)

sg_commands_env_line(c) if startswith(c, "terraform workspace select")
