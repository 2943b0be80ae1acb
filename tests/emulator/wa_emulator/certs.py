"""Self-signed TLS material: a CA and a server certificate signed by it (cryptography >= 38 APIs).

``cryptography`` is imported only when something must be generated or parsed, so that a start with existing
TLS files stays fast.
"""
import datetime
import ipaddress
import os
import socket


def _crypto():
    # pylint: disable=import-outside-toplevel
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    return x509, hashes, serialization, ec, NameOID


def _name(cn):
    x509, dummy, dummy, dummy, NameOID = _crypto()
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "wa_emulator"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key):
    serialization = _crypto()[2]
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_ca(cn="wa_emulator CA"):
    x509, hashes, dummy, ec, dummy = _crypto()
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder()
            .subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_server_cert(ca_key, ca_cert, names):
    x509, hashes, dummy, ec, dummy = _crypto()
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.utcnow()
    sans = []
    for n in dict.fromkeys(names):
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    cert = (x509.CertificateBuilder()
            .subject_name(_name(names[0])).issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=825))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def default_names(extra=()):
    names = ["localhost", "127.0.0.1", "::1"]
    for n in (socket.gethostname(), os.environ.get("WA_WEB_SERVERNAME"), os.environ.get("WEBAPP_HOSTNAME")):
        if n:
            names.append(n)
    names.extend(n for n in extra if n)
    names.extend(n.strip() for n in os.environ.get("WA_EMULATOR_CERT_NAMES", "").split(",") if n.strip())
    return names


def ensure_tls_files(directory, prefix="server", extra_names=(), reuse=True):
    """Create (or reuse) ``ca.pem`` + ``<prefix>.pem``/``<prefix>-key.pem`` in ``directory``.

    Returns dict(ca=..., cert=..., key=...) paths.
    """
    os.makedirs(directory, exist_ok=True)
    paths = {"ca": os.path.join(directory, "ca.pem"),
             "ca_key": os.path.join(directory, "ca-key.pem"),
             "cert": os.path.join(directory, "%s.pem" % prefix),
             "key": os.path.join(directory, "%s-key.pem" % prefix)}
    if reuse and all(os.path.exists(p) for p in paths.values()):
        return paths
    x509, dummy, serialization, dummy, dummy = _crypto()
    if reuse and os.path.exists(paths["ca"]) and os.path.exists(paths["ca_key"]):
        with open(paths["ca_key"], "rb") as f:
            ca_key = serialization.load_pem_private_key(f.read(), None)
        with open(paths["ca"], "rb") as f:
            ca_cert = x509.load_pem_x509_certificate(f.read())
    else:
        ca_key, ca_cert = make_ca()
        _write(paths["ca_key"], _pem_key(ca_key), 0o600)
        _write(paths["ca"], ca_cert.public_bytes(serialization.Encoding.PEM))
    key, cert = make_server_cert(ca_key, ca_cert, default_names(extra_names))
    _write(paths["key"], _pem_key(key), 0o600)
    _write(paths["cert"], cert.public_bytes(serialization.Encoding.PEM)
           + ca_cert.public_bytes(serialization.Encoding.PEM))
    return paths


def _write(path, data, mode=0o644):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def load_pem_certificates(data):
    """Parse every certificate of a PEM bundle (cryptography 38 has no load_pem_x509_certificates)."""
    x509 = _crypto()[0]
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    begin, end = b"-----BEGIN CERTIFICATE-----", b"-----END CERTIFICATE-----"
    certs = []
    pos = 0
    while True:
        start = data.find(begin, pos)
        if start < 0:
            break
        stop = data.find(end, start)
        if stop < 0:
            raise ValueError("unterminated PEM certificate")
        stop += len(end)
        certs.append(x509.load_pem_x509_certificate(data[start:stop]))
        pos = stop
    if not certs:
        raise ValueError("no PEM certificate found")
    return certs
