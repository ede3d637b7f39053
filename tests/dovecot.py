"""A real Dovecot IMAP server of the test's own: loopback port, TLS, one passwd-file user, Maildir.

Like the fault tests' redis-server and PostgreSQL (tests/faults.py) it runs
from Debian's binary with a configuration written into a folder of its own,
so it never touches a system Dovecot. The certificate is made here, self
signed, and doubles as the private CA the client trusts (REPLY_IMAP_CA_FILE).

As root, the mail processes run as ``nobody`` (Dovecot refuses root for mail
access), so the folder lives under /tmp where that user can reach it.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import ssl
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

from tests.faults import free_port
from tests.worker import wait_until

DOVECOT = "/usr/sbin/dovecot"
USER = "replies@copsite.test"
PASSWORD = "imap secret for the test"


def dovecot_present() -> bool:
    return Path(DOVECOT).exists() and Path("/usr/lib/dovecot/imap").exists()


def write_self_signed(cert_path: Path, key_path: Path) -> None:
    """A certificate for 127.0.0.1 and localhost that is its own CA, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "copsite test IMAP")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)


class DovecotServer:
    """``dovecot -F`` with a config of our own; IMAP over implicit TLS on ``port``, STARTTLS on ``starttls_port``."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="copsite-dovecot-", dir="/tmp"))
        self.dir.chmod(0o755)
        self.port = free_port()
        self.starttls_port = free_port()
        self.cert = self.dir / "cert.pem"
        self.key = self.dir / "key.pem"
        self.log_path = self.dir / "dovecot.log"
        self.home = self.dir / "home"
        self.process: subprocess.Popen | None = None

    def _mail_owner(self) -> tuple[int, int, str]:
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            return nobody.pw_uid, nobody.pw_gid, nobody.pw_name
        me = pwd.getpwuid(os.geteuid())
        return me.pw_uid, me.pw_gid, me.pw_name

    def write_config(self) -> Path:
        write_self_signed(self.cert, self.key)
        uid, gid, owner = self._mail_owner()
        self.home.mkdir()
        os.chown(self.home, uid, gid)
        (self.dir / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        for sub in ("run", "state"):
            (self.dir / sub).mkdir()
        unprivileged = "" if os.geteuid() == 0 else f"default_login_user = {owner}\ndefault_internal_user = {owner}\n"
        config = self.dir / "dovecot.conf"
        config.write_text(
            f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {self.dir}/run
state_dir = {self.dir}/state
log_path = {self.log_path}
info_log_path = {self.log_path}
instance_name = copsite-test-{self.port}
{unprivileged}ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{self.key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.dir}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={self.home}/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.starttls_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""
        )
        return config

    def start(self) -> None:
        config = self.write_config()
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)],
            stdout=open(self.dir / "stdout.log", "w"),  # noqa: SIM115 - the child holds it; removed with the folder
            stderr=subprocess.STDOUT,
        )

        def up() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited:\n{self.output()}")
            try:
                self.connect().logout()
                return True
            except (OSError, imaplib.IMAP4.error):
                return False

        wait_until(up, timeout=20, what=f"dovecot on port {self.port}", log=self.output)

    def stop(self) -> None:
        from tests.worker import stop_process

        try:
            stop_process(self.process, timeout=10)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    def connect(self) -> imaplib.IMAP4_SSL:
        """A logged-in client of our own, as the sender's mail server would be: for APPEND and for looking."""
        client = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=self.ssl_context(), timeout=10)
        client.login(USER, PASSWORD)
        return client

    def environment(self, **extra: str) -> dict[str, str]:
        """The REPLY_IMAP_* settings that point copsite at this server."""
        return {
            "REPLY_IMAP_HOST": "127.0.0.1",
            "REPLY_IMAP_PORT": str(self.port),
            "REPLY_IMAP_USER": USER,
            "REPLY_IMAP_PASSWORD": PASSWORD,
            "REPLY_IMAP_CA_FILE": str(self.cert),
            **extra,
        }

    def output(self) -> str:
        text = ""
        for name in ("stdout.log", "dovecot.log"):
            path = self.dir / name
            if path.exists():
                text += path.read_text(errors="replace")
        return text

    # --- Looking at the mailbox as a person would --------------------------------------------------------------

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        client = self.connect()
        try:
            status, data = client.append(folder, "", imaplib.Time2Internaldate(datetime.now(UTC)), raw)
            assert status == "OK", data
        finally:
            client.logout()

    def messages(self, folder: str) -> list[bytes]:
        """The raw messages in ``folder`` (none if it does not exist), without marking them seen."""
        client = self.connect()
        try:
            status, _ = client.select(_quote(folder), readonly=True)
            if status != "OK":
                return []
            _, found = client.uid("SEARCH", "ALL")
            out = []
            for uid in found[0].split():
                _, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
                out.extend(part[1] for part in parts if isinstance(part, tuple))
            return out
        finally:
            client.logout()

    def flags(self, folder: str = "INBOX") -> list[str]:
        client = self.connect()
        try:
            client.select(_quote(folder), readonly=True)
            _, found = client.uid("SEARCH", "ALL")
            if not found[0]:
                return []
            _, data = client.uid("FETCH", b",".join(found[0].split()), "(FLAGS)")
            return [line.decode() for line in data if isinstance(line, bytes)]
        finally:
            client.logout()


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
