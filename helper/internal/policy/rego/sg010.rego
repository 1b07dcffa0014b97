# SG010 deploy without a smoke test (docs/lint.md#sg010), in the deploy job or a job after it.
package org

import future.keywords

policy_name["shipgate_sg010"]

# sg_smoked holds every entry that runs a smoke test, computed once.
sg_smoked := {key | some key, _ in sg_entries; sg_smoke_tested_computed(key)}

sg_smoke_tested(key) if key in sg_smoked

sg_smoke_tested_computed(key) if {
	some m in sg_members(key)
	sg_smoke_tested_itself(m)
}

sg_smoke_tested_computed(key) if { sg_smoke_tested_itself(key) }

# The orb's deploy job and command run their smoke tests after the deploy steps.
sg_smoke_tested_itself(key) if { sg_shipgate_job(key, {"deploy", "smoke_test"}) }

sg_smoke_tested_itself(key) if { sg_any_word(concat(" ", [sg_entries[key].name, sg_entries[key].ref]), sg_smoke_words) }

sg_smoke_tested_itself(key) if { sg_uses_shipgate_command(key, {"smoke_test", "deploy"}) }

sg_smoke_tested_itself(key) if {
	some step in sg_steps(key)
	sg_smoke_step(step)
}

sg_smoke_step(step) if {
	name := sg_step_name(step)
	name != "run"
	sg_any_word(name, sg_smoke_words)
}

sg_smoke_step(step) if {
	sg_step_name(step) == "run"
	text := sg_run_text(sg_step_body(step))
	sg_any_word(text, sg_smoke_words)
}

sg_smoke_step(step) if {
	sg_step_name(step) == "run"
	contains(sg_run_text(sg_step_body(step)), "shipgate smoke-test")
}

sg_run_text(body) := sg_str(body) if { sg_str(body) != "" }
else := concat(" ", [sg_str(sg_get(body, "name")), sg_str(sg_get(body, "command"))])

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
