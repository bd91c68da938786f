"""Italian everywhere (issue 11): no portal template keeps English text outside the
translation tags, and every string marked for translation (templates, the portal's Python,
the charts' JavaScript) has an Italian translation in locale/it."""

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils.translation.template import templatize

ROOT = Path(settings.BASE_DIR)
PO = ROOT / "locale" / "it" / "LC_MESSAGES"
# the portal's and back office's templates, the apps' own and every email's (subject and body)
TEMPLATES = sorted(
    {*(ROOT / "templates").rglob("*.html"), *ROOT.glob("*/templates/**/*.html"),
     *ROOT.glob("*templates/**/email/*.txt"), *ROOT.glob("*/templates/**/email/*.txt")}
)
PORTAL_PYTHON = [ROOT / path for path in ("core/apps.py", "core/home.py", "core/home_cards.py",
                                           "core/portal_views.py", "core/views.py", "accounts/forms.py")]
PORTAL_JS = [ROOT / "static" / "js" / "home.js",
             ROOT / "communities" / "static" / "communities" / "community_map.js"]
# words that are the same in both languages: units, names, codes
SAME = {"kWh", "kWp", "kW", "CommonWatt", "TIP", "CSV", "UTC", "POD", "SoC", "Wh"}


def _po_entries(path: Path) -> dict:
    """{msgid: [msgstr, ...]} of a .po file, with the fuzzy flag as msgstr None."""
    entries, block = {}, []
    for chunk in path.read_text(encoding="utf-8").split("\n\n"):
        block = chunk.splitlines()
        fields, cur = {}, None
        for line in block:
            m = re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d\])?) "(.*)"$', line)
            if m:
                cur = m.group(1)
                fields[cur] = m.group(2)
            elif line.startswith('"') and cur:
                fields[cur] += line[1:-1]
        if fields.get("msgid"):
            fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in block)
            strs = [v for k, v in fields.items() if k.startswith("msgstr")]
            entries[_unescape(fields["msgid"])] = None if fuzzy else strs
    return entries


def _unescape(s: str) -> str:
    return s.encode().decode("unicode_escape").encode("latin-1").decode("utf-8")


def _template_msgids(path: Path) -> set[str]:
    code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
    found = set()
    # templatize quotes a string as it was written: 'single' or "double" (an apostrophe
    # inside); pgettext's first argument is the context, its message is the second
    string = r"""u(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")"""
    for m in re.finditer(rf"\b(gettext|ngettext|pgettext|npgettext)\({string}(?:,\s*{string})?", code):
        first, second = m.group(2) or m.group(3), m.group(4) or m.group(5)
        found.add(_unescape(second if m.group(1).startswith(("pgettext", "npgettext")) else first))
    return found


def _literal_words(path: Path) -> list[str]:
    """English words written straight into the template (outside {% translate %} and
    {% blocktranslate %}), in the text or in aria-label/title/alt/placeholder/data-label."""
    src = path.read_text(encoding="utf-8")
    src = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", " ", src, flags=re.S)
    src = re.sub(r"{%\s*blocktranslate.*?{%\s*endblocktranslate\s*%}", "§", src, flags=re.S)
    src = re.sub(r"{#.*?#}|{%.*?%}|{{.*?}}", "§", src, flags=re.S)
    src = re.sub(r"<(script|style)\b.*?</\1>", " ", src, flags=re.S)
    words = []
    for tag in re.findall(r"<[^>]+>", src):
        for value in re.findall(r'\b(?:aria-label|title|alt|placeholder|data-label)="([^"]*)"', tag):
            words += re.findall(r"[A-Za-z]{2,}", value)
    text = re.sub(r"<[^>]+>", " ", src)
    text = re.sub(r"&[a-z]+;|&#\d+;", " ", text)
    text = re.sub(r"\S*/\S*", " ", text)  # paths and URLs (the emails' API routes)
    words += re.findall(r"[A-Za-z]{2,}", text)
    return [w for w in words if w not in SAME]


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_keeps_english_outside_the_translation_tags(path):
    assert _literal_words(path) == []


