# SG014 target-environment pipeline parameter is not an enum (docs/lint.md#sg014).
package org

import future.keywords

policy_name["shipgate_sg014"]

sg014_environment_param contains msg if {
	some name, p in sg_obj(input.parameters)
	count(sg_words(name) & {"env", "environment", "stage"}) > 0
	typ := sg_str(sg_get(p, "type"))
	not typ in {"enum", "boolean"}
	msg := sprintf("pipeline parameter %s selects an environment but is %s, not an enum", [name, sg_describe_type(typ)])
}

sg_describe_type("") := "untyped"

sg_describe_type(t) := concat("", ["of type ", t]) if { t != "" }
