# SG009 deploy of a mutable tag (docs/lint.md#sg009). The executor's own image is not what a job deploys and is not searched.
package org

import future.keywords

policy_name["shipgate_sg009"]

sg_mutable_tag := `[A-Za-z0-9][A-Za-z0-9._/-]*:(latest|stable|edge|nightly)\b([^@A-Za-z0-9._-]|$)`

sg_mutable_skip := {"name", "requires", "context", "filters", "type", "serial-group", "matrix"}

sg_deploy_searched(key) := array.concat(
	array.concat([v | some k, v in sg_entries[key].body; not sg_mutable_skip[k]], [sg_def(key).steps | sg_has_def(key)]),
	array.concat([v | some m in sg_members(key); some _, v in sg_entries[m].body], [sg_def(m).steps | some m in sg_members(key); sg_has_def(m)]),
)

sg009_mutable_tag contains msg if {
	some key, _ in sg_deploy_entries
	tags := sort({m[1] | some n in sg_deploy_searched(key); some s in sg_scalars(n); some m in regex.find_all_string_submatch_n(sg_mutable_tag, s, -1)})
	count(tags) > 0
	not sg_entry_disabled(key, "SG009")
	msg := sprintf("deploy job %s deploys the mutable tag :%s", [sg_entries[key].name, tags[0]])
}
