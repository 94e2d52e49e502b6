"""Trigger-form fields of every DAG: optional when they have a default, and saying what it is.

Airflow 3.3's trigger form marks a field required (red asterisk, "required" error when empty)
whenever its JSON-schema type does not admit null, whatever its default. So a field with a
default admits null here, and an emptied field means "the default": `use_defaults_for_empty`
(an on_execute_callback of every task, through DEFAULT_ARGS) puts the declared default back
before the task runs. Each description ends with the default, so the form says what an
untouched field does.
"""
from __future__ import annotations

import json
from typing import Any

from airflow.sdk import Param


def shown(default: Any) -> str:
    """A default as the form's reader sees it."""
    if isinstance(default, bool):
        return "on" if default else "off"
    if default == "" or default == [] or default == {}:
        return "empty"
    if isinstance(default, str):
        return default
    return json.dumps(default)


def optional(default: Any, description: str, *, type: str | None = None, title: str | None = None,
             **schema: Any) -> Param:
    """A field the operator may leave as it is: `type` is the JSON-schema type of a value
    (None with `enum=`), and the description says the effect; the default is appended."""
    if default is None:
        raise ValueError("a field without a default is required: declare it with Param directly")
    if type is not None:
        schema["type"] = ["null", type]
    if title is not None:
        schema["title"] = title
    text = description.rstrip()
    if text and not text.endswith("."):
        text += "."
    return Param(default, description=f"{text} Default: {shown(default)}.", **schema)


def use_defaults_for_empty(context) -> None:
    """A field emptied in the trigger form arrives as null: give the task the declared default."""
    params = context.get("params")
    dag = context.get("dag")
    if not params or dag is None:
        return
    declared = dag.params
    for name in list(params):
        if params[name] is None and name in declared:
            param = declared.get_param(name)
            if param.has_value:
                params[name] = param.value
