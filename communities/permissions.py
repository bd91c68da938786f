"""Who may change what. Reads are scoped by `visible_to` (out of scope = 404); a write on
something the caller can see but not manage is a 403."""

from communities.models import Community
from core.errors import ApiError


def forbidden(message: str) -> ApiError:
    return ApiError(message, error="PermissionDenied", status_code=403)


def require_community_manager(user, community: Community) -> None:
    """Admins; the vendor of the community's organization; the community's referents."""
    if not Community.objects.managed_by(user).filter(pk=community.pk).exists():
        raise forbidden("You can see this community but not change it.")


def require_community_creator(user) -> None:
    if not (user.is_platform_admin or (user.role == "vendor" and user.organization_id)):
        raise forbidden("Only administrators and vendors create communities.")
