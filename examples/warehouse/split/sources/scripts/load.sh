# A Jinja template (BashOperator reads a bash_command ending in .sh or .bash as a template file).
set -euo pipefail
echo "loading {{ params.table }} for {{ ds }} (run {{ run_id }})"
echo "partition {{ params.table }}/{{ ds_nodash }}, fiscal quarter {{ macros.warehouse.fiscal_quarter(ds) }}"
