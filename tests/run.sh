#!/usr/bin/env bash
# Run bridge's tests on Airflow 2 and 3, each in its own virtualenv, installing what they need.
#   bash tests/run.sh                   both lines
#   BRIDGE_AIRFLOW=3 bash tests/run.sh  one line
#   bash tests/run.sh -k split          extra arguments go to pytest
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
lines="${BRIDGE_AIRFLOW:-2 3}"
status=0
# Static checks, once, from the first line's virtualenv: ruff (pyproject's rules) and mypy
# (pyproject's [tool.mypy]; Airflow is typed as Any, so the line does not matter).
first="${lines%% *}"
"$root/tests/install.sh" "$first"
echo "== ruff and mypy"
"$root/.venv-airflow$first/bin/ruff" check bridge tests bench || status=1
if [ -x "$root/.venv-airflow$first/bin/mypy" ]; then
  "$root/.venv-airflow$first/bin/mypy" || status=1
else
  echo "== mypy not installed (it needs Python 3.10 or later): type check skipped"
fi
for line in $lines; do
  venv="$root/.venv-airflow$line"
  "$root/tests/install.sh" "$line"
  echo "== tests on $("$venv/bin/python" -c 'import airflow; print("Airflow", airflow.__version__)')"
  home="$(mktemp -d)"
  set +e
  PATH="$venv/bin:$PATH" AIRFLOW_HOME="$home" "$venv/bin/python" -m pytest "$@"
  rc=$?
  set -e
  rm -rf "$home"
  if [ "$rc" -eq 5 ]; then
    echo "== no tests ran on Airflow line $line: that is a failure"
    rc=1
  fi
  [ "$rc" -eq 0 ] || status=$rc
done
exit "$status"
