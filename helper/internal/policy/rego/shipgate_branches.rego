# shipgate's deployment rules as a CircleCI config policy: which branches a job runs on.
#
# CircleCI runs a job only when its own filters, the filters of every job it requires and its
# workflow's when/unless (and scheduled triggers' filters) all let the branch through; a deploy
# job is limited by the gates along its whole requires chain (lint: branches.go).
package org

import future.keywords

policy_name["shipgate_branches"]

# Branches no deploy should run on: a gate that lets any of them through does not limit a job.
sg_probe_branches := ["feature/shipgate-lint-probe", "shipgate-lint-probe", "fix/shipgate-lint-probe",
	"hotfix/shipgate-lint-probe", "release/shipgate-lint-probe", "dependabot/shipgate-lint-probe",
	"renovate/shipgate-lint-probe"]

sg_release_branch := b if {
	b := sg_settings.release_branch
	b != ""
} else := "main"

sg_staging_branch := b if {
	b := sg_settings.staging_branch
	b != ""
} else := "develop"

# A filter value is an exact name or a /regex/ that must match the whole name.
sg_pattern_match(p, b) if {
	startswith(p, "/")
	endswith(p, "/")
	count(p) >= 2
	inner := substring(p, 1, count(p) - 2)
	re := concat("", ["^(?:", inner, ")$"])
	regex.is_valid(re)
	regex.match(re, b)
}

sg_pattern_match(p, b) if {
	not sg_is_regex(p)
	p == b
}

sg_is_regex(p) if {
	startswith(p, "/")
	endswith(p, "/")
	count(p) >= 2
	regex.is_valid(concat("", ["^(?:", substring(p, 1, count(p) - 2), ")$"]))
}

sg_match_any(ps, b) if {
	some p in ps
	sg_pattern_match(p, b)
}

sg_branch_filter_allows(branches, b) if {
	only := sg_strings(sg_get(branches, "only"))
	ignore := sg_strings(sg_get(branches, "ignore"))
	sg_only_ok(only, b)
	not sg_match_any(ignore, b)
}

sg_only_ok(only, _) if { count(only) == 0 }

sg_only_ok(only, b) if { sg_match_any(only, b) }

# An entry has a gate of its own when it has filters (an empty expression is none).
sg_has_filters(key) if {
	f := sg_entries[key].body.filters
	f != null
	f != ""
}

sg_expression_branches(expr) := {m[1] | some m in regex.find_all_string_submatch_n(`pipeline\.git\.branch\s*==\s*["']([^"']*)["']`, expr, -1)}

# The expression form (`filters: pipeline.git.branch == "main"`) allows the branches it
# compares with; an expression the model cannot read is assumed to limit the job.
sg_entry_allows(key, _) if {
	not sg_has_filters(key)
}

sg_entry_allows(key, b) if {
	f := sg_str(sg_entries[key].body.filters)
	f != ""
	r := sg_expr(f, b)
	r[1]
	r[0]
}

# A scalar (a number or boolean too) is read as an expression, as lint does.
sg_scalar(x) if is_string(x)

sg_scalar(x) if is_number(x)

sg_scalar(x) if is_boolean(x)

sg_entry_allows(key, _) if {
	f := sg_entries[key].body.filters
	f != null
	not sg_scalar(f)
	not sg_obj(f).branches
}

sg_entry_allows(key, b) if {
	f := sg_entries[key].body.filters
	not sg_scalar(f)
	branches := sg_obj(f).branches
	sg_branch_filter_allows(branches, b)
}

# ---- workflow conditions (CircleCI logic statements over << pipeline.git.branch >>) ----------
#
# Rego has no recursion, so nesting is unrolled four levels deep (lint: 32); deeper
# conditions count as unknown, which never narrows the branches a job runs on.

sg_is_branch_value(v) if { regex.match(`^<<\s*pipeline\.git\.branch\s*>>$`, trim_space(v)) }

# sg_leaf returns [result, known] for equal/matches; [false, false] for anything else.
sg_leaf(n, b) := [vals[1] == b, true] if {
	vals := sg_strings(n.equal)
	count(vals) == 2
	sg_is_branch_value(vals[0])
} else := [vals[0] == b, true] if {
	vals := sg_strings(n.equal)
	count(vals) == 2
	sg_is_branch_value(vals[1])
} else := [regex.match(re, b), true] if {
	sg_is_branch_value(sg_str(n.matches.value))
	re := concat("", ["^(?:", sg_str(n.matches.pattern), ")$"])
	regex.is_valid(re)
} else := [false, false]

