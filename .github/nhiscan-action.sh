#!/usr/bin/env bash
# The steps of nhiscan's GitHub Action (action.yml), kept in a file so they can be run and tested
# outside GitHub (tests/test_distribution.py, tests/test_action_compare.py).
#
#   nhiscan-action.sh scan   scan, render SARIF and the job summary, compare with the base branch
#   nhiscan-action.sh gate   fail the job as the scan step decided
#
# Everything comes in through the environment, never through the script's text, so no input can
# inject shell code:
#   NHISCAN_PATHS, NHISCAN_INPUTS, NHISCAN_FAIL_ON, NHISCAN_ARGS, NHISCAN_SARIF   as before
#   NHISCAN_BASE_RESULT      a saved nhiscan/v1 result of the base branch to compare with
#   NHISCAN_COMPARE_TO_BASE  "true": scan the base branch too (a git worktree of it) and compare
#   NHISCAN_BASE_REF         the branch or commit to compare with (default: GITHUB_BASE_REF, the
#                            target branch of a pull request)
#   GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, RUNNER_TEMP   GitHub's (any file, for a local run)
#   NHISCAN_EXIT, NHISCAN_COMPARED                    (gate) the scan step's outputs
#
# With a comparison, the gate is the diff's: the job fails on findings that are new or worse than
# on the base branch, at or above fail-on ("new since main", without a baseline file). Without one,
# it fails on every finding at or above fail-on, as a plain scan does. An error (exit 2) of the
# scan outranks both.
set -uo pipefail

out_file="${GITHUB_OUTPUT:-/dev/null}"
summary="${GITHUB_STEP_SUMMARY:-/dev/null}"
tmp="${RUNNER_TEMP:-${TMPDIR:-/tmp}}"
fail_on="${NHISCAN_FAIL_ON:-high}"

note() {  # a line in the log and in the job summary (Markdown syntax in names shown literally)
  echo "nhiscan: $*"
  printf '\n> nhiscan: %s\n' "$(printf '%s' "$*" | sed 's/[][\\`*_|<>#!]/\\&/g')" >> "$summary"
}

