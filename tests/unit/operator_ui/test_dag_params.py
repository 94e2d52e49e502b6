"""Trigger-form fields with a default: optional in the form, and an emptied field runs with the
default (dag_building/dag_params.py). The DAG and its Params are real; the context is the mapping a
task's on_execute_callback receives."""
from __future__ import annotations

import pytest
from airflow.sdk import DAG, Param
from airflow.sdk.definitions.param import ParamsDict

from dag_building.dag_params import optional, shown, use_defaults_for_empty


def test_optional_field_admits_null_and_states_its_default():
    param = optional(20000, "Rows per batch", type="integer", minimum=100, title="Batch size")
    assert param.schema["type"] == ["null", "integer"]
    assert param.schema["minimum"] == 100 and param.schema["title"] == "Batch size"
    assert param.description == "Rows per batch. Default: 20000."
    assert param.resolve(None) is None  # what an emptied field sends is valid
    with pytest.raises(Exception):
        param.resolve(5)  # the other constraints still hold


@pytest.mark.parametrize("default, text", [(False, "off"), (True, "on"), ("", "empty"), ([], "empty"),
                                           ({}, "empty"), ("latest", "latest"), (["a", "b"], '["a", "b"]'),
                                           (1.5, "1.5")])
def test_defaults_read_as_a_person_would(default, text):
    assert shown(default) == text


def test_a_field_without_default_must_be_declared_as_required():
    with pytest.raises(ValueError):
        optional(None, "no default", type="string")


def test_an_emptied_field_runs_with_its_default_and_a_set_value_is_kept():
    with DAG("dag_params_check", schedule=None, params={
            "batch_size": optional(20000, "Rows per batch", type="integer"),
            "tables": optional(["a"], "Tables", type="array"),
            "capacity": Param(None, type=["null", "number"], description="none = unknown. Default: empty."),
    }) as dag:
        pass
    context = {"dag": dag, "params": {"batch_size": None, "tables": ["b"], "capacity": None}}
    use_defaults_for_empty(context)
    assert context["params"] == {"batch_size": 20000, "tables": ["b"], "capacity": None}
    assert isinstance(dag.params, ParamsDict)
