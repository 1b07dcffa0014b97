# SG001 production deploy without approval (docs/lint.md#sg001): a production deploy job has no type: approval job in its requires chain.
package org

import future.keywords

policy_name["shipgate_sg001"]

sg001_production_approval contains msg if {
	some key, d in sg_deploy_entries
	d[0] == "production"
	not sg_has_approval_upstream(key)
	not sg_entry_disabled(key, "SG001")
	msg := sprintf("production deploy job %s%s has no approval job in its requires chain", [sg_entries[key].name, sg_env_note(key)])
}

sg_has_approval_upstream(key) if {
	some a in sg_ancestors(key)
	sg_approval(a)
}
