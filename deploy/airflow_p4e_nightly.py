"""Airflow DAG of the p4e nightly refresh (apache-airflow-providers-apache-spark).

Submits jobs/nightly.py to the cluster behind the `spark_default` connection every
night at 02:30 UTC; the code ships as the p4e wheel, the configuration by path.
A failed run is retried once; p4e's steps are idempotent, so a retry is safe.
"""

from datetime import datetime, timedelta

from airflow import DAG
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

P4E_HOME = "/opt/p4e"  # a checkout (jobs/, conf/) and dist/p4e-*.whl built by `pip wheel`

with DAG(
    dag_id="p4e_nightly",
    schedule="30 2 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,  # one writer at a time; a second would meet a commit conflict
    default_args={"retries": 1, "retry_delay": timedelta(minutes=15)},
    tags=["p4e"],
) as dag:
    SparkSubmitOperator(
        task_id="nightly",
        conn_id="spark_default",
        application=f"{P4E_HOME}/jobs/nightly.py",
        py_files=f"{P4E_HOME}/dist/p4e-0.1.0-py3-none-any.whl",
        application_args=[
            "--conf",
            f"{P4E_HOME}/conf/p4e.yaml",
            "--lakehouse",
            "s3a://plan-lake/p4e",
        ],
        conf={
            "spark.pyspark.python": "/opt/p4e/venv/bin/python",
            "spark.sql.shuffle.partitions": "200",
        },
        name="p4e-nightly",
    )
