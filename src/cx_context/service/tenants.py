"""Tenants: one set of stores per tenant, picked by the caller's key.

Isolation is by construction rather than by a filter every query has to
remember: a tenant's records, chunks, questions, summaries and risk events live
in stores of its own (see `Services`), and a request only ever gets the
`Services` of its key's tenant. Nothing a caller sends (a body, a query string,
a metadata filter naming a tenant or another tenant's document) can choose
another tenant's stores, because no route reads a tenant from the request.

A key without a tenant works on the default tenant: the stores that settings
name, as before tenants existed. The API keys themselves are control data and
stay with the default tenant.
"""

import logging
import threading
from typing import Annotated

from fastapi import Depends, Request

from cx_context.service.auth import AccessDeniedError, Principal, authenticate
from cx_context.service.keys import TenantIdError, check_tenant
from cx_context.service.wiring import Services

__all__ = [
    "ServicesDep",
    "TenantIdError",
    "TenantServices",
    "check_tenant",
    "tenant_services",
]

logger = logging.getLogger(__name__)


class TenantServices:
    """The `Services` of every tenant a process has served, made on first use.

    All of them share the process's models (`shared_embedder`,
    `shared_redactor`); each has its own database connections and vector
    store client, which `close` releases. The default tenant's `Services` is
    the one given, and `close` leaves it to its owner.
    """

    def __init__(self, default: Services) -> None:
        if default.tenant is not None:
            raise ValueError(
                f"the default services must have no tenant, got {default.tenant!r}"
            )
        self.default = default
        self._tenants: dict[str, Services] = {}
        self._lock = threading.Lock()

    def get(self, tenant: str | None) -> Services:
        """The services of a tenant (None: the default tenant)."""
        if tenant is None:
            return self.default
        check_tenant(tenant)
        with self._lock:
            services = self._tenants.get(tenant)
            if services is None:
                services = Services(
                    self.default.settings, tenant=tenant, control=self.default
                )
                self._tenants[tenant] = services
                logger.info("serving tenant %s", tenant)
            return services

    def tenants(self) -> list[str]:
        """The tenants served so far by this process."""
        with self._lock:
            return sorted(self._tenants)

    def close(self) -> None:
        """Release every tenant's connections; the default tenant's stay open."""
        with self._lock:
            opened, self._tenants = list(self._tenants.values()), {}
        for services in opened:
            services.close()


def tenant_services(
    request: Request, principal: Annotated[Principal, Depends(authenticate)]
) -> Services:
    """The services of the caller's tenant: the one dependency every route uses."""
    registry = request.app.state.tenants
    assert isinstance(registry, TenantServices)
    try:
        return registry.get(principal.tenant)
    except TenantIdError:
        # Keys made before tenant ids were checked may carry any text.
        raise AccessDeniedError(
            403,
            "Forbidden",
            f"key {principal.key_id} names a tenant that is not a valid tenant id; "
            "make a new key with `cx-context keys create --tenant`",
        ) from None


ServicesDep = Annotated[Services, Depends(tenant_services)]
