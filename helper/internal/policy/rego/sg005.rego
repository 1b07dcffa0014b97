# SG005 deploy job without a context (docs/lint.md#sg005).
package org

import future.keywords

policy_name["shipgate_sg005"]

sg005_deploy_context contains msg if {
	some key, _ in sg_deploy_entries
	count(sg_all_contexts(key)) == 0
	not sg_entry_disabled(key, "SG005")
	msg := sprintf("deploy job %s has no context", [sg_entries[key].name])
}
