"""Schedules and backfills: Airflow's logical dates from its own timetables, and submitting runs."""
