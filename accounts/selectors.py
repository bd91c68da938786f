"""Reads on accounts. Every user-facing read starts from `User.objects.visible_to(actor)`."""

from django.db.models import Q, QuerySet

from accounts.models import User
from core.scoping import get_visible


def user_list(*, actor: User, member_type: str | None = None, user_type: str | None = None,
              status: str | None = None, role: str | None = None,
              search: str | None = None) -> QuerySet[User]:
    qs = User.objects.visible_to(actor).select_related("organization")
    if member_type:
        qs = qs.filter(member_type=member_type)
    if user_type:
        qs = qs.filter(user_type=user_type)
    if status:
        qs = qs.filter(status=status)
    if role:
        qs = qs.filter(role=role)
    if search:
        term = search.strip()
        qs = qs.filter(
            Q(full_name__icontains=term) | Q(email__icontains=term)
            | Q(fiscal_code__icontains=term) | Q(username__icontains=term)
        )
    return qs.order_by("id")


def user_get(*, actor: User, user_id: int) -> User:
    """The user if the actor may see them; 404 otherwise (never 403: no existence leak)."""
    return get_visible(User.objects.select_related("organization"), actor, pk=user_id)


def user_check_email(*, actor: User, email: str) -> tuple[bool, int | None]:
    """Whether an account has this email, and its id only if the actor may see that user."""
    existing = User.objects.filter(email__iexact=email.strip()).only("pk").first()
    if existing is None:
        return False, None
    visible = User.objects.visible_to(actor).filter(pk=existing.pk).exists()
    return True, existing.pk if visible else None
