"""A private Dovecot IMAP server for the tests: its own config, users and maildirs in a temporary folder.

Nothing of the system's Dovecot configuration is read or changed: the server runs in the foreground
(`dovecot -F -c CONFIG`) on 127.0.0.1, with IMAP over TLS (implicit, like port 993) and plain IMAP with
STARTTLS (like port 143) on free ports, passwords from a passwd-file per user, and mail in maildirs. Users
are added while it runs, so each test gets an empty mailbox.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from mail_certs import TestCertificates

INSTALL_HINT = "install it with: sudo bash tools/install_mail_server.sh (apt-get install -y dovecot-imapd)"
START_TIMEOUT_S = 30.0


class DovecotUnavailable(Exception):
    """Dovecot is not installed or could not start here; the message says why and how to fix it."""


@dataclass
class Dovecot:
    """A running private Dovecot: where it listens and how to add users to it."""

    process: subprocess.Popen
    folder: Path
    ssl_port: int
    starttls_port: int
    passwd_folder: Path
    users: dict[str, str] = field(default_factory=dict)

    def add_user(self, user: str, password: str) -> None:
        """Let `user` sign in with `password` (an empty mailbox of its own).

        Each user has a passwd-file of its own, so Dovecot reads a new file instead of noticing a change
        to one it has cached (it checks changed files at most once a second)."""
        self.users[user] = password
        temp = self.passwd_folder / f".{user}.tmp"
        temp.write_text(f"{user}:{{PLAIN}}{password}::::::\n")
        temp.chmod(0o644)
        os.replace(temp, self.passwd_folder / user)

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def log_tail(self) -> str:
        """The end of the server's log, for a failing test's report."""
        log = self.folder / "dovecot.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else ""


def dovecot_binary() -> str | None:
    """The dovecot program (Debian puts it in /usr/sbin, often not on a user's PATH), or None."""
    return shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)


def start_dovecot(certificates: TestCertificates) -> Dovecot:
    """Start a private Dovecot and wait until both ports accept connections; raises DovecotUnavailable."""
    binary = dovecot_binary()
    if binary is None:
        raise DovecotUnavailable(f"IMAP tests skipped: Dovecot is not installed; {INSTALL_HINT}")
    folder = Path(tempfile.mkdtemp(prefix="bastidor-dovecot-"))
    folder.chmod(0o755)  # the server's own users (dovecot, dovenull) read its config, passwd-file and certs
    for name in ("run", "state", "mail", "passwd"):
        (folder / name).mkdir()
    (folder / "mail").chmod(0o777)
    for source, name in ((certificates.cert_file, "server.pem"), (certificates.key_file, "server.key")):
        shutil.copyfile(source, folder / name)
    ssl_port, starttls_port = _free_port(), _free_port()
    server = Dovecot(process=None, folder=folder, ssl_port=ssl_port, starttls_port=starttls_port,
                     passwd_folder=folder / "passwd")
    server.add_user("probe", "probe")
    config = folder / "dovecot.conf"
    config.write_text(_config(folder, ssl_port, starttls_port))
    log = open(folder / "stderr.log", "wb")
    try:
        server.process = subprocess.Popen([binary, "-F", "-c", str(config)], stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, preexec_fn=_stop_with_parent)
    finally:
        log.close()
    try:
        _wait_listening(server)
    except DovecotUnavailable:
        server.stop()
        raise
    return server


def _stop_with_parent() -> None:
    """In the child before exec: have Linux stop Dovecot when the test process dies, even when killed."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _config(folder: Path, ssl_port: int, starttls_port: int) -> str:
    if os.geteuid() == 0:
        mail_user, login_user, internal_user = "nobody", "dovenull", "dovecot"
    else:
        mail_user = login_user = internal_user = pwd.getpwuid(os.geteuid()).pw_name
    mail_group = "nogroup" if mail_user == "nobody" else mail_user
    return f"""\
base_dir = {folder}/run
state_dir = {folder}/state
instance_name = bastidor-test-{ssl_port}
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_login_user = {login_user}
default_internal_user = {internal_user}
ssl = yes
ssl_cert = <{folder}/server.pem
ssl_key = <{folder}/server.key
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{folder}/mail/%u
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd/%u
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={folder}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {starttls_port}
  }}
  inet_listener imaps {{
    port = {ssl_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


def _wait_listening(server: Dovecot) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            output = (server.folder / "stderr.log").read_text(errors="replace").strip().splitlines()
            raise DovecotUnavailable(f"IMAP tests skipped: Dovecot could not start "
                                     f"({output[-1] if output else 'exit ' + str(server.process.returncode)}); "
                                     f"{INSTALL_HINT}")
        if all(_accepts(port) for port in (server.ssl_port, server.starttls_port)):
            return
        time.sleep(0.05)
    raise DovecotUnavailable(f"IMAP tests skipped: Dovecot did not listen within {START_TIMEOUT_S:.0f}s")


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
