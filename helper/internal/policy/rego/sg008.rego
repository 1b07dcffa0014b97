# SG008 production does not deploy the tested image (docs/lint.md#sg008).
package org

import future.keywords

policy_name["shipgate_sg008"]

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
