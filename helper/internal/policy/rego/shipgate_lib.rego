# shipgate's deployment rules as a CircleCI config policy: the shared model.
#
# Every rule file of the bundle is `package org`, so the helpers below (all prefixed sg_) are
# visible to them. The model mirrors helper/internal/lint (docs/lint.md): which workflow jobs
# are deploy jobs, their environment, their requires chain and branch filters. It reads the
# config as written, which CircleCI passes as `input` (the compiled config is under
# input._compiled_, and is not read: it has lost the orb job names, such as shipgate/deploy,
# that tell a deploy job from a build job). What the compiled config cannot show at all
# (comments, line numbers, anchors, files beside the config) is listed in docs/policies.md.
package org

import future.keywords

policy_name["shipgate_lib"]

# ---- values ----------------------------------------------------------------------------

sg_obj(x) := x if { is_object(x) }
else := {}

# sg_get reads a key of a mapping; null when the key is absent or x is not a mapping, so a
# function given it is still defined.
sg_get(x, k) := object.get(sg_obj(x), k, null)

sg_list(x) := x if { is_array(x) }
else := []

# sg_str is a YAML scalar's text ("" for a mapping, a list or null), like lint's scalarValue.
sg_str(x) := x if { is_string(x) }
else := sprintf("%v", [x]) if { is_number(x) }
else := sprintf("%v", [x]) if { is_boolean(x) }
else := ""

# sg_strings reads a scalar or a list of scalars (lint's stringList).
sg_strings(x) := [s | some v in x; s := sg_str(v); s != ""] if { is_array(x) }
else := [sg_str(x)] if { sg_str(x) != "" }
else := []

# sg_scalars lists every scalar in x, mapping keys included (lint's scalars).
sg_scalars(x) := array.concat([s | walk(x, [_, v]); not is_object(v); not is_array(v); s := sg_str(v)], [k | walk(x, [_, v]); is_object(v); some k, _ in v; is_string(k)])

sg_words(s) := {w | some w in regex.split(`[^a-z0-9]+`, lower(s)); w != ""}

sg_words_list(s) := [w | some w in regex.split(`[^a-z0-9]+`, lower(s)); w != ""]

sg_any_word(s, set) if { count(sg_words(s) & set) > 0 }

sg_deploy_words := {"deploy", "deployment", "release", "promote", "promotion", "rollout"}

sg_strong_deploy_words := {"deploy", "deployment"}

sg_rollback_words := {"rollback", "revert", "undeploy"}

sg_production_words := {"prod", "production", "prd", "live"}

sg_staging_words := {"staging", "stage", "stg"}

sg_other_env_words := {"dev", "development", "qa", "uat", "sandbox", "preview", "demo", "preprod", "canary"}

sg_env_param_keys := {"env", "environment", "target", "target_env", "target_environment",
	"deploy_env", "deploy_environment", "environment_name", "env_name", "stage", "shipgate_env", "to"}

sg_smoke_words := {"smoke", "health", "healthcheck", "healthz", "readiness", "verify"}

# ---- orbs -------------------------------------------------------------------------------

sg_shipgate_orb_names := {"shipgate/shipgate"} | {n | some n in sg_settings.shipgate_orbs}

sg_orb_name(alias) := name if {
	ref := input.orbs[alias]
	is_string(ref)
	name := split(ref, "@")[0]
} else := ""

sg_orb_imported(alias) if {
	is_object(input.orbs)
	_ = input.orbs[alias]
}

sg_shipgate_alias(alias) if {
	sg_orb_imported(alias)
	sg_shipgate_orb_names[sg_orb_name(alias)]
}

sg_known_orbs := {"circleci/aws-cli", "circleci/aws-ecr", "circleci/aws-ecs", "circleci/docker",
	"circleci/gcp-cli", "circleci/gcp-gcr", "circleci/gcp-gke", "circleci/kubernetes", "circleci/helm",
	"circleci/node", "circleci/go", "circleci/python", "circleci/slack", "circleci/aws-eks",
	"circleci/azure-cli", "circleci/terraform"}

# ---- workflow entries ---------------------------------------------------------------------
#
# An entry is identified by [scope, index]: scope is "w:<workflow>" or "g:<job group>".

sg_jobs := sg_obj(input.jobs)