def test_every_marked_string_has_an_italian_translation():
    django_po, js_po = _po_entries(PO / "django.po"), _po_entries(PO / "djangojs.po")
    wanted = set()
    for path in TEMPLATES:
        wanted |= _template_msgids(path)
    for path in PORTAL_PYTHON:
        wanted |= set(re.findall(r'\b_\("((?:[^"\\]|\\.)*)"\)', path.read_text(encoding="utf-8")))
    missing = sorted(m for m in wanted if not (django_po.get(m) and all(django_po[m])))
    assert missing == [], "run makemessages -l it and translate these"
    js_wanted = set()
    for path in PORTAL_JS:
        js_wanted |= set(re.findall(r'\bgettext\("((?:[^"\\]|\\.)*)"\)', path.read_text(encoding="utf-8")))
    assert js_wanted
    assert sorted(m for m in js_wanted if not (js_po.get(m) and all(js_po[m]))) == []


APP_DIRS = sorted({p.parent for p in ROOT.glob("*/apps.py")})
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "gettext_noop", "pgettext", "pgettext_lazy",
                 "ngettext", "ngettext_lazy"}


def _python_msgids(path: Path) -> set[str]:
    """The literal msgids of the gettext calls of a module (implicit concatenation joined)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name in GETTEXT_NAMES and node.args:
            arg = node.args[1] if name.startswith("pgettext") and len(node.args) > 1 else node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add(arg.value)
    return found


def test_every_python_message_has_an_italian_translation():
    """The API's `message` texts, the emails' and the back office's strings (issue 11)."""
    django_po = _po_entries(PO / "django.po")
    wanted = set()
    for app in APP_DIRS:
        for path in app.rglob("*.py"):
            if {"tests", "migrations", "testing"} & set(path.relative_to(ROOT).parts):
                continue
            wanted |= _python_msgids(path)
    assert len(wanted) > 80
    missing = sorted(m for m in wanted if not (django_po.get(m) and all(django_po[m])))
    assert missing == [], "run makemessages -l it and translate these"


def test_no_catalogue_entry_is_empty_or_fuzzy():
    for name in ("django.po", "djangojs.po"):
        entries = _po_entries(PO / name)
        bad = [m for m, strs in entries.items() if not strs or not all(strs)]
        assert bad == [], name


@pytest.mark.django_db
def test_the_italian_pages_use_italian_number_formats(world):
    client = Client(HTTP_ACCEPT_LANGUAGE="it")
    client.force_login(world.a.member)
    html = client.get("/").content.decode()
    assert '<html lang="it">' in html
    assert "Ti diamo il benvenuto" in html and "Questo mese" in html
    community = client.get(f"/community/{world.a.community.pk}/").content.decode()
    assert 'id="installed-kwp">6,0 kWp' in community  # decimal comma


def test_every_model_and_field_name_of_the_back_office_has_an_italian_translation():
    from core.i18n import WRAPPED_NAMES

    django_po = _po_entries(PO / "django.po")
    assert len(WRAPPED_NAMES) > 150
    missing = sorted(m for m in WRAPPED_NAMES if not (django_po.get(m) and all(django_po[m])))
    assert missing == [], "add these model/field names to locale/it/LC_MESSAGES/django.po"


@pytest.mark.django_db
def test_the_back_office_shows_model_and_field_names_in_italian(world):
    client = Client(HTTP_ACCEPT_LANGUAGE="it")
    client.force_login(world.admin)
    html = client.get("/admin/plants/plant/").content.decode()
    assert "Impianti" in html and "Potenza (kWp)" in html
    form = client.get(f"/admin/plants/plant/{world.a.plant.pk}/change/").content.decode()
    assert "Entrato in esercizio il" in form and "Commissioned on" not in form
    english = Client(HTTP_ACCEPT_LANGUAGE="en")
    english.force_login(world.admin)
    assert "Capacity kwp" in english.get("/admin/plants/plant/").content.decode()
