"""Passwords, tokens and backup encryption."""
import base64
import hashlib
import hmac
import json
import os
import re
import secrets


def _aesgcm(key):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # pylint: disable=import-outside-toplevel
    return AESGCM(key)


BACKUP_MAGIC = b"WAEMUBK1"
BACKUP_ITERATIONS = 100_000
PW_ITERATIONS = 10_000


# --- API user passwords -------------------------------------------------------------------
def hash_password(password):
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, PW_ITERATIONS)
    return "pbkdf2_sha256$%d$%s$%s" % (PW_ITERATIONS, salt.hex(), digest.hex())


def check_password(password, stored):
    try:
        iterations, salt, digest = stored.split("$")[1:]
        got = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


#: Meta's login reference: "one special character from among !"#$%&\'()*+,-./:;<=>?@[]^_`{|}~" (ASCII punctuation).
SPECIAL_CHARACTERS = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
SPECIAL_RE = re.compile("[" + re.escape(SPECIAL_CHARACTERS) + "]")


def password_problems(password):
    """The documented rules: 8-64 chars, a digit, an upper-case, a lower-case, a special char."""
    if not isinstance(password, str):
        return "password must be a string"
    problems = []
    if not 8 <= len(password) <= 64:
        problems.append("8 to 64 characters")
    if not re.search(r"[0-9]", password):
        problems.append("a digit")
    if not re.search(r"[A-Z]", password):
        problems.append("an upper-case letter")
    if not re.search(r"[a-z]", password):
        problems.append("a lower-case letter")
    if not SPECIAL_RE.search(password):
        problems.append("a special character (one of %s)" % SPECIAL_CHARACTERS)
    if problems:
        return "password must have " + ", ".join(problems)
    return None


# --- tokens (JWT-like, HS256) --------------------------------------------------------------
def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(secret, claims):
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    signing_input = ("%s.%s" % (header, payload)).encode()
    sig = _b64url(hmac.new(secret.encode(), signing_input, hashlib.sha256).digest())
    return "%s.%s.%s" % (header, payload, sig)


def read_token(secret, token):
    """Claims of a token signed with ``secret``, or None."""
    try:
        header, payload, sig = token.split(".")
        want = _b64url(hmac.new(secret.encode(), ("%s.%s" % (header, payload)).encode(),
                                hashlib.sha256).digest())
        if not hmac.compare_digest(want, sig):
            return None
        return json.loads(_b64url_decode(payload))
    except (ValueError, TypeError):
        return None


def new_id(nbytes=16):
    return secrets.token_hex(nbytes)


# --- settings backup -----------------------------------------------------------------------
def _backup_key(password, salt, iterations):
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations, dklen=32)


def encrypt_backup(password, document):
    """PBKDF2-HMAC-SHA256 (100k) + AES-256-GCM; base64 of magic|iterations|salt|nonce|ciphertext."""
    salt, nonce = os.urandom(16), os.urandom(12)
    plain = json.dumps(document, sort_keys=True).encode()
    ct = _aesgcm(_backup_key(password, salt, BACKUP_ITERATIONS)).encrypt(nonce, plain, BACKUP_MAGIC)
    blob = BACKUP_MAGIC + BACKUP_ITERATIONS.to_bytes(4, "big") + salt + nonce + ct
    return base64.b64encode(blob).decode()


class BackupError(ValueError):
    pass


def decrypt_backup(password, data):
    if not isinstance(data, str) or not data:
        raise BackupError("backup data is empty")
    try:
        blob = base64.b64decode(data.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise BackupError("backup data is not valid base64") from None
    head = len(BACKUP_MAGIC)
    if len(blob) < head + 4 + 16 + 12 + 16 or not blob.startswith(BACKUP_MAGIC):
        raise BackupError("backup data is corrupt (not a settings backup)")
    iterations = int.from_bytes(blob[head:head + 4], "big")
    salt = blob[head + 4:head + 20]
    nonce = blob[head + 20:head + 32]
    if not 1000 <= iterations <= 10_000_000:
        raise BackupError("backup data is corrupt")
    try:
        plain = _aesgcm(_backup_key(password, salt, iterations)).decrypt(nonce, blob[head + 32:], BACKUP_MAGIC)
    except Exception:  # cryptography.exceptions.InvalidTag
        raise BackupError("could not decrypt the backup data: wrong password or corrupt data") from None
    try:
        return json.loads(plain)
    except ValueError:
        raise BackupError("backup data is corrupt") from None
