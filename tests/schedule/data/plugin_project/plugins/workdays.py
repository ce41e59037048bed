"""A custom timetable from a project's plugins folder (tests/schedule/test_plugin_timetables.py):
one run per weekday, its data interval the day (UTC), due `delay_minutes` after the day ends."""

from datetime import timedelta

from airflow.plugins_manager import AirflowPlugin
from airflow.timetables.base import DagRunInfo, DataInterval, Timetable

DAY = timedelta(days=1)


def _midnight(moment):
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _weekday_from(day):
    while day.weekday() >= 5:  # Saturday, Sunday
        day += DAY
    return day


class WeekdayTimetable(Timetable):
    def __init__(self, delay_minutes=30):
        self.delay_minutes = delay_minutes
        self.description = f"weekdays, {delay_minutes} min after the day ends"

    def serialize(self):
        return {"delay_minutes": self.delay_minutes}

    @classmethod
    def deserialize(cls, data):
        return cls(data["delay_minutes"])

    @property
    def summary(self):
        return self.description

    def infer_manual_data_interval(self, *, run_after):
        start = _midnight(run_after) - DAY
        return DataInterval(start=start, end=start + DAY)

    def next_dagrun_info(self, *, last_automated_data_interval, restriction):
        if last_automated_data_interval is not None:
            start = _weekday_from(last_automated_data_interval.start + DAY)
        elif restriction.earliest is None:
            return None
        else:
            earliest = restriction.earliest
            start = _weekday_from(earliest if earliest == _midnight(earliest) else _midnight(earliest) + DAY)
        if restriction.latest is not None and start > restriction.latest:
            return None
        end = start + DAY
        return DagRunInfo(run_after=end + timedelta(minutes=self.delay_minutes), data_interval=DataInterval(start=start, end=end))


class WorkdaysPlugin(AirflowPlugin):
    name = "workdays"
    timetables = [WeekdayTimetable]
