from rest_framework.permissions import BasePermission


class PolicyAccepted(BasePermission):
    pass
