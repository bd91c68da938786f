"""Who may create communities. Everything else about who may see or change what is the one
rule of `core.scoping` (`visible_to` / `managed_by`, `get_visible` / `get_manageable` /
`require_manageable`: invisible is 404, visible but not manageable is 403)."""

from django.utils.translation import gettext

from accounts.models import Role
from core.exceptions import Forbidden


def forbidden(message: str) -> Forbidden:
    """A `Forbidden` domain error (kept for callers outside this app that still import it)."""
    return Forbidden(message)


def require_community_creator(user) -> None:
    if not (user.is_platform_admin or (user.role == Role.VENDOR and user.organization_id)):
        raise Forbidden(gettext("Only administrators and vendors create communities."))
