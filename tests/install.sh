#!/usr/bin/env bash
# Create (or reuse, when its inputs are unchanged) .venv-airflow<LINE> with bridge and its test needs.
set -euo pipefail
line="${1:?usage: tests/install.sh 2|3}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-airflow$line"
req="$root/requirements/airflow-$line.txt"
stamp="$venv/.bridge-installed"
want="$(cat "$req" "$root/setup.cfg" "$root/pyproject.toml" | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "== installing Airflow line $line into $venv (about a minute or two)"
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip 2>&1 | { grep -v "^WARNING: Location" || true; }
"$venv/bin/pip" install -q -r "$req" -e "${root}[test]" 2>&1 | { grep -v "^WARNING: Location" || true; }
"$venv/bin/python" -c "import airflow, bridge" >/dev/null
echo "$want" > "$stamp"