# The model's tables are complete rules (one value each, computed once per decision) rather
# than partial ones: OPA re-evaluates a partial rule for every key looked up in it, which made
# a 200-job workflow cost seconds (BenchmarkDecide in helper/dev/policytest).

sg_workflows := {name: wf | some name, wf in sg_obj(input.workflows); name != "version"}

sg_groups := sg_obj(input["job-groups"])

sg_items := object.union(
	{[concat("", ["w:", wfn]), i]: item | some wfn, wf in sg_workflows; some i, item in sg_list(sg_get(wf, "jobs"))},
	{[concat("", ["g:", gn]), i]: item | some gn, g in sg_groups; some i, item in sg_list(sg_get(g, "jobs"))},
)

sg_entry_of(item) := {"ref": item, "name": item, "body": {}} if { is_string(item) }

sg_entry_of(item) := {"ref": ref, "name": name, "body": body} if {
	is_object(item)
	count(item) > 0
	ref := sort([k | some k, _ in item])[0]
	body := sg_obj(item[ref])
	name := sg_entry_name(body, ref)
}

sg_entry_name(body, ref) := n if {
	n := sg_str(body.name)
	n != ""
} else := ref

sg_entries := {key: sg_entry_of(item) | some key, item in sg_items}

sg_scope_wf(scope) := substring(scope, 2, -1)

sg_is_workflow_scope(scope) if { startswith(scope, "w:") }

# sg_index[scope][name] is the entry a `requires` name refers to (the last of that name).
sg_scopes := {s | some [s, _], _ in sg_entries}

# sg_names[scope] are the entry names of a scope, by index.
sg_names := {scope: [sg_entries[[scope, i]].name | some i in numbers.range(0, sg_scope_size(scope) - 1)] | some scope in sg_scopes}

sg_scope_size(scope) := count({i | some [s, i], _ in sg_entries; s == scope})

# sg_index[scope][name] is the entry a `requires` name refers to (the last of that name, as in
# lint, where a later entry replaces an earlier one in the name map).
sg_index := {scope: {name: i | some i, name in names; not name in array.slice(names, i + 1, count(names))} |
	some scope, names in sg_names
}

sg_requires(body) := {r | some x in sg_list(body.requires); is_string(x); r := x} | {r | some x in sg_list(body.requires); is_object(x); some r, _ in x} | {r | r := body.requires; is_string(r); r != ""}

# sg_graph[scope] maps an entry (its index as a string, for graph.reachable) to those it
# requires; sg_reverse to those that require it.
sg_graph := {scope: {sprintf("%d", [i]): {sprintf("%d", [j]) | some r in sg_requires(sg_entries[[scope, i]].body); j := sg_index[scope][r]} | some i, _ in names} |
	some scope, names in sg_names
}

# Dependents go by name, as in lint: every entry that requires a name depends on each entry of
# that name (a workflow may run two jobs under one name), while `requires` resolves a name to
# its last entry.
sg_reqs := {scope: [sg_requires(sg_entries[[scope, i]].body) | some i, _ in names] | some scope, names in sg_names}

sg_reverse := {scope: {sprintf("%d", [i]): {sprintf("%d", [j]) | some j, reqs in sg_reqs[scope]; name in reqs} | some i, name in names} |
	some scope, names in sg_names
}

# sg_anc and sg_desc are computed once per entry: a workflow of hundreds of jobs must not
# cost a cube of that (lint memoises the same walks).
sg_anc := {key: {[key[0], to_number(j)] | some j in graph.reachable(sg_graph[key[0]], {sprintf("%d", [key[1]])}); to_number(j) != key[1]} | some key, _ in sg_entries}

sg_desc := {key: {[key[0], to_number(j)] | some j in graph.reachable(sg_reverse[key[0]], {sprintf("%d", [key[1]])}); to_number(j) != key[1]} | some key, _ in sg_entries}

# sg_ancestors are the entries key requires, directly or through others, in its workflow.
sg_ancestors(key) := sg_anc[key]

# sg_descendants are the entries that require key, directly or through others.
sg_descendants(key) := sg_desc[key]

sg_approval(key) if { sg_str(sg_entries[key].body.type) == "approval" }

sg_contexts(key) := sg_strings(sg_get(sg_entries[key].body, "context"))

sg_has_def(key) if { _ = sg_jobs[sg_entries[key].ref] }

sg_def(key) := sg_obj(sg_jobs[sg_entries[key].ref])

