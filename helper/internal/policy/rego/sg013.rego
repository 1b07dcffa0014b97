# SG013 approval job name is also a defined job (docs/lint.md#sg013).
package org

import future.keywords

policy_name["shipgate_sg013"]

sg013_approval_name contains msg if {
	some key, e in sg_entries
	sg_is_workflow_scope(key[0])
	sg_approval(key)
	names := [n | some n in [e.name, e.ref]; _ = sg_jobs[n]]
	count(names) > 0
	not sg_entry_disabled(key, "SG013")
	msg := sprintf("approval job %s has the name of a job defined under jobs:", [names[0]])
}
