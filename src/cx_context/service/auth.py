"""Who may call what: API keys sent as `Authorization: Bearer <key>`, one role each.

Every route declares the roles it serves with `Depends(require_roles(...))`;
the dependency gives the route the caller's `Principal`. A missing, unknown or
revoked key is a 401 problem, a role the route does not serve a 403 problem.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import BaseRoute

from cx_context.context.bundle import AssemblyPurpose
from cx_context.service.keys import Role
from cx_context.service.problems import problem
from cx_context.service.ui.login import COOKIE as PAGE_COOKIE
from cx_context.service.ui.login import login_redirect

__all__ = [
    "AccessDeniedError",
    "Principal",
    "Role",
    "access_denied",
    "authenticate",
    "check_purpose",
    "require_roles",
    "roles_of",
    "route_roles",
]

ALL_ROLES = tuple(Role)

_bearer = HTTPBearer(
    auto_error=False,
    description="An API key from `cx-context keys create --role ROLE`.",
)


@dataclass(frozen=True)
class Principal:
    """The caller of a request, as its key says."""

    key_id: str
    role: Role
    tenant: str | None


class AccessDeniedError(Exception):
    """A request refused before its route runs: no usable key (401), a role the
    route does not serve (403), or a key over its rate limit (429)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers or {}


async def access_denied(request: Request, exc: Exception) -> Response:
    """The problem document for an AccessDeniedError (registered by the app)."""
    assert isinstance(exc, AccessDeniedError)
    if (
        exc.status == 401
        and request.method == "GET"
        and request.url.path.startswith("/ui/")
    ):
        return login_redirect(request)  # a browser opening a page signs in first
    response = problem(request, exc.status, exc.title, exc.detail)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="cx-context"'
    response.headers.update(exc.headers)
    return response


def _page_key(request: Request) -> str | None:
    """The key a signed-in browser keeps for the pages (see `ui.login`).

    Only pages read it, and only when they are fetched: the API takes keys
    from the header alone, so a cookie cannot make it act.
    """
    if request.method != "GET" or not request.url.path.startswith("/ui/"):
        return None
    return request.cookies.get(PAGE_COOKIE) or None


def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller's Principal from its key, whatever the route; counts the request.

    One function for every route, so that FastAPI runs it once per request
    and the role check and the tenant's services share its answer.
    """
    if credentials is not None and credentials.scheme.lower() == "bearer":
        secret: str | None = credentials.credentials
    else:
        secret = _page_key(request)
    if secret is None:
        raise AccessDeniedError(
            401,
            "Not authenticated",
            "send an API key as 'Authorization: Bearer <key>' "
            "(make one with `cx-context keys create --role ROLE`)",
        )
    key = request.app.state.services.api_keys.verify(secret)
    if key is None:
        raise AccessDeniedError(
            401, "Not authenticated", "the API key is unknown or revoked"
        )
    found = Principal(key.key_id, key.role, key.tenant)
    request.state.principal = found
    rate = request.app.state.rate_limiter.hit(key.key_id)
    if not rate.allowed:
        raise AccessDeniedError(
            429,
            "Too many requests",
            f"key {key.key_id} is over its rate limit of {rate.limit} "
            f"(CX_RATE_LIMIT); retry in {rate.retry_after_s} s",
            headers={"Retry-After": str(rate.retry_after_s)},
        )
    return found


def require_roles(*roles: Role) -> Callable[..., Principal]:
    """A dependency that admits keys of these roles and gives their Principal."""
    if not roles:
        raise ValueError("require_roles needs at least one role")
    allowed = frozenset(Role(r) for r in roles)
    names = ", ".join(sorted(r.value for r in allowed))

    def principal(found: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if found.role not in allowed:
            raise AccessDeniedError(
                403,
                "Forbidden",
                f"role {found.role.value!r} may not call this endpoint; "
                f"it serves: {names}",
            )
        return found

    # Read by roles_of, so that tests and checks can list every route's roles.
    principal.roles = allowed  # type: ignore[attr-defined]
    return principal


def roles_of(dependency: object) -> frozenset[Role] | None:
    """The roles a dependency made by require_roles admits; None for any other."""
    roles = getattr(dependency, "roles", None)
    return roles if isinstance(roles, frozenset) else None


# The purposes each role may assemble context for: a bot only for its own
# answers (no risk flags, nothing of other customers), an agent for assisting
# and summarising, an admin for any.
PURPOSES_BY_ROLE: dict[Role, frozenset[AssemblyPurpose]] = {
    Role.AGENT: frozenset({AssemblyPurpose.AGENT_ASSIST, AssemblyPurpose.SUMMARY}),
    Role.BOT: frozenset({AssemblyPurpose.BOT_ANSWER}),
    Role.ADMIN: frozenset(AssemblyPurpose),
}


def check_purpose(principal: Principal, purpose: AssemblyPurpose) -> None:
    """Refuse (403) a purpose the caller's role may not assemble context for."""
    allowed = PURPOSES_BY_ROLE.get(principal.role, frozenset())
    if purpose not in allowed:
        names = ", ".join(sorted(p.value for p in allowed)) or "none"
        raise AccessDeniedError(
            403,
            "Purpose not allowed",
            f"role {principal.role.value!r} may assemble context only for: "
            f"{names}; got purpose {purpose.value!r}",
        )


def route_roles(app: FastAPI) -> dict[tuple[str, str], frozenset[Role] | None]:
    """Every (method, path) the app serves and the roles it admits (None: anyone)."""
    found: dict[tuple[str, str], frozenset[Role] | None] = {}

    def dependency_roles(dependant: Dependant) -> frozenset[Role] | None:
        for sub in dependant.dependencies:
            roles = roles_of(sub.call)
            if roles is None:
                roles = dependency_roles(sub)
            if roles is not None:
                return roles
        return None

    def walk(routes: list[BaseRoute], prefix: str) -> None:
        for route in routes:
            if isinstance(route, APIRoute):
                for method in sorted(route.methods or ()):
                    found[(method, prefix + route.path)] = dependency_roles(
                        route.dependant
                    )
            elif hasattr(route, "original_router"):  # an included router
                context = getattr(route, "include_context", None)
                walk(
                    route.original_router.routes,
                    prefix + str(getattr(context, "prefix", "") or ""),
                )

    walk(app.routes, "")
    return found