sg_group_of(key) := sg_entries[key].ref if {
	not sg_has_def(key)
	_ = sg_groups[sg_entries[key].ref]
}

# sg_group_members[scope] are the entries of a job group's scope ("g:<name>"), computed once.
sg_group_members := {scope: {[scope, i] | some i, _ in names} | some scope, names in sg_names; startswith(scope, "g:")}

sg_members(key) := object.get(sg_group_members, concat("", ["g:", sg_group_of(key)]), set()) if {
	sg_group_of(key)
} else := set()

sg_orb_alias(key) := alias if {
	not sg_has_def(key)
	contains(sg_entries[key].ref, "/")
	alias := split(sg_entries[key].ref, "/")[0]
}

sg_orb_job(key) := substring(ref, count(alias) + 1, -1) if {
	alias := sg_orb_alias(key)
	ref := sg_entries[key].ref
}

sg_shipgate_job(key, names) if {
	sg_shipgate_alias(sg_orb_alias(key))
	names[sg_orb_job(key)]
}

sg_steps(key) := sg_list(sg_get(sg_def(key), "steps")) if { sg_has_def(key) }
else := []

sg_step_name(step) := step if { is_string(step) }
else := sort([k | some k, _ in step])[0] if {
	is_object(step)
	count(step) > 0
} else := ""

sg_step_body(step) := step[sg_step_name(step)] if { is_object(step) }
else := null

sg_uses_shipgate_command(key, commands) if {
	some step in sg_steps(key)
	name := sg_step_name(step)
	contains(name, "/")
	alias := split(name, "/")[0]
	sg_shipgate_alias(alias)
	commands[substring(name, count(alias) + 1, -1)]
}

# ---- environments ---------------------------------------------------------------------------

sg_env_of_text(s) := "production" if {
	count(sg_words(regex.replace(s, `(?i)pre[-_ ]?prod(uction)?`, "preprod")) & sg_production_words) > 0
} else := "staging" if {
	count(sg_words(regex.replace(s, `(?i)pre[-_ ]?prod(uction)?`, "preprod")) & sg_staging_words) > 0
} else := w if {
	others := [x | some x in sg_words_list(regex.replace(s, `(?i)pre[-_ ]?prod(uction)?`, "preprod")); sg_other_env_words[x]]
	count(others) > 0
	w := others[0]
} else := ""

# sg_best_env is production when any value is, else the first that names an environment.
sg_best_env(envs) := "production" if { "production" in envs }
else := named[0] if {
	named := [e | some e in envs; e != ""]
	count(named) > 0
} else := ""

# sg_env_of_value classifies a parameter value; a pipeline parameter reference counts as
# production when production is one of its values (the linter assumes the worst).
sg_env_of_value(v) := env if {
	m := regex.find_all_string_submatch_n(`<<\s*pipeline\.parameters\.([A-Za-z0-9_-]+)\s*>>`, v, 1)
	count(m) > 0
	env := sg_param_env(m[0][1])
} else := "" if {
	regex.match(`<<\s*pipeline\.parameters\.([A-Za-z0-9_-]+)\s*>>`, v)
} else := env if {
	env := sg_env_of_text(v)
	env != ""
} else := v if {
	regex.match(`^[a-z][a-z0-9-]{0,30}$`, v)
} else := ""

sg_param_env(name) := sg_best_env(array.concat([sg_env_of_text(sg_str(sg_get(p, "default")))], [sg_env_of_text(o) | some o in sg_strings(sg_get(p, "enum"))])) if {
	p := sg_obj(sg_obj(input.parameters)[name])
	_ = sg_obj(input.parameters)[name]
} else := ""

