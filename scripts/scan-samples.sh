#!/usr/bin/env bash
# The main job on the bundled samples, locally, with embedded defaults and no AWS account:
# builds `portcullis`, makes the sample artifacts (samples/make-samples.sh), builds the OSV
# vulnerability index from ../shared/data/osv when it is not cached, and scans every sample with the full
# tool chain (vulnerabilities, licences, malware, secrets), printing each report and a summary.
#   scripts/scan-samples.sh [--events]     # --events: print SecurityEvents (JSON lines) instead of reports
source "$(dirname "$0")/lib.sh"
root=$(repo_root)
cd "$root"

ensure_apt cmake libcurl4-openssl-dev build-essential
# The dev profile (dependencies at opt-level 1) shares its build with the test suite; set PROFILE=release
# for full speed on large artifacts.
profile=${PROFILE:-dev}
log "building portcullis ($profile)"
cargo build --profile "$profile" --locked --bin portcullis >&2
dir=$profile; [[ $profile == dev ]] && dir=debug
bin="$CARGO_TARGET_DIR/$dir/portcullis"

samples=$(samples/make-samples.sh)
db=$(ensure_osv_db "$bin")

declare -A verdicts
for f in "$samples"/*; do
  log "scan $(basename "$f")"
  set +e
  "$bin" scan --db "$db" "$@" "$f"
  rc=$?
  set -e
  case $rc in
    0) verdicts[$f]="CLEAN/ALLOWED" ;;
    1) verdicts[$f]="QUARANTINED" ;;
    2) verdicts[$f]="UNSCANNABLE/ERROR" ;;
    *) echo "portcullis failed on $f (exit $rc)" >&2; exit 1 ;;
  esac
done
printf '\n%-40s %s\n' SAMPLE VERDICT
for f in "$samples"/*; do printf '%-40s %s\n' "$(basename "$f")" "${verdicts[$f]}"; done
