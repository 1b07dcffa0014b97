# SG010 deploy without a smoke test (docs/lint.md#sg010), in the deploy job or a job after it.
package org

import future.keywords

policy_name["shipgate_sg010"]

sg010_smoke_test contains msg if {
	some key, _ in sg_deploy_entries
	not sg_smoke_tested(key)
	not sg_smoke_after(key)
	not sg_entry_disabled(key, "SG010")
	msg := sprintf("deploy job %s has no smoke test or health check after it", [sg_entries[key].name])
}

sg_smoke_after(key) if {
	some d in sg_descendants(key)
	sg_smoke_tested(d)
}
