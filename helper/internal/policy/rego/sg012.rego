# SG012 deploy job without serial-group (docs/lint.md#sg012).
package org

import future.keywords

policy_name["shipgate_sg012"]

sg012_serial_group contains msg if {
	some key, _ in sg_deploy_entries
	not sg_has_serial_group(key)
	not sg_entry_disabled(key, "SG012")
	msg := sprintf("deploy job %s has no serial-group, so two pipelines can deploy at once", [sg_entries[key].name])
}

sg_has_serial_group(key) if { _ = sg_entries[key].body["serial-group"] }
