"""Write a .env with fresh secrets for the embedded default. Never overwrites one."""

import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet

path = Path(sys.argv[1] if len(sys.argv) > 1 else ".env")
if path.exists():
    print(f"{path} exists; leaving it as it is.")
    sys.exit(0)
template = Path(__file__).resolve().parent.parent / ".env.example"
text = template.read_text(encoding="utf-8")
text = text.replace("SECRET_KEY=change-me", f"SECRET_KEY={secrets.token_urlsafe(50)}")
text = text.replace(
    "FIELD_ENCRYPTION_KEY=\n",
    f"FIELD_ENCRYPTION_KEY={Fernet.generate_key().decode()}\n",
)
text = text.replace("CARD_HASH_KEY=\n", f"CARD_HASH_KEY={secrets.token_urlsafe(32)}\n")
path.write_text(text, encoding="utf-8")
path.chmod(0o600)
print(f"Wrote {path} with a new SECRET_KEY, FIELD_ENCRYPTION_KEY and CARD_HASH_KEY.")
