"""The API's bodies and answers as pydantic models: requests are validated with them, answers are built
from them, and the OpenAPI document's schemas are theirs (`bastidor.console.api.openapi`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

MAX_ITEMS_PER_CALL = 1000
MAX_ID = 2**63 - 1
InputValue = str | int | float | bool


class StrictModel(BaseModel):
    """A request body: unknown fields are refused (a misspelt field is an error, not silently ignored)."""

    model_config = ConfigDict(extra="forbid")


class StartRun(StrictModel):
    """Start a flow of the console's flows folder now, with inputs."""

    flow: str = Field(min_length=1, max_length=500, description="The flow's name (its `name:`, e.g. `Order "
                      "entry`) or its path under the console's flows folder (e.g. `order_entry.yaml`).")
    inputs: dict[str, InputValue] = Field(default_factory=dict, max_length=200, description="The flow's "
                                          "inputs by name; those left out take the flow's defaults.")


class NewWorkItem(StrictModel):
    """One work item for a flow's queue."""

    reference: str = Field(min_length=1, max_length=255, pattern=r"^\S(.*\S)?$",
                           description="The item's reference, unique in the flow's queue forever (e.g. the "
                           "order number). No leading or trailing spaces.")
    data: dict[str, Any] = Field(default_factory=dict, description="The item's row: the flow reads it as the "
                                 "loop variable of its `for_each_item` (e.g. `order.quantity`).")
    priority: int = Field(default=0, ge=-1000, le=1000, description="Higher is taken first.")
    defer_until: AwareDatetime | None = Field(default=None, description="Not taken before this moment "
                                              "(ISO 8601 with a time zone).")
    deadline: AwareDatetime | None = Field(default=None, description="Fails as `deadline passed` if not "
                                           "started by then (ISO 8601 with a time zone).")


class AddItems(StrictModel):
    """A batch of work items; all are added, or none (a duplicate reference refuses the whole batch)."""

    items: list[NewWorkItem] = Field(min_length=1, max_length=MAX_ITEMS_PER_CALL,
                                     description=f"1 to {MAX_ITEMS_PER_CALL} items, each reference once.")

    @field_validator("items")
    @classmethod
    def _references_once(cls, items: list[NewWorkItem]) -> list[NewWorkItem]:
        seen: set[str] = set()
        for item in items:
            if item.reference in seen:
                raise ValueError(f"the reference {item.reference!r} appears twice in this batch: send it once")
            seen.add(item.reference)
        return items


class Links(BaseModel):
    """Where to look next: this resource in the API, and pages of the console (which need a sign-in)."""

    self: str = Field(description="This resource in the API.")
    report: str | None = Field(default=None, description="The run's page in the console (report, steps, "
                               "screenshots, items), once the run has started.")


class RunAccepted(BaseModel):
    """A run request queued; a running `serve` picks it up."""

    id: int = Field(description="The run request's id: follow it with GET /api/v1/runs/{id}.")
    key: str = Field(description="The run request's unique key.")
    state: Literal["queued"]
    flow: str = Field(description="The flow's name.")
    flow_path: str = Field(description="The flow's path under the console's flows folder.")
    links: Links


class ItemCounts(BaseModel):
    """How many work items the run handled, and how they ended."""

    total: int
    succeeded: int
    failed: int


class RunStatus(BaseModel):
    """A run request: where it is, and, once a bot started it, the run's outcome and counts."""

    id: int
    key: str
    flow: str = Field(description="The flow's name (while queued: its file).")
    flow_path: str
    state: str = Field(description="queued, running, done, failed, crashed, interrupted, missed or skipped.")
    requested_by: str
    attempts: int
    enqueued_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    run_id: str | None = Field(description="The run's id once a bot started it.")
    run_status: str | None = Field(description="The run's own status (running, succeeded, failed...).")
    items: ItemCounts | None = Field(description="Counts of the run's work items, once it started.")
    error: str | None
    links: Links


class AddedItem(BaseModel):
    """One item added to the queue."""

    id: int
    reference: str
    links: Links


class ItemsAdded(BaseModel):
    """The batch, added."""

    queue: str = Field(description="The flow's name, which is its queue's name.")
    added: list[AddedItem]


class ItemStatus(BaseModel):
    """A work item's state in its flow's queue."""

    id: int
    queue: str = Field(description="The flow's name, which is its queue's name.")
    reference: str
    state: str = Field(description="new, in_progress, successful or failed.")
    attempts: int
    max_attempts: int
    priority: int
    created_at: datetime
    updated_at: datetime
    defer_until: datetime | None
    deadline: datetime | None
    exception_kind: str | None = Field(description="For a failed item: business or application.")
    reason: str | None
    run_id: str | None = Field(description="The run that last took it.")
    links: Links


class Problem(BaseModel):
    """One thing wrong with a request's body or parameters."""

    where: str = Field(description="The field, e.g. `items.3.reference`.")
    message: str


class Error(BaseModel):
    """Every refused call: a stable code and one sentence saying what is wrong and what to do."""

    error: str = Field(description="A stable code: unauthorized, forbidden, not_found, method_not_allowed, "
                       "invalid_request, unsupported_media_type, duplicate_reference, too_large, rate_limited, "
                       "unavailable, internal_error.")
    detail: str
    problems: list[Problem] | None = Field(default=None, description="With invalid_request: each problem.")
    references: list[str] | None = Field(default=None, description="With duplicate_reference: the references "
                                         "already in the queue.")
