# SG015 deploy job does not receive the built artifact (docs/lint.md#sg015). Production is SG008's third case; jobs of orbs are not visible in the config and are not judged.
package org

import future.keywords

policy_name["shipgate_sg015"]

sg015_artifact_handover contains msg if {
	some key, d in sg_deploy_entries
	d[0] != "production"
	sg_has_def(key)
	not sg_receives_artifact(key)
	not sg_resolves_from_ledger(key)
	not sg_entry_disabled(key, "SG015")
	msg := sprintf("deploy job %s neither attaches the workspace nor resolves a recorded digest", [sg_entries[key].name])
}

# sg_resolves_from_ledger: a step resolves the digest from the ledger instead of building one.
sg_resolves_from_ledger(key) if {
	some step in sg_steps(key)
	some s in sg_scalars(sg_step_body(step))
	regex.match(`\bshipgate\s+(find|rollback)\b`, s)
}