sg_single(n) if {
	is_object(n)
	count(n) == 1
}

sg_and(rs) := [false, true] if {
	some r in rs
	r[1]
	not r[0]
} else := [true, count([r | some r in rs; not r[1]]) == 0]

sg_or(rs) := [true, true] if {
	some r in rs
	r[1]
	r[0]
} else := [false, count([r | some r in rs; not r[1]]) == 0]

sg_c0(n, b) := sg_leaf(n, b) if { sg_single(n) }
else := [false, false]

sg_c1(n, b) := [not_r0, r[1]] if {
	sg_single(n)
	r := sg_c0(n["not"], b)
	not_r0 := r[0] == false
} else := sg_and([sg_c0(x, b) | some x in sg_list(n["and"])]) if {
	sg_single(n)
	_ = n["and"]
} else := sg_or([sg_c0(x, b) | some x in sg_list(n["or"])]) if {
	sg_single(n)
	_ = n["or"]
} else := sg_c0(n, b)

sg_c2(n, b) := [not_r0, r[1]] if {
	sg_single(n)
	r := sg_c1(n["not"], b)
	not_r0 := r[0] == false
} else := sg_and([sg_c1(x, b) | some x in sg_list(n["and"])]) if {
	sg_single(n)
	_ = n["and"]
} else := sg_or([sg_c1(x, b) | some x in sg_list(n["or"])]) if {
	sg_single(n)
	_ = n["or"]
} else := sg_c0(n, b)

sg_c3(n, b) := [not_r0, r[1]] if {
	sg_single(n)
	r := sg_c2(n["not"], b)
	not_r0 := r[0] == false
} else := sg_and([sg_c2(x, b) | some x in sg_list(n["and"])]) if {
	sg_single(n)
	_ = n["and"]
} else := sg_or([sg_c2(x, b) | some x in sg_list(n["or"])]) if {
	sg_single(n)
	_ = n["or"]
} else := sg_c0(n, b)

# A literal condition (CircleCI reads YAML 1.1: `when: off` is false) is decided as it stands; a
# string that is one << pipeline.git.branch >> reference is the branch (true unless empty); other
# text is an expression.
sg_condition(n, b) := [n, true] if { is_boolean(n) }
else := [n != 0, true] if { is_number(n) }
else := [b != "", true] if {
	is_string(n)
	sg_is_branch_value(n)
} else := [false, false] if {
	is_string(n)
	regex.match(`^\s*<<[^<>]*>>\s*$`, n)
} else := sg_expr(n, b) if { is_string(n) }
else := sg_c3(n, b)

sg_wf_body(scope) := sg_obj(sg_workflows[sg_scope_wf(scope)]) if { sg_is_workflow_scope(scope) }
else := {}

sg_wf_schedules(scope) := [sg_get(sg_get(sg_get(t, "schedule"), "filters"), "branches") | some t in sg_list(sg_get(sg_wf_body(scope), "triggers"))]

sg_wf_has_gate(scope) if { _ = sg_wf_body(scope).when }

sg_wf_has_gate(scope) if { _ = sg_wf_body(scope).unless }

sg_wf_has_gate(scope) if { count(sg_wf_schedules(scope)) > 0 }

sg_wf_allows(scope, b) if {
	sg_schedules_allow(scope, b)
	not sg_when_forbids(scope, b)
	not sg_unless_forbids(scope, b)
}

sg_schedules_allow(scope, _) if { count(sg_wf_schedules(scope)) == 0 }

sg_schedules_allow(scope, b) if {
	some br in sg_wf_schedules(scope)
	sg_branch_filter_allows(br, b)
}

sg_when_forbids(scope, b) if {
	r := sg_condition(sg_wf_body(scope).when, b)
	r[1]
	not r[0]
}

sg_unless_forbids(scope, b) if {
	r := sg_condition(sg_wf_body(scope).unless, b)
	r[1]
	r[0]
}

# ---- a deploy job's gates --------------------------------------------------------------------

sg_chain(key) := {key} | sg_ancestors(key)

