# SG109 a pipeline value with a closed set of values compared with one it never takes
# (docs/lint.md#sg109). As lint's checkImpossibleValues: in an `equal:` statement of the config
# as written, an operand that is exactly `<< pipeline.X >>` beside a string operand X never
# takes; in any scalar, a `pipeline.X == "v"` (or `!=`, or the reverse) expression. The values
# (sg_pipeline_value_domains) and the expression pattern come from the circleci package.
package org

import future.keywords

policy_name["shipgate_sg109"]

sg109_impossible_pipeline_value contains msg if {
	some [value, literal] in sg109_comparisons
	allowed := sg_pipeline_value_domains[value]
	not literal in allowed
	msg := sprintf("pipeline.%s is never %q: CircleCI sets %s", [value, literal, concat(", ", allowed)])
}

# From equal: statements: [value, literal] pairs.
sg109_comparisons contains [value, literal] if {
	walk(sg_text_doc("SG109"), [_, node])
	is_object(node)
	operands := node.equal
	is_array(operands)
	some ref in operands
	is_string(ref)
	m := regex.find_all_string_submatch_n(`^\s*<<\s*pipeline\.([^ <>]+?)\s*>>\s*$`, ref, 1)
	count(m) == 1
	value := m[0][1]
	some literal in operands
	is_string(literal)
	not contains(literal, "<<")
}

# From expressions, in either order.
sg109_comparisons contains [value, literal] if {
	some s in sg_text_scalars("SG109")
	contains(s, "pipeline.")
	some m in regex.find_all_string_submatch_n(sg_ref_patterns.value_comparison, s, -1)
	m[1] != ""
	value := m[1]
	literal := m[3]
}

sg109_comparisons contains [value, literal] if {
	some s in sg_text_scalars("SG109")
	contains(s, "pipeline.")
	some m in regex.find_all_string_submatch_n(sg_ref_patterns.value_comparison, s, -1)
	m[1] == ""
	value := m[5]
	literal := m[4]
}
