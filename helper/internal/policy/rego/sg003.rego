# SG003 production deploy not limited to the release branch (docs/lint.md#sg003).
package org

import future.keywords

policy_name["shipgate_sg003"]

sg003_production_branch contains msg if {
	some key, d in sg_deploy_entries
	d[0] == "production"
	sg_has_gates(key)
	not sg_limited_to(key, {sg_release_branch}, sg_named_branches(key) | {sg_staging_branch})
	not sg_entry_disabled(key, "SG003")
	msg := sprintf("production deploy job %s%s is not limited to the release branch %s", [sg_entries[key].name, sg_env_note(key), sg_release_branch])
}
