# SG011 no rollback path (docs/lint.md#sg011). Not expressible here: a rollback pipeline config (.circleci/rollback.yml) beside the config, which the engine never sees; such a project needs an exception.
package org

import future.keywords

policy_name["shipgate_sg011"]

sg_has_rollback_path if {
	some name, _ in sg_obj(input.parameters)
	sg_any_word(name, sg_rollback_words)
}

sg_has_rollback_path if {
	some name, _ in sg_jobs
	sg_any_word(name, sg_rollback_words)
}

sg_has_rollback_path if {
	some name, _ in sg_workflows
	sg_any_word(name, sg_rollback_words)
}

sg_has_rollback_path if {
	some key, e in sg_entries
	sg_is_workflow_scope(key[0])
	sg_rollback_entry(key, e)
}

sg_rollback_entry(key, _) if { sg_shipgate_job(key, {"rollback"}) }

sg_rollback_entry(_, e) if { sg_any_word(concat(" ", [e.name, e.ref]), sg_rollback_words) }

sg_rollback_entry(key, _) if { sg_uses_shipgate_command(key, {"rollback"}) }

sg011_rollback_path contains msg if {
	count(sg_deploy_entries) > 0
	not sg_has_rollback_path
	msg := "the config deploys but has no rollback job or rollback pipeline parameter"
}
