# SG108 a pipeline parameter referenced but not declared (docs/lint.md#sg108). As
# circleci.UndeclaredPipelineParams: every unescaped `<< >>` reference in the config as
# written, a plain `<< pipeline.parameters.NAME >>` or one inside an expression, whose NAME is
# not a key of the top-level `parameters:`. The patterns come from the circleci package
# (shipgate_circleci.rego), except the one inside an expression (params.go, exprParamRef).
package org

import future.keywords

policy_name["shipgate_sg108"]

sg108_undeclared_pipeline_parameter contains msg if {
	some name in sg108_referenced
	not sg108_declared(name)
	msg := sprintf("pipeline parameter %q is referenced but not declared under parameters: CircleCI refuses to compile the config", [name])
}

sg108_declared(name) if { _ = sg_obj(input.parameters)[name] }

sg108_refs contains ref if {
	some s in sg_text_scalars("SG108")
	contains(s, "pipeline.parameters.")
	some ref in regex.find_all_string_submatch_n(sg_ref_patterns.ref, s, -1)
	not startswith(ref[0], "\\")
}

sg108_referenced contains m[1] if {
	some ref in sg108_refs
	some m in regex.find_all_string_submatch_n(sg_ref_patterns.pipeline_param, ref[0], -1)
}

sg108_referenced contains m[1] if {
	some ref in sg108_refs
	some m in regex.find_all_string_submatch_n(`pipeline\.parameters\.([A-Za-z0-9_-]+)`, ref[1], -1)
}
