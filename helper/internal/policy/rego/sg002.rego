# SG002 deploy job runs on every branch (docs/lint.md#sg002).
package org

import future.keywords

policy_name["shipgate_sg002"]

sg002_deploy_filters contains msg if {
	some key, _ in sg_deploy_entries
	not sg_has_gates(key)
	not sg_entry_disabled(key, "SG002")
	msg := sprintf("deploy job %s has no branch or tag filters and runs on every branch", [sg_entries[key].name])
}

# A deploy job of another (or an unknown) environment must at least keep feature branches off.
sg002_deploy_filters contains msg if {
	some key, d in sg_deploy_entries
	not d[0] in {"production", "staging"}
	sg_has_gates(key)
	not sg_limited_to(key, set(), set())
	sg_runs_on(key, sg_probe_branches[0])
	not sg_entry_disabled(key, "SG002")
	msg := sprintf("deploy job %s runs on feature branches: its filters do not limit it", [sg_entries[key].name])
}
