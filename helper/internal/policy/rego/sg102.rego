# SG102 workflow job is not defined (docs/lint.md#sg102).
package org

import future.keywords

policy_name["shipgate_sg102"]

sg102_undefined_job contains msg if {
	some key, e in sg_entries
	sg_is_workflow_scope(key[0])
	not sg_approval(key)
	not sg_has_def(key)
	not sg_group_of(key)
	contains(e.ref, "/")
	alias := split(e.ref, "/")[0]
	not sg_orb_imported(alias)
	not sg_entry_disabled(key, "SG102")
	msg := sprintf("workflow %s runs %q but no orb is imported as %q", [sg_scope_wf(key[0]), e.ref, alias])
}

sg102_undefined_job contains msg if {
	some key, e in sg_entries
	sg_is_workflow_scope(key[0])
	not sg_approval(key)
	not sg_has_def(key)
	not sg_group_of(key)
	not contains(e.ref, "/")
	not sg_entry_disabled(key, "SG102")
	msg := sprintf("workflow %s runs %q, which is not defined under jobs:", [sg_scope_wf(key[0]), e.ref])
}
