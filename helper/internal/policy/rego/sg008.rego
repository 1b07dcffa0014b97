# SG008 production does not deploy the tested image (docs/lint.md#sg008).
package org

import future.keywords

policy_name["shipgate_sg008"]

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

sg008_production_rebuild contains msg if {
	some key, d in sg_deploy_entries
	d[0] == "production"
	sg_builds_image(key)
	not sg_entry_disabled(key, "SG008")
	msg := sprintf("production deploy job %s%s builds an image instead of promoting the tested digest", [sg_entries[key].name, sg_env_note(key)])
}

sg008_production_rebuild contains msg if {
	some key, d in sg_deploy_entries
	d[0] == "production"
	not sg_builds_image(key)
	count(sg_staging_path) > 0
	rebuilt := sort([sg_entries[a].name | some a in sg_ancestors(key); not a in sg_staging_path; sg_builds_image(a)])
	count(rebuilt) > 0
	not sg_entry_disabled(key, "SG008")
	msg := sprintf("production deploy job %s%s requires %s, which builds a new image that staging never tested", [sg_entries[key].name, sg_env_note(key), rebuilt[0]])
}

sg008_production_rebuild contains msg if {
	some key, d in sg_deploy_entries
	d[0] == "production"
	not sg_builds_image(key)
	not sg_rebuilt_upstream(key)
	sg_has_def(key)
	not sg_receives_artifact(key)
	not sg_entry_disabled(key, "SG008")
	msg := sprintf("production deploy job %s%s neither attaches the workspace nor deploys by digest", [sg_entries[key].name, sg_env_note(key)])
}

sg_rebuilt_upstream(key) if {
	count(sg_staging_path) > 0
	some a in sg_ancestors(key)
	not a in sg_staging_path
	sg_builds_image(a)
}
