"""Demo people: a platform admin, the organization "Energia Comune Srl", its vendor, a
referent, ten members of mixed types and two simulated users. Idempotent (keyed on email).

Fills ctx["organization"], ctx["users"] (role -> list; "simulated" for the simulated users),
ctx["logins"] and ctx["password"] for the apps seeded after this one.
"""

from accounts.models import MemberType, Organization, Role, User, UserStatus, UserType
from accounts.services import email_address_sync
from accounts.validators import fiscal_code_check_char

PASSWORD = "Demo-Energia-2025!"

MEMBERS = [
    ("Giulia Bianchi", "giulia.bianchi", MemberType.PROSUMER, "BNCGLI85M41A944"),
    ("Marco Rossi", "marco.rossi", MemberType.CONSUMER, "RSSMRC80A01A944"),
    ("Chiara Verdi", "chiara.verdi", MemberType.CONSUMER, "VRDCHR90D45A944"),
    ("Luca Ferrari", "luca.ferrari", MemberType.PRODUCER, "FRRLCU75C12A944"),
    ("Sara Esposito", "sara.esposito", MemberType.PROSUMER, "SPSSRA88E50A944"),
    ("Paolo Romano", "paolo.romano", MemberType.CONSUMER, "RMNPLA70H20A944"),
    ("Elena Colombo", "elena.colombo", MemberType.PROSUMER, "CLMLNE92T55A944"),
    ("Andrea Ricci", "andrea.ricci", MemberType.CONSUMER, "RCCNDR83L10A944"),
    ("Francesca Marino", "francesca.marino", MemberType.PRODUCER, "MRNFNC79S60A944"),
    ("Davide Greco", "davide.greco", MemberType.CONSUMER, "GRCDVD95B15A944"),
]


def _user(email: str, **fields) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, username=email.split("@")[0],
                                        password=PASSWORD, is_verified=True, **fields)
    email_address_sync(user=user)
    return user


def seed(ctx: dict, out) -> None:
    from core.management.commands.seed_demo import demo_refuse_in_production

    demo_refuse_in_production()  # PASSWORD is public: development only
    organization, _ = Organization.objects.get_or_create(
        slug="energia-comune", defaults={"name": "Energia Comune Srl", "vat_number": "IT01234567890"}
    )
    admin = User.objects.filter(email="admin@commonwatt.local").first()
    if admin is None:
        admin = User.objects.create_superuser(username="admin", email="admin@commonwatt.local",
                                              password=PASSWORD, full_name="Platform Admin")
    email_address_sync(user=admin)
    vendor = _user("vendor@energiacomune.it", role=Role.VENDOR, organization=organization,
                   full_name="Valeria Conti")
    referent = _user("referent@energiacomune.it", role=Role.REFERENT, full_name="Roberto Galli")
    members = [
        _user(f"{slug}@example.it", role=Role.USER, member_type=member_type, full_name=name,
              fiscal_code=code + fiscal_code_check_char(code), address="Bologna (BO)")
        for name, slug, member_type, code in MEMBERS
    ]
    simulated = [
        _user(f"sim-{i}@simulated.commonwatt.local", role=Role.USER, user_type=UserType.SIMULATED,
              member_type=MemberType.CONSUMER, full_name=f"Simulated household {i}",
              status=UserStatus.ACTIVE)
        for i in (1, 2)
    ]
    ctx["organization"] = organization
    ctx["users"] = {"admin": [admin], "vendor": [vendor], "referent": [referent],
                    "user": members, "simulated": simulated}
    ctx["password"] = PASSWORD
    ctx["logins"] += [("admin", admin.email), ("vendor", vendor.email),
                      ("referent", referent.email), ("member", members[0].email)]
    out.write(f"accounts: {organization.name}, 1 admin, 1 vendor, 1 referent, "
              f"{len(members)} members, {len(simulated)} simulated users")
