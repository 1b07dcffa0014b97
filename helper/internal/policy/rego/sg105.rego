# SG105 a deprecated pipeline value (docs/lint.md#sg105). The values and their messages come
# from circleci.PipelineValueNotes, generated into shipgate_circleci.rego.
package org

import future.keywords

policy_name["shipgate_sg105"]

sg105_deprecated_pipeline_value contains msg if {
	some note in sg_pipeline_value_notes
	note.deprecated
	some s in sg_text_scalars("SG105")
	contains(s, "pipeline.")
	regex.match(note.pattern, s)
	msg := sprintf("pipeline.%s %s", [note.value, note.problem])
}
