# SG007 static cloud credentials anywhere in the config (docs/lint.md#sg007). The message names the key or the kind of secret, never its value.
package org

import future.keywords

policy_name["shipgate_sg007"]

sg_static_key_names := {"aws_access_key_id", "aws_secret_access_key", "aws_access_key",
	"aws_secret_key", "gcloud_service_key", "gcp_service_key", "google_service_key",
	"google_credentials", "gcp_credentials_json", "google_application_credentials_json",
	"service_account_key", "gcp_sa_key", "azure_client_secret", "arm_client_secret",
	"azure_sp_password"}

sg_static_value := `["']?(\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|[A-Za-z0-9/+]{16,})`

# A key set from a literal or a stored variable, or a login with a key file; a value computed
# in the job ($(...), e.g. from an OIDC session) is not static.
sg_static_assignment := concat("", [`(?i)\b(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY)=`, sg_static_value,
	`|aws\s+configure\s+set\s+(aws_access_key_id|aws_secret_access_key)\s+`, sg_static_value,
	`|gcloud\s+auth\s+activate-service-account\b[^\n]*--key-file`])

sg_secret_kind(v) := "holds a literal AWS access key ID" if { regex.match(`\b(AKIA|ASIA)[A-Z0-9]{16}\b`, v) }
else := "holds a literal service-account key" if { regex.match(`"type"\s*:\s*"service_account"|"private_key"\s*:`, v) }
else := "sets static cloud credentials in a command" if { regex.match(sg_static_assignment, v) }

# sg_static_hits are [path, what] for every key or value that is a static credential; the
# compiled config the engine adds under _compiled_ is not searched twice.
sg_static_hits contains [path, what] if {
	walk(input, [path, v])
	not sg_compiled_path(path)
	is_object(v)
	some k, _ in v
	is_string(k)
	sg_static_key_names[lower(k)]
	what := sprintf("declares the static credential %s", [k])
}

sg_static_hits contains [path, what] if {
	walk(input, [path, v])
	not sg_compiled_path(path)
	is_string(v)
	what := sg_secret_kind(v)
}

sg_compiled_path(path) if { path[0] == "_compiled_" }

# The job a path lies in: a workflow entry or a job definition (lint: scopesAt).
sg_path_job(path) := sg_entries[[concat("", ["w:", path[1]]), path[3]]].name if {
	path[0] == "workflows"
	path[2] == "jobs"
}

sg_path_job(path) := path[1] if {
	path[0] == "jobs"
	count(path) > 1
}

sg007_static_credentials contains msg if {
	some [path, what] in sg_static_hits
	job := sg_path_job(path)
	not sg_job_disabled(job, "SG007")
	msg := sprintf("job %s %s instead of using OIDC", [job, what])
}

sg007_static_credentials contains msg if {
	some [path, what] in sg_static_hits
	not sg_path_job(path)
	msg := sprintf("the config %s instead of using OIDC", [what])
}
