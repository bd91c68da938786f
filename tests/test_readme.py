"""The README's configuration section names every environment variable settings.py reads."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _section(text: str, name: str) -> str:
    return text.split(f"<!-- section:{name} -->", 1)[1].split(f"<!-- /section:{name} -->", 1)[0]


def test_every_setting_variable_is_documented():
    settings = (ROOT / "config" / "settings.py").read_text()
    names = set(re.findall(r'(?:env\.\w+|_mandatory)\(\s*"([A-Z][A-Z0-9_]+)"', settings))
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "EMAIL_URL"} <= names
    configuration = _section((ROOT / "README.md").read_text(), "configuration")
    missing = sorted(n for n in names if f"`{n}`" not in configuration)
    assert missing == [], f"add these to the README's Configuration section: {missing}"
