# SG021 a deploy marker without a deploy name (docs/lint.md#sg021). As lint: every scalar of
# the jobs and commands the config defines is searched for `circleci run release plan|update`
# (circleci.ReleaseMarkerPattern, in shipgate_circleci.rego); one whose first argument is
# absent, a flag or a comment names no deploy, so it is named `default`.
package org

import future.keywords

policy_name["shipgate_sg021"]

sg021_release_plan_name contains msg if {
	some key in ["jobs", "commands"]
	some _, body in sg_obj(sg_text_doc("SG021")[key])
	some s in sg_scalars(body)
	contains(s, "run release")
	some m in regex.find_all_string_submatch_n(sg_ref_patterns.release_marker, s, -1)
	sg021_unnamed(trim_space(m[1]))
	msg := "`circleci run release plan|update` has no deploy name, so every marker in the workflow is named `default`"
}

sg021_unnamed(args) if { args == "" }

sg021_unnamed(args) if { startswith(args, "-") }

sg021_unnamed(args) if { startswith(args, "#") }
