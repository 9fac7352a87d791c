#!/usr/bin/env bash
# Static checks of template.yaml: cfn-lint (every rule, errors and warnings) and `sam validate --lint`
# (SAM transform + cfn-lint), offline. Installs SAM CLI (pinned, with cfn-lint) in its own venv if missing.
#   scripts/validate-template.sh [TEMPLATE]     default: template.yaml
source "$(dirname "$0")/lib.sh"
root=$(repo_root)
template=$(realpath "${1:-$root/template.yaml}")
cd "$root"
ensure_sam
export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
log "cfn-lint $("$SAM_VENV/bin/cfn-lint" --version 2>&1 | tail -n 1)"
"$SAM_VENV/bin/cfn-lint" "$template"
log "sam validate --lint"
"$SAM" validate --lint --template "$template"