sg_has_gates(key) if { sg_wf_has_gate(key[0]) }

sg_has_gates(key) if {
	some k in sg_chain(key)
	sg_has_filters(k)
}

sg_runs_on(key, b) if {
	sg_wf_allows(key[0], b)
	every k in sg_chain(key) {
		sg_entry_allows(k, b)
	}
}

# sg_named_branches are the branch names the chain and workflow mention, probed as well:
# `only: trunk` on a production deploy is not "limited to main".
sg_named_branches(key) := (({b | some k in sg_chain(key); f := sg_entries[k].body.filters; sg_scalar(f); some b in sg_expression_branches(sg_str(f))} | {p | some k in sg_chain(key); f := sg_entries[k].body.filters; not sg_scalar(f); some p in sg_strings(sg_obj(sg_obj(f).branches).only); not sg_is_regex(p)}) | {s | some c in ["when", "unless"]; cond := sg_wf_body(key[0])[c]; some s in sg_scalars(cond); not contains(s, "<<")})

# sg_limited_to: no branch outside want runs the job among the probes and others.
sg_limited_to(key, want, others) if {
	every b in {x | some x in sg_probe_branches} | others {
		sg_blocked_or_wanted(key, want, b)
	}
}

sg_blocked_or_wanted(_, want, b) if { b in want }

sg_blocked_or_wanted(key, _, b) if { not sg_runs_on(key, b) }

sg_promotes_to_production(key) if {
	some d in sg_descendants(key)
	sg_env(d) == "production"
}

# ---- expressions (`filters: pipeline.git.branch == "main"`, `when: <text>`) ------------------
#
# A subset of CircleCI's expression language, evaluated for a probed branch: comparisons (== and
# !=) between pipeline.git.branch and literals, literals alone, `not`, `and`, `or`. Anything
# else (parentheses, other operators, other pipeline values) is unknown, as in lint when a value
# is not known: a filter then limits the job, a workflow condition does not narrow it. lint
# evaluates the full language (circleci.EvalExpression).

sg_expr(text, b) := [any_true, true] if {
	ors := [sg_and_terms(part, b) | some part in regex.split(`\s+or\s+`, trim_space(text))]
	every r in ors {
		r[1]
	}
	any_true := count([r | some r in ors; r[0]]) > 0
} else := [false, false]

sg_and_terms(part, b) := [all_true, true] if {
	terms := [sg_term(t, b) | some t in regex.split(`\s+and\s+`, trim_space(part))]
	every r in terms {
		r[1]
	}
	all_true := count([r | some r in terms; not r[0]]) == 0
} else := [false, false]

sg_term(t, b) := [not_v, r[1]] if {
	m := regex.find_all_string_submatch_n(`^not\s+(.+)$`, trim_space(t), 1)
	count(m) == 1
	r := sg_term2(m[0][1], b)
	not_v := r[0] == false
} else := sg_term2(t, b)

sg_term2(t, b) := [result, true] if {
	m := regex.find_all_string_submatch_n(`^(\S+)\s*(==|!=)\s*(\S+)$`, trim_space(t), 1)
	count(m) == 1
	l := sg_operand(m[0][1], b)
	r := sg_operand(m[0][3], b)
	l[1]
	r[1]
	result := sg_compare(m[0][2], l[0], r[0])
} else := [sg_truthy(v[0]), true] if {
	not regex.match(`==|!=`, t)
	v := sg_operand(trim_space(t), b)
	v[1]
} else := [false, false]

sg_compare("==", a, b) := a == b

sg_compare("!=", a, b) := a != b

# sg_operand returns [value, known].
sg_operand(x, b) := [b, true] if { x == "pipeline.git.branch" }
else := [substring(x, 1, count(x) - 2), true] if { regex.match(`^"[^"]*"$|^'[^']*'$`, x) }
else := [true, true] if { x == "true" }
else := [false, true] if { x == "false" }
else := [null, true] if { x == "null" }
else := [to_number(x), true] if { regex.match(`^-?[0-9]+(\.[0-9]+)?$`, x) }
else := [null, false]

sg_truthy(v) if { is_boolean(v); v == true }

sg_truthy(v) if { is_number(v); v != 0 }

sg_truthy(v) if { is_string(v); v != "" }
