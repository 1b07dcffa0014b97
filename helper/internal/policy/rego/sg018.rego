# SG018 deploy job uses another environment's context (docs/lint.md#sg018).
package org

import future.keywords

policy_name["shipgate_sg018"]

sg018_foreign_context contains msg if {
	some key, d in sg_deploy_entries
	env := d[0]
	env != ""
	some c in sg_all_contexts(key)
	other := sg_env_of_text(c)
	other != ""
	other != env
	not sg_entry_disabled(key, "SG018")
	msg := sprintf("deploy job %s%s deploys %s but uses context %s, which is for %s", [sg_entries[key].name, sg_env_note(key), env, c, other])
}