# sg_infer_env returns [environment, where it was read from], in lint's order.
sg_infer_env(key) := [env, why] if {
	found := [[x, k] | some k, v in sg_entries[key].body; sg_env_param_keys[lower(k)]; x := sg_env_of_value(sg_str(v)); x != ""]
	count(found) > 0
	env := found[0][0]
	why := concat("", ["parameter ", found[0][1]])
} else := [env, "matrix parameters"] if {
	cells := [sg_env_of_value(c) | some k, v in sg_obj(sg_obj(sg_entries[key].body.matrix).parameters); sg_env_param_keys[lower(k)]; some c in sg_strings(v)]
	env := sg_best_env(cells)
	env != ""
} else := [env, "job name"] if {
	e := sg_entries[key]
	env := sg_env_of_text(concat(" ", [e.name, e.ref]))
	env != ""
} else := [env, concat("", ["context ", c])] if {
	found := [[x, c2] | some c2 in sg_contexts(key); x := sg_env_of_text(c2); x != ""]
	count(found) > 0
	env := found[0][0]
	c := found[0][1]
} else := sg_env_of_commands(key) if {
	sg_env_of_commands(key)
} else := [env, concat("", ["job parameter ", k])] if {
	found := [[x, k2] | some k2, p in sg_obj(sg_def(key).parameters); sg_env_param_keys[lower(k2)]; x := sg_env_of_value(sg_str(sg_obj(p)["default"])); x != ""]
	count(found) > 0
	env := found[0][0]
	k := found[0][1]
} else := [env, concat("", ["variable ", k])] if {
	found := [[x, k2] | some k2, v in sg_obj(sg_def(key).environment); sg_env_param_keys[lower(k2)]; x := sg_env_of_value(sg_str(v)); x != ""]
	count(found) > 0
	env := found[0][0]
	k := found[0][1]
} else := ["", ""]

# ---- deploy jobs ------------------------------------------------------------------------------

sg_not_deploy(key) if { sg_entries[key].name in sg_settings.not_deploy_jobs }

sg_explicit(key) := env if { env := sg_settings.deploy_jobs[sg_entries[key].name] }
else := env if { env := sg_settings.deploy_jobs[sg_entries[key].ref] }

sg_is_plain_deploy(key) if { _ = sg_explicit(key) }

sg_is_plain_deploy(key) if {
	not sg_explicit(key)
	sg_shipgate_job(key, {"deploy_release", "deploy", "promote"})
}

sg_is_plain_deploy(key) if {
	not sg_explicit(key)
	not sg_shipgate_job(key, {"deploy_release", "deploy", "promote", "rollback", "smoke_test"})
	sg_uses_shipgate_command(key, {"deploy_release", "deploy", "promote"})
}

# By what its steps do (lint: deploysignals.go), then by its name, unless its steps show it
# publishes documentation or only uploads files.
sg_is_plain_deploy(key) if {
	not sg_explicit(key)
	not sg_shipgate_job(key, {"deploy_release", "deploy", "promote", "rollback", "smoke_test"})
	not sg_uses_shipgate_command(key, {"deploy_release", "deploy", "promote"})
	e := sg_entries[key]
	not sg_any_word(concat(" ", [e.name, e.ref]), sg_rollback_words)
	sg_deploy_signal(key)
}

sg_is_plain_deploy(key) if {
	not sg_explicit(key)
	not sg_shipgate_job(key, {"deploy_release", "deploy", "promote", "rollback", "smoke_test"})
	not sg_uses_shipgate_command(key, {"deploy_release", "deploy", "promote"})
	e := sg_entries[key]
	text := concat(" ", [e.name, e.ref])
	not sg_any_word(text, sg_rollback_words)
	sg_name_says_deploy(text, sg_infer_env(key)[0])
	not sg_named_but_not_deploy(key)
}

sg_name_says_deploy(text, _) if { sg_any_word(text, sg_strong_deploy_words) }

sg_name_says_deploy(text, env) if {
	sg_any_word(text, sg_deploy_words)
	env != ""
}

# sg_plain_deploys are deploy entries that run a job (not a job group): [env, why].
sg_plain_deploys := {key: sg_plain_env(key) |
	some key, _ in sg_entries
	not sg_approval(key)
	not sg_not_deploy(key)
	not sg_group_of(key)
	sg_is_plain_deploy(key)
}

sg_plain_env(key) := [sg_env_of_value(x), "lint settings"] if {
	x := sg_explicit(key)
	x != ""
} else := sg_infer_env(key)

# A workflow entry that runs a job group is a deploy when one of its members is; production
# when any member deploys production; the members' contexts count as its own.
sg_group_deploys := {key: sg_pick(prods, named) |
	some key, _ in sg_entries
	not sg_approval(key)
	not sg_not_deploy(key)
	sg_group_of(key)
	ms := [[m, sg_plain_deploys[m]] | some m in sort(sg_members(key)); sg_plain_deploys[m]]
	count(ms) > 0
	prods := [m | some m in ms; m[1][0] == "production"]
	named := [m | some m in ms; m[1][0] != ""]
}