# `[SCOPE=]FILE` for a scan run in the base branch's worktree: a relative FILE the base branch has is
# read there (an export committed to the repository); any other (made by an earlier step of the
# job) is the workspace's own, given by its absolute path.
base_input() {
  local value=$1 base=$2 scope="" path=$1
  if [[ ! -e $value && $value == *=* && -n ${value%%=*} && -n ${value#*=} ]]; then
    scope="${value%%=*}="
    path=${value#*=}
  fi
  if [[ $path != /* && ! -e $base/$path ]]; then
    path="$PWD/$path"
  fi
  printf '%s%s' "$scope" "$path"
}

# scan DIR RESULT FAIL_ON [base]: nhiscan scan run in DIR with the action's paths, inputs and args;
# prints nothing, returns nhiscan's exit code.
run_scan() {
  local dir=$1 result=$2 threshold=$3 base=${4:-}
  local -a paths=() extra=() values=() inputs=()
  read -r -a paths <<< "${NHISCAN_PATHS-}"
  read -r -a extra <<< "${NHISCAN_ARGS-}"
  read -r -d '' -a values <<< "${NHISCAN_INPUTS-}"
  local v
  for v in ${values[@]+"${values[@]}"}; do
    if [[ -n $base ]]; then v=$(base_input "$v" "$dir"); fi
    inputs+=(--input "$v")
  done
  rm -f "$result"
  (cd "$dir" && nhiscan scan ${paths[@]+"${paths[@]}"} ${inputs[@]+"${inputs[@]}"} --fail-on "$threshold" \
    --format json --output "$result" ${extra[@]+"${extra[@]}"})
}

# The base branch scanned in a worktree of it: sets base_result and base_label, or notes why not.
scan_base() {
  local ref="${NHISCAN_BASE_REF:-${GITHUB_BASE_REF:-}}"
  if [[ -z $ref ]]; then
    note "compare-to-base: no base branch (not a pull request, and no base-ref given); all findings count"
    return 1
  fi
  local top prefix commit=""
  if ! top=$(git rev-parse --show-toplevel 2>/dev/null); then
    note "compare-to-base: $PWD is not a git checkout; all findings count"
    return 1
  fi
  prefix=$(git rev-parse --show-prefix)
  local candidate
  for candidate in "refs/remotes/origin/$ref" "$ref"; do
    if commit=$(git rev-parse --verify --quiet "$candidate^{commit}"); then break; fi
    commit=""
  done
  if [[ -z $commit ]] && git fetch --quiet --no-tags --depth=1 origin "$ref" >&2; then
    commit=$(git rev-parse --verify --quiet "FETCH_HEAD^{commit}") || commit=""
  fi
  if [[ -z $commit ]]; then
    note "compare-to-base: cannot find or fetch $ref; all findings count"
    return 1
  fi
  # Named like the checkout: a repository without a remote is named by its directory, and
  # fingerprints name the repository (docs/secret-ids.md), so both scans must agree on it.
  base_dir="$(mktemp -d "$tmp/nhiscan-base.XXXXXX")"
  local tree="$base_dir/$(basename "$top")"
  if ! git worktree add --quiet --detach "$tree" "$commit" >&2; then
    note "compare-to-base: cannot check out $ref ($commit); all findings count"
    return 1
  fi
  worktree=$tree
  local result="$tmp/nhiscan-base-result.json" code=0
  echo "nhiscan: scanning the base $ref (${commit:0:12}) for comparison" >&2
  run_scan "$tree/$prefix" "$result" none base >&2 || code=$?
  if [[ ! -s $result || $code -gt 2 ]]; then
    note "compare-to-base: the scan of $ref gave no result (exit code $code); all findings count"
    return 1
  fi
  base_result=$result
  base_label="$ref (${commit:0:12})"
}

cleanup() {
  if [[ -n ${worktree:-} ]]; then git worktree remove --force "$worktree" >/dev/null 2>&1 || true; fi
  if [[ -n ${base_dir:-} ]]; then rm -rf "$base_dir"; fi
}

do_scan() {
  local result="$tmp/nhiscan-result.json" code=0
  run_scan . "$result" "$fail_on" || code=$?
  echo "scan-exit-code=$code" >> "$out_file"
  echo "json-file=$result" >> "$out_file"
  if [[ ! -s $result ]]; then
    echo "exit-code=$code" >> "$out_file"
    echo "compared=false" >> "$out_file"
    note "no result was produced (exit code $code); see the log above"
    return 0
  fi
  nhiscan report "$result" --format sarif --output "${NHISCAN_SARIF:-nhiscan.sarif}"

  # The base to compare with: a result given, or a scan of the base branch.
  base_result="" base_label=""
  if [[ -n ${NHISCAN_BASE_RESULT:-} ]]; then
    if [[ -f $NHISCAN_BASE_RESULT ]]; then
      base_result=$NHISCAN_BASE_RESULT
      base_label=$NHISCAN_BASE_RESULT
    else
      note "base-result: $NHISCAN_BASE_RESULT not found; all findings count"
    fi
  elif [[ ${NHISCAN_COMPARE_TO_BASE:-false} == true ]]; then
    trap cleanup EXIT
    scan_base || base_result=""
  fi
  local base=$base_result

  local gate=$code compared=false
  if [[ -n $base ]]; then
    local diff_json="$tmp/nhiscan-diff.json" diff_code=0
    if [[ $base != /* ]]; then base="$PWD/$base"; fi
    # run in RUNNER_TEMP, so the summary names the two results briefly
    (cd "$tmp" && nhiscan diff "$base" "${result##*/}" --fail-on "$fail_on" --format json \
      --output "$diff_json") || diff_code=$?
    if [[ $diff_code -le 1 ]]; then
      compared=true
      echo "diff-exit-code=$diff_code" >> "$out_file"
      echo "diff-file=$diff_json" >> "$out_file"
      (cd "$tmp" && nhiscan diff "${base#"$tmp"/}" "${result##*/}" --fail-on "$fail_on" --format markdown \
        >> "$summary" 2>/dev/null)
      printf '\n_Compared with the base: %s._\n\n' "${base_label//[\`|<>]/}" >> "$summary"
      if [[ $code -ne 2 ]]; then gate=$diff_code; fi
    else
      note "the comparison with the base failed (exit code $diff_code); all findings count"
    fi
  fi
  echo "compared=$compared" >> "$out_file"
  echo "exit-code=$gate" >> "$out_file"
  nhiscan report "$result" --format markdown >> "$summary"
  return 0
}

do_gate() {
  local what="findings at or above the fail-on threshold"
  if [[ ${NHISCAN_COMPARED:-false} == true ]]; then
    what="new or worse findings since the base, at or above the fail-on threshold"
  fi
  case "${NHISCAN_EXIT:-}" in
    0) echo "nhiscan: no $what" ;;
    1) echo "::error title=nhiscan::$what (see the job summary and code scanning)" ;;
    *) echo "::error title=nhiscan::scan error (exit code ${NHISCAN_EXIT:-unknown}); see the Scan step" ;;
  esac
  exit "${NHISCAN_EXIT:-2}"
}

case "${1:-}" in
  scan) do_scan ;;
  gate) do_gate ;;
  *) echo "usage: nhiscan-action.sh scan|gate" >&2; exit 2 ;;
esac
