"""A throw-away Dovecot IMAP server on loopback for the e-mail tests and the benchmark.

Uses Debian's `dovecot-imapd` (apt-get install dovecot-imapd dovecot-lmtpd) with a private
configuration in a temporary folder: plaintext login on 127.0.0.1 only, Maildir storage, one
passwd-file user. Its post-install does not start the system service and nothing here touches it.
Runs as root (mail stored as `nobody`) or as an ordinary user (everything as that user).

    python tests/imapserver.py start DIR [PORT]   -> prints host:port user password, runs in the background
    python tests/imapserver.py stop DIR
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

USER = "helpdesk@test.example.go.th"
PASSWORD = "imap-test-password"


def find_dovecot() -> str | None:
    return shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CONFIG = """\
base_dir = {base}/run
state_dir = {base}/state
instance_name = helpdesk-test-{port}
listen = 127.0.0.1
protocols = imap
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {base}/dovecot.log
mail_location = maildir:{base}/mail/%u
first_valid_uid = {first_uid}
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
mail_max_userip_connections = 50
imap_max_line_length = 256k
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={base}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
"""


class ImapServer:
    def __init__(self, base: Path | None = None, port: int | None = None, *, cert: Path | None = None,
                 key: Path | None = None) -> None:
        """With `cert` and `key` (PEM), STARTTLS is offered on `port` and implicit TLS listens on `tls_port`."""
        binary = find_dovecot()
        if binary is None:
            raise RuntimeError("dovecot is not installed (apt-get install dovecot-imapd dovecot-lmtpd)")
        self.binary = binary
        self.base = base or Path(tempfile.mkdtemp(prefix="helpdesk-imap-"))
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.user = USER
        self.password = PASSWORD
        self.cert, self.key = cert, key
        self.tls_port = free_port() if cert else 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def conf(self) -> Path:
        return self.base / "dovecot.conf"

    def start(self) -> ImapServer:
        self.base.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o755)
        (self.base / "mail").mkdir(exist_ok=True)
        if os.geteuid() == 0:
            mail_user = pwd.getpwnam("nobody")
            uid, gid = mail_user.pw_uid, mail_user.pw_gid
            login_user, internal_user, internal_group = "dovenull", "dovecot", "dovecot"
            os.chown(self.base / "mail", uid, gid)
        else:
            me = pwd.getpwuid(os.geteuid())
            uid, gid = me.pw_uid, me.pw_gid
            login_user = internal_user = me.pw_name
            internal_group = me.pw_name
        (self.base / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}\n", encoding="utf-8")
        os.chmod(self.base / "passwd", 0o644)
        ssl = (f"ssl = yes\nssl_cert = <{self.cert}\nssl_key = <{self.key}\nssl_min_protocol = TLSv1.2"
               if self.cert else "ssl = no")
        self.conf.write_text(CONFIG.format(base=self.base, port=self.port, tls_port=self.tls_port, ssl=ssl, uid=uid,
                                           gid=gid, first_uid=min(uid, 100),
                                           login_user=login_user, internal_user=internal_user,
                                           internal_group=internal_group), encoding="utf-8")
        self.proc = subprocess.Popen([self.binary, "-F", "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=open(self.base / "stderr.log", "wb"), start_new_session=True)  # noqa: SIM115
        (self.base / "master.pid").write_text(str(self.proc.pid))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self._logs()}")
            try:
                with imaplib.IMAP4(self.host, self.port, timeout=2) as im:
                    im.login(self.user, self.password)
                    im.logout()
                return self
            except (OSError, imaplib.IMAP4.error):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"dovecot did not start: {self._logs()}")

    def _logs(self) -> str:
        out = []
        for name in ("stderr.log", "dovecot.log"):
            p = self.base / name
            if p.exists():
                out.append(p.read_text(errors="replace")[-2000:])
        return "\n".join(out)

    def stop(self) -> None:
        pid = self.proc.pid if self.proc is not None else None
        if pid is None and (self.base / "master.pid").exists():
            pid = int((self.base / "master.pid").read_text())
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
            if self.proc is not None:
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(pid, signal.SIGKILL)
                    self.proc.wait()
        shutil.rmtree(self.base, ignore_errors=True)

    # ------------------------------------------------------------------ test helpers
    def client(self) -> imaplib.IMAP4:
        im = imaplib.IMAP4(self.host, self.port, timeout=30)
        im.login(self.user, self.password)
        return im

    def env(self, mailbox: str = "INBOX") -> dict[str, str]:
        return {"IMAP_HOST": self.host, "IMAP_PORT": str(self.port), "IMAP_USER": self.user,
                "IMAP_PASSWORD": self.password, "IMAP_MAILBOX": mailbox}


if __name__ == "__main__":
    action, folder = sys.argv[1], Path(sys.argv[2])
    if action == "start":
        server = ImapServer(folder, int(sys.argv[3]) if len(sys.argv) > 3 else None).start()
        server.proc = None  # keep it running after we exit
        print(f"{server.host}:{server.port} {server.user} {server.password}")
    else:
        ImapServer(folder).stop()