# As in lint: the last member that deploys production names it, else the first that names an
# environment.
sg_pick(prods, named) := ["production", concat("", ["job group member ", sg_entries[prods[count(prods) - 1][0]].name])] if {
	count(prods) > 0
} else := [named[0][1][0], concat("", ["job group member ", sg_entries[named[0][0]].name])] if {
	count(named) > 0
} else := ["", ""]

sg_deploys := object.union(sg_plain_deploys, sg_group_deploys)

# sg_deploy_entries are the deploy jobs the rules judge: those of workflows.
sg_deploy_entries := {key: d | some key, d in sg_deploys; sg_is_workflow_scope(key[0])}

sg_env(key) := sg_deploys[key][0]

# sg_all_contexts are an entry's contexts and, for a job group, its deploying members'.
sg_all_contexts(key) := array.concat(sg_contexts(key), [c | some m in sort(sg_members(key)); sg_plain_deploys[m]; some c in sg_contexts(m); not c in sg_contexts(key)])

# sg_env_note says where a deploy job's environment was read from, as lint's messages do.
sg_env_note(key) := "" if {
	why := sg_deploys[key][1]
	sg_plain_note(why)
} else := sprintf(" (%s by its %s)", [sg_deploys[key][0], sg_deploys[key][1]])

sg_plain_note("")

sg_plain_note("lint settings")

sg_plain_note(why) if { startswith(why, "parameter ") }

# ---- exceptions -----------------------------------------------------------------------------

# sg_job_disabled: the settings file turns rule off for a job (`jobs: {NAME: {disable: [...]}}`).
sg_job_disabled(job, rule) if {
	some id in sg_settings.job_disable[job]
	upper(id) in {rule, "ALL"}
}

sg_entry_disabled(key, rule) if { sg_job_disabled(sg_entries[key].name, rule) }

sg_entry_disabled(key, rule) if {
	sg_has_def(key)
	sg_job_disabled(sg_entries[key].ref, rule)
}

sg_entry_disabled(key, rule) if {
	sg_group_of(key)
	sg_job_disabled(sg_entries[key].ref, rule)
}

# sg_exempt: the settings file exempts this project (data.meta.project_id) from a rule.
sg_exempt(rule) if { data.meta.project_id in sg_settings.exceptions[rule] }

# sg_source is the config as written: the compiled config is left out (CircleCI has
# substituted the pipeline values there). sg_source_scalars are its scalars, mapping keys
# included, as lint's walk over the whole document sees them.
sg_source := object.remove(input, ["_compiled_"])

sg_source_scalars := sg_scalars(sg_source)

# The text rules (SG021, SG105, SG106, SG108, SG109) search the config's text. lint drops such a
# finding when it lies inside the job definition or workflow entry of a job the settings
# disable the rule for (jobs: {NAME: {disable: [...]}}, lint's scopesAt); sg_text_cut lists
# those parts per rule (json.remove takes an array index as a string).
sg_text_rules := ["SG021", "SG105", "SG106", "SG108", "SG109"]

sg_text_cut := {rule: paths |
	some rule in sg_text_rules
	paths := array.concat(
		[["jobs", j] | some j, _ in sg_obj(input.jobs); sg_job_disabled(j, rule)],
		[["workflows", sg_scope_wf(key[0]), "jobs", sprintf("%d", [key[1]])] | some key, e in sg_entries; sg_is_workflow_scope(key[0]); sg_job_disabled(e.name, rule)],
	)
	count(paths) > 0
}

# Complete rules, computed once per decision; without a per-job exception (the usual case)
# every text rule reads sg_source itself.
sg_text_docs := {rule: json.remove(sg_source, paths) | some rule, paths in sg_text_cut}

sg_text_scalar_sets := {rule: sg_scalars(doc) | some rule, doc in sg_text_docs}

# sg_text_doc(rule) is the config as written without the parts the settings exempt from rule.
sg_text_doc(rule) := sg_text_docs[rule] if { sg_text_cut[rule] }
else := sg_source

# sg_text_scalars(rule) are the scalars of sg_text_doc(rule), mapping keys included.
sg_text_scalars(rule) := sg_text_scalar_sets[rule] if { sg_text_cut[rule] }
else := sg_source_scalars
