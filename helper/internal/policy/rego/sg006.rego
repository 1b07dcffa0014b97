# SG006 staging and production share a context (docs/lint.md#sg006).
package org

import future.keywords

policy_name["shipgate_sg006"]

sg006_shared_context contains msg if {
	some key, d in sg_deploy_entries
	d[0] == "production"
	some c in sg_all_contexts(key)
	staging := sort({sg_entries[k].name | some k, s in sg_deploy_entries; s[0] == "staging"; c in sg_all_contexts(k)})
	count(staging) > 0
	not sg_entry_disabled(key, "SG006")
	msg := sprintf("production deploy job %s%s uses context %s, which %s", [sg_entries[key].name, sg_env_note(key), c, sg_staging_users(staging)])
}

# Every staging job that uses the context, sorted: the engine's mappings have no order.
sg_staging_users(names) := sprintf("staging deploy job %s also uses", [names[0]]) if {
	count(names) == 1
} else := sprintf("staging deploy jobs %s also use", [concat(", ", names)])
