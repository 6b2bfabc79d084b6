"""A real Kannel on 127.0.0.1: bearerbox, smsbox and the fakesmsc test SMSC, with a config
generated per test run on free ports (template: the loopback config from a run that worked).

fakesmsc plays the operator: a line written to its stdin is a message from a phone, and
every message Kannel delivers shows up in its output as `Got message N: <from to type …>`.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote_to_bytes

import httpx

from tests.conftest import free_port
from zhiyan.channels.sms import gsm

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
INSTALL_HINT = ("Kannel is not installed: run `sudo bash scripts/install-system-deps.sh` "
                "(or `make test`, which runs it) to install kannel and kannel-extras")

CONFIG = """\
group = core
admin-port = {admin}
admin-interface = 127.0.0.1
admin-password = adminpw
status-password = statuspw
admin-allow-ip = "127.0.0.1"
smsbox-port = {smsbox}
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
box-deny-ip = "*.*.*.*"
admin-deny-ip = "*.*.*.*"
log-file = "{dir}/bearerbox.log"
log-level = 0
access-log = "{dir}/access.log"
store-type = file
store-location = "{dir}/kannel.store"
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = FAKE
port = {smsc}
our-host = 127.0.0.1
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {smsbox}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
mo-recode = true
log-file = "{dir}/smsbox.log"
log-level = 0
access-log = "{dir}/smsbox-access.log"

group = sendsms-user
username = zhiyan
password = testpw
user-allow-ip = "127.0.0.1"
concatenation = true
max-messages = 10

group = sms-service
keyword = default
{inbound}
catch-all = true
omit-empty = true
accept-x-kannel-headers = true
max-messages = 10
concatenation = true
"""

#: how the sms-service hands a message to zhiyan: parameters in the URL, or the text as a
#: POST body with the numbers in X-Kannel-* headers
INBOUND = {
    "get": 'get-url = "{webhook}?from=%p&to=%P&text=%a&id=%I&coding=%c&charset=%C"',
    "post": 'post-url = "{webhook}?id=%I"\nsend-sender = true',
}

_GOT = re.compile(r"Got message \d+: <(\S+) (\S+) (.*)>\s*$")


@dataclass
class Delivered:
    """A message fakesmsc received from Kannel (one SMS part)."""

    sender: str
    to: str
    text: str
    #: (reference, total, sequence) of a concatenated part, else None
    part: tuple[int, int, int] | None


def _decode(kind: str, data: str) -> str:
    raw = unquote_to_bytes(data.replace("+", " "))
    if kind in ("ucs-2", "ucs2"):
        return raw.decode("utf-16-be")
    return raw.decode("latin-1")


def parse_line(line: str) -> Delivered | None:
    match = _GOT.search(line)
    if match is None:
        return None
    sender, to, rest = match.groups()
    fields = rest.split(" ", 3)
    part = None
    if fields[0] == "udh":
        udh = unquote_to_bytes(fields[1])
        if len(udh) >= 6 and udh[1] == 0:
            part = (udh[3], udh[4], udh[5])
        return Delivered(sender, to, _decode(fields[2], fields[3] if len(fields) > 3 else ""),
                         part)
    kind, _, data = rest.partition(" ")
    return Delivered(sender, to, _decode(kind, data), part)


def installed() -> bool:
    return all(Path(p).exists() for p in (BEARERBOX, SMSBOX, FAKESMSC))


def _wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


class KannelPeer:
    """Ports are chosen at construction (so the app can be configured with `sendsms_url`);
    set `webhook` (zhiyan's Kannel inbound URL) before entering."""

    def __init__(self, workdir: Path, inbound: str = "get") -> None:
        self.dir = workdir
        self.inbound = inbound
        self.ports = {name: free_port() for name in ("admin", "smsbox", "smsc", "sendsms")}
        self.sendsms_url = f"http://127.0.0.1:{self.ports['sendsms']}/cgi-bin/sendsms"
        self.conf = workdir / "kannel.conf"
        self.out = workdir / "fakesmsc.out"
        self.webhook = ""
        self.sent = 0
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> KannelPeer:
        service = INBOUND[self.inbound].format(webhook=self.webhook)
        self.conf.write_text(CONFIG.format(dir=self.dir, inbound=service, **self.ports))
        log = (self.dir / "boxes.out").open("ab")
        self.procs.append(subprocess.Popen([BEARERBOX, "-v", "0", str(self.conf)],
                                           stdout=log, stderr=log, cwd=self.dir))
        _wait_port(self.ports["smsbox"])
        self.procs.append(subprocess.Popen([SMSBOX, "-v", "0", str(self.conf)],
                                           stdout=log, stderr=log, cwd=self.dir))
        _wait_port(self.ports["sendsms"])
        self.fake = subprocess.Popen(
            [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.ports["smsc"]), "-i", "0"],
            stdin=subprocess.PIPE, stdout=self.out.open("wb"), stderr=subprocess.STDOUT,
            cwd=self.dir,
        )
        self.procs.append(self.fake)
        deadline = time.monotonic() + 15
        while "online" not in self.status():
            if time.monotonic() > deadline:
                raise RuntimeError("the fake SMSC did not come online:\n" + self.status())
            time.sleep(0.2)
        return self

    def status(self) -> str:
        try:
            return httpx.get(f"http://127.0.0.1:{self.ports['admin']}/status.txt",
                             params={"password": "statuspw"}, timeout=2).text
        except httpx.HTTPError:
            return ""

    def mobile_sends(self, sender: str, to: str, text: str) -> None:
        """A phone sends `text`: GSM-7 when it can be, else UCS-2 (UTF-16BE, %-escaped)."""
        if gsm.encoding_of(text) == "GSM-7":
            line = f"{sender} {to} text {text}\n"
        else:
            line = f"{sender} {to} ucs2 {quote(text.encode('utf-16-be'), safe='')}\n"
        assert self.fake.stdin is not None
        self.sent += 1
        self.fake.stdin.write(line.encode())
        self.fake.stdin.flush()
        # fakesmsc takes one line per read: wait until it has sent this one
        deadline = time.monotonic() + 10
        while f"sent message {self.sent}\n" not in self.out.read_text(errors="replace"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"fakesmsc did not send message {self.sent}")
            time.sleep(0.05)

    def delivered(self) -> list[Delivered]:
        lines = self.out.read_text(encoding="utf-8", errors="replace").splitlines()
        return [d for d in (parse_line(line) for line in lines) if d is not None]

    def __exit__(self, *exc: object) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
