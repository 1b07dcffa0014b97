# SG016 production deploy records no known-good state after its smoke test (docs/lint.md#sg016).
package org

import future.keywords

policy_name["shipgate_sg016"]

sg016_known_good contains msg if {
	some key, d in sg_deploy_entries
	d[0] == "production"
	not sg_records_known_good(key)
	not sg_entry_disabled(key, "SG016")
	msg := sprintf("production deploy job %s%s records no known-good state after its smoke test", [sg_entries[key].name, sg_env_note(key)])
}

sg_downstream(key) := {key} | sg_descendants(key)

# The orb's deploy job marks good after its smoke test; so does a job whose mark-good step
# follows its smoke step. (The orb's deploy command records only deploying and deployed.)
sg_records_known_good(key) if {
	some j in sg_downstream(key)
	some x in {j} | sg_members(j)
	sg_marks_good_itself(x)
}

# Or a job that marks good after a smoke-tested one.
sg_records_known_good(key) if {
	some s in sg_downstream(key)
	sg_smoke_tested(s)
	some d in sg_descendants(s)
	sg_marks_good(d)
}

sg_marks_good_itself(x) if sg_shipgate_job(x, {"deploy_release", "deploy"})

sg_marks_good_itself(x) if {
	steps := sg_steps(x)
	some i, smoke in steps
	sg_smoke_step(smoke)
	some j, mark in steps
	j > i
	sg_mark_good_step(mark)
}

sg_marks_good(d) if {
	some x in {d} | sg_members(d)
	some step in sg_steps(x)
	sg_mark_good_step(step)
}

sg_mark_good_step(step) if {
	name := sg_step_name(step)
	contains(name, "/")
	alias := split(name, "/")[0]
	sg_shipgate_alias(alias)
	substring(name, count(alias) + 1, -1) == "mark_good"
}

sg_mark_good_step(step) if {
	sg_step_name(step) == "run"
	regex.match(`\bshipgate\s+mark-good\b`, sg_run_text(sg_step_body(step)))
}
