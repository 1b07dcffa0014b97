# SG017 release scheduled with workflow triggers (docs/lint.md#sg017): a deploying workflow with triggers: - schedule: should be a scheduled pipeline.
package org

import future.keywords

policy_name["shipgate_sg017"]

sg017_scheduled_workflow contains msg if {
	some wfn, wf in sg_workflows
	some t in sg_list(sg_get(wf, "triggers"))
	_ = sg_obj(t).schedule
	some key, _ in sg_deploy_entries
	key[0] == concat("", ["w:", wfn])
	msg := sprintf("workflow %s deploys on a schedule set by `triggers: - schedule:`; use a scheduled pipeline", [wfn])
}
