"""Custom operators of the warehouse project, imported by DAGs as `from warehouse_operators import ...`.

Airflow puts the plugins folder on `sys.path`, so a module here is importable from every DAG file.
"""

from __future__ import annotations

try:  # Airflow 3
    from airflow.providers.standard.operators.branch import BaseBranchOperator
except ImportError:  # Airflow 2
    from airflow.operators.branch import BaseBranchOperator  # type: ignore[no-redef]


class VolumeBranchOperator(BaseBranchOperator):
    """Follow `above` when the rows an upstream SQL task returned add up to `threshold` or more, else `below`.

    `rows_task_id` names the upstream task whose XCom holds the rows (a list of sequences);
    `column` is the index of the number to add up in each row. `threshold` is templated, so it can
    come from the DAG's params.
    """

    template_fields = ("threshold",)

    def __init__(self, *, rows_task_id: str, column: int, threshold: int | str, above: str, below: str,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows_task_id = rows_task_id
        self.column = column
        self.threshold = threshold
        self.above = above
        self.below = below

    def choose_branch(self, context) -> str:
        rows = context["ti"].xcom_pull(task_ids=self.rows_task_id) or []
        total = sum(int(row[self.column]) for row in rows)
        chosen = self.above if total >= int(self.threshold) else self.below
        print(f"{self.rows_task_id}: total {total}, threshold {self.threshold} -> {chosen}")
        return chosen
