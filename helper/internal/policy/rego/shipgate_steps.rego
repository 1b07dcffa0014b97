# shipgate's deployment rules as a CircleCI config policy: what a job's steps do (build an
# image, receive the artifact, smoke-test), shared by several rules and always in the bundle, so
# any rule can be left out without breaking the others.
package org

import future.keywords

policy_name["shipgate_steps"]

sg_build_command := `(?m)\b(docker(\s+image|\s+buildx|\s+compose)?\s+build|buildah\s+(bud|build)|podman\s+build|kaniko/executor|pack\s+build|ko\s+(build|publish|apply)|gcloud\s+builds\s+submit|nerdctl\s+build)\b`

sg_building_orb_jobs := {"circleci/docker/publish", "circleci/aws-ecr/build_and_push_image",
	"circleci/aws-ecr/build-and-push-image", "circleci/gcp-gcr/build-and-push-image",
	"circleci/gcp-gcr/build_and_push_image"}

sg_building_orb_commands := {"circleci/docker/build", "circleci/aws-ecr/build_image",
	"circleci/aws-ecr/build-image", "circleci/aws-ecr/build_and_push_image",
	"circleci/gcp-gcr/build-image", "circleci/gcp-gcr/build_image"}

sg_digest_hints := `@sha256:|\bSHIPGATE_(IMAGE|DIGEST)\b|release\.json|\bdigest\b`

# sg_builders holds every entry whose job (or job group) builds an image, computed once.
sg_builders := {key | some key, _ in sg_entries; some m in {key} | sg_members(key); sg_builds_image_itself(m)}

sg_builds_image(key) if key in sg_builders

sg_builds_image_itself(key) if {
	alias := sg_orb_alias(key)
	sg_building_orb_jobs[concat("/", [sg_orb_name(alias), sg_orb_job(key)])]
}

sg_builds_image_itself(key) if {
	alias := sg_orb_alias(key)
	sg_orb_imported(alias)
	not sg_known_orb(alias)
	ws := sg_words(sg_orb_job(key))
	"build" in ws
	count(ws & {"image", "docker", "push", "publish"}) > 0
}

sg_known_orb(alias) if { sg_shipgate_alias(alias) }

sg_known_orb(alias) if { sg_known_orbs[sg_orb_name(alias)] }

sg_builds_image_itself(key) if {
	some step in sg_steps(key)
	name := sg_step_name(step)
	contains(name, "/")
	alias := split(name, "/")[0]
	sg_orb_imported(alias)
	sg_building_orb_commands[concat("/", [sg_orb_name(alias), substring(name, count(alias) + 1, -1)])]
}

sg_builds_image_itself(key) if {
	some step in sg_steps(key)
	sg_step_name(step) == "run"
	some s in sg_scalars(sg_step_body(step))
	regex.match(sg_build_command, s)
}

# sg_staging_path: the entries staging deploys depend on (themselves included).
sg_staging_path := {k | some s, d in sg_deploy_entries; d[0] == "staging"; some k in sg_chain(s)}

# sg_receives_artifact: a job defined here attaches the workspace, uses shipgate's orb, or
# refers to a digest.
sg_receives_artifact(key) if {
	some step in sg_steps(key)
	sg_step_name(step) == "attach_workspace"
}

sg_receives_artifact(key) if {
	some step in sg_steps(key)
	name := sg_step_name(step)
	contains(name, "/")
	sg_shipgate_alias(split(name, "/")[0])
}

sg_receives_artifact(key) if {
	some step in sg_steps(key)
	some s in sg_scalars(sg_step_body(step))
	regex.match(sg_digest_hints, s)
}

# sg_smoked holds every entry that runs a smoke test, computed once.
sg_smoked := {key | some key, _ in sg_entries; sg_smoke_tested_computed(key)}

sg_smoke_tested(key) if key in sg_smoked

sg_smoke_tested_computed(key) if {
	some m in sg_members(key)
	sg_smoke_tested_itself(m)
}

sg_smoke_tested_computed(key) if { sg_smoke_tested_itself(key) }

# The orb's deploy job and command run their smoke tests after the deploy steps.
sg_smoke_tested_itself(key) if { sg_shipgate_job(key, {"deploy_release", "deploy", "smoke_test"}) }

sg_smoke_tested_itself(key) if { sg_any_word(concat(" ", [sg_entries[key].name, sg_entries[key].ref]), sg_smoke_words) }

sg_smoke_tested_itself(key) if { sg_uses_shipgate_command(key, {"smoke_test", "deploy_release", "deploy"}) }

sg_smoke_tested_itself(key) if {
	some step in sg_steps(key)
	sg_smoke_step(step)
}

sg_smoke_step(step) if {
	name := sg_step_name(step)
	name != "run"
	sg_any_word(name, sg_smoke_words)
}

sg_smoke_step(step) if {
	sg_step_name(step) == "run"
	text := sg_run_text(sg_step_body(step))
	sg_any_word(text, sg_smoke_words)
}

sg_smoke_step(step) if {
	sg_step_name(step) == "run"
	contains(sg_run_text(sg_step_body(step)), "shipgate smoke-test")
}

sg_run_text(body) := sg_str(body) if { sg_str(body) != "" }
else := concat(" ", [sg_str(sg_get(body, "name")), sg_str(sg_get(body, "command"))])
