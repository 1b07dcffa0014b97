# SG106 a pipeline value only some pipelines set (docs/lint.md#sg106). The values and their
# messages come from circleci.PipelineValueNotes, generated into shipgate_circleci.rego.
package org

import future.keywords

policy_name["shipgate_sg106"]

sg106_unavailable_pipeline_value contains msg if {
	some note in sg_pipeline_value_notes
	not note.deprecated
	some s in sg_text_scalars("SG106")
	contains(s, "pipeline.")
	regex.match(note.pattern, s)
	msg := sprintf("pipeline.%s %s", [note.value, note.problem])
}
