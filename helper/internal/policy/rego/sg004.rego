# SG004 staging deploy not limited to its branch (docs/lint.md#sg004). Trunk-based promotion: a staging deploy that a production deploy requires may run on the release branch.
package org

import future.keywords

policy_name["shipgate_sg004"]

sg004_staging_branch contains msg if {
	some key, d in sg_deploy_entries
	d[0] == "staging"
	sg_has_gates(key)
	want := sg_staging_want(key)
	not sg_limited_to(key, want, sg_named_branches(key) | {sg_release_branch})
	not sg_entry_disabled(key, "SG004")
	msg := sprintf("staging deploy job %s%s is not limited to the staging branch %s%s", [sg_entries[key].name, sg_env_note(key), sg_staging_branch, sg_staging_also(key)])
}

sg_staging_want(key) := {sg_staging_branch, sg_release_branch} if { sg_promotes_to_production(key) }
else := {sg_staging_branch}

sg_staging_also(key) := sprintf(" or the release branch %s", [sg_release_branch]) if { sg_promotes_to_production(key) }
else := ""
