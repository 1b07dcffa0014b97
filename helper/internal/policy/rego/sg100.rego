# SG100 unknown top-level key (docs/lint.md#sg100). Not expressible here: a key whose value only carries a YAML anchor (the decoded config has no anchors), so such keys must be named references, aliases, anchors, defaults, definitions or x-...
package org

import future.keywords

policy_name["shipgate_sg100"]

sg_known_top_level := {"version", "setup", "orbs", "commands", "parameters", "executors", "jobs", "experimental",
	"workflows", "job-groups", "references", "aliases", "anchors", "defaults", "definitions", "_compiled_"}

sg100_unknown_key contains msg if {
	some k, _ in input
	not sg_known_top_level[k]
	not startswith(k, "x-")
	msg := sprintf("unknown top-level key %q", [k])
}
