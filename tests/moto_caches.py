"""What moto works out again on every request, worked out once per process.

moto in process (the unit tests, the fault matrix) finds a request's handler by building every matching backend's
URL table anew for each request, and moto's S3 backend reloads its ``urls`` module to do it (its table depends on
environment variables: the custom S3 endpoints). Its response classes list their own methods with
``inspect.getmembers`` on every request. Neither answer changes while the process runs with the same settings, so
both are kept:

* a backend's URL table, per backend object and the S3 custom endpoints of the moment;
* a response class's method names, per class.

What moto answers is unchanged: the same handler is found, with the same backend state behind it.
"""

from __future__ import annotations

import functools
from typing import Any

_installed: list[bool] = []


def install() -> None:
    """Install both in this process (once)."""
    if _installed:
        return
    from moto import settings
    from moto.core import base_backend, responses, utils

    names = functools.cache(utils.method_names_from_class)
    responses.method_names_from_class = names  # type: ignore[attr-defined]

    build = base_backend.BaseBackend.urls.fget
    assert build is not None

    def urls(self: Any) -> Any:
        key = tuple(settings.get_s3_custom_endpoints())
        cached = self.__dict__.get("_sgwatch_test_urls")
        if cached is None or cached[0] != key:
            cached = self.__dict__["_sgwatch_test_urls"] = (key, build(self))
        return cached[1]

    base_backend.BaseBackend.urls = property(urls)  # type: ignore[method-assign,assignment]
    _installed.append(True)
