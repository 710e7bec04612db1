"""Repair jobs on a task queue: recorded in the database, run by workers (Celery, or the
embedded local worker when no broker is set). `submit` records and queues, `execute` runs
one job under a lease, `sweep` finds jobs whose worker died."""
