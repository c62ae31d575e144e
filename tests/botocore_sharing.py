"""What every botocore session of a test process may share: read-only data built from the service models.

A test's new session stands for a new Lambda process (new credentials, new clients, empty caches of the code under
test), and the fault matrix builds thousands of clients in one process. Neither needs botocore to parse a service
model, or to build a client class from it, a second time:

* one data loader for every session, so each service model is parsed once per process;
* one client class per service, model and set of class-building handlers (boto3's, botocore's own), so a new
  client is only its arguments and its instance.

What a client does is unchanged: its methods, its handlers (registered on the instance's events), its credentials,
endpoint and configuration are its own.
"""

from __future__ import annotations

import functools
from typing import Any

_installed: list[bool] = []


def _handler_key(handler: Any) -> tuple[Any, ...]:
    cells = tuple(repr(c.cell_contents) for c in getattr(handler, "__closure__", None) or ())
    return (getattr(handler, "__module__", ""), getattr(handler, "__qualname__", repr(handler)), cells)


def share() -> None:
    """Install both in this process (once)."""
    if _installed:
        return
    import botocore.client
    import botocore.loaders
    import botocore.session

    botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)  # type: ignore[attr-defined]

    build = botocore.client.ClientCreator._create_client_class
    classes: dict[tuple[Any, ...], type] = {}

    @functools.wraps(build)
    def create_client_class(self: Any, service_name: str, service_model: Any) -> type:
        service_id = service_model.service_id.hyphenize()
        emitter = getattr(self._event_emitter, "_emitter", self._event_emitter)
        handlers = emitter._handlers.prefix_search(f"creating-client-class.{service_id}")
        key = (service_name, id(service_model._service_description), tuple(map(_handler_key, handlers)))
        found = classes.get(key)
        if found is None:
            found = classes[key] = build(self, service_name, service_model)
        return found

    botocore.client.ClientCreator._create_client_class = create_client_class  # type: ignore[method-assign]
    _installed.append(True)
