#!/usr/bin/env bash
# The smoke suite on the Airflow lines of requirements/lines.txt (docs/COMPATIBILITY.md):
#   bash tests/lines.sh            every listed line
#   bash tests/lines.sh 3.2.2      one line
# Each line gets .venv-airflow-<VERSION> (reused while its inputs are unchanged): Airflow as of
# its release, then bridge's own requirements within what that Airflow installed, then bridge
# itself. The smoke suite: `bridge run` of the bundled ETL example, the branch (with its trigger
# rules) and mapped-task parity DAGs against that line's own `airflow dags test`, retries and
# callbacks against the same, and the bridge-task start-up time (printed, never asserted).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
wanted=("$@")
status=0
while read -r version date extra; do
  case "$version" in ''|'#'*) continue ;; esac
  if [ "${#wanted[@]}" -gt 0 ] && [[ ! " ${wanted[*]} " =~ " $version " ]]; then
    continue
  fi
  venv="$root/.venv-airflow-$version"
  stamp="$venv/.bridge-installed"
  want="$(printf '%s %s %s\n' "$version" "$date" "$extra" | cat - "$root/setup.cfg" | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "== installing Airflow $version (as of $date) into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip 2>&1 | { grep -v "^WARNING: Location" || true; }
    # shellcheck disable=SC2086  (extra holds zero or more requirements)
    "$venv/bin/pip" install -q --uploaded-prior-to "$date" "apache-airflow==$version" $extra pytest 2>&1 \
      | { grep -v "^WARNING: Location" || true; }
    "$venv/bin/pip" freeze --exclude-editable > "$venv/frozen.txt"
    "$venv/bin/pip" install -q -c "$venv/frozen.txt" -e "$root" jsonschema 2>&1 | { grep -v "^WARNING: Location" || true; }
    "$venv/bin/python" -c "import airflow, bridge" >/dev/null
    echo "$want" > "$stamp"
  fi
  echo "== smoke suite on $("$venv/bin/python" -c 'import airflow; print("Airflow", airflow.__version__)')"
  home="$(mktemp -d)"
  set +e
  PATH="$venv/bin:$PATH" AIRFLOW_HOME="$home" "$venv/bin/python" -m pytest -q -p no:cacheprovider \
    tests/local/test_etl_end_to_end.py \
    "tests/parity/test_parity.py::test_corpus[parity_branch]" \
    "tests/parity/test_parity.py::test_corpus[parity_mapping]" \
    tests/parity/test_retries.py
  rc=$?
  AIRFLOW_HOME="$home" "$venv/bin/python" bench/task_overhead.py --runs 1 || rc=1
  set -e
  rm -rf "$home"
  if [ "$rc" -eq 5 ]; then
    echo "== no smoke test ran on Airflow $version: that is a failure"
    rc=1
  fi
  [ "$rc" -eq 0 ] || { echo "== smoke suite failed on Airflow $version"; status=1; }
done < "$root/requirements/lines.txt"
exit "$status"
