"""A real SMTP server for quotad's integration tests (aiosmtpd==1.4.6, see .ci/run).

Listens on 127.0.0.1:PORT with STARTTLS (or implicit TLS, or plain), requires AUTH
after TLS for the one login given, and writes each message atomically as
DIR/new/<time>-<uuid>.eml plus a .json envelope (mail_from, rcpt_tos, tls, auth,
login). Recipients starting with --reject-prefix get a permanent 550; --reject-rcpt ADDR
(repeatable) refuses that address with a 550 every time, --defer-rcpt ADDR (repeatable)
with a 450 the first time it is offered and accepts it afterwards. For crash
tests, --hold-rcpt ADDR delays the reply to RCPT TO:<ADDR>, and --hold-reply ADDR
stores the message to ADDR and then delays its 250, the first time only, each after
writing DIR/holding-rcpt or DIR/holding-reply so the test knows when, for
--hold-seconds (default 5). The password
comes from the environment variable SMTP_SINK_PASSWORD. Prints "READY 127.0.0.1:PORT"
once it accepts connections; runs until killed.
"""
import argparse, asyncio, json, os, ssl, sys, time, uuid, warnings

warnings.simplefilter("ignore")  # "AUTH without TLS": implicit TLS is TLS, and "none" is a loopback relay

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult
except ImportError:
    sys.exit("aiosmtpd is missing: python3 -m venv .venv-smtp && .venv-smtp/bin/pip install -r tests/smtp-requirements.txt")

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--dir", required=True)
p.add_argument("--cert", required=True)
p.add_argument("--key", required=True)
p.add_argument("--user", required=True)
p.add_argument("--tls", choices=["starttls", "implicit", "none"], default="starttls")
p.add_argument("--reject-prefix", default="reject-")
p.add_argument("--reject-rcpt", action="append", default=[])
p.add_argument("--defer-rcpt", action="append", default=[])
p.add_argument("--hold-rcpt", default="")
p.add_argument("--hold-reply", default="")
p.add_argument("--hold-seconds", type=float, default=5.0)
a = p.parse_args()
password = os.environ["SMTP_SINK_PASSWORD"].encode()
for sub in ("new", "tmp"):
    os.makedirs(os.path.join(a.dir, sub), exist_ok=True)


held = set()
deferred = set()


async def hold(kind, address):
    if address == getattr(a, "hold_" + kind) and kind not in held:
        held.add(kind)
        open(os.path.join(a.dir, "holding-" + kind), "w").close()
        await asyncio.sleep(a.hold_seconds)


class Sink:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await hold("rcpt", address)
        if address.startswith(a.reject_prefix) or address in a.reject_rcpt:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if address in a.defer_rcpt and address not in deferred:
            deferred.add(address)
            return "450 4.2.1 <%s>: mailbox busy, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        name = "%.6f-%s" % (time.time(), uuid.uuid4().hex)
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                "tls": session.ssl is not None or a.tls == "implicit",  # implicit TLS: every session
                "auth": bool(session.authenticated), "login": (session.auth_data or b"").decode()}
        for ext, data in ((".eml", envelope.original_content), (".json", json.dumps(meta).encode())):
            tmp = os.path.join(a.dir, "tmp", name + ext)
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, os.path.join(a.dir, "new", name + ext))
        await hold("reply", envelope.rcpt_tos[0])
        return "250 2.0.0 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == a.user.encode() and auth_data.password == password
    return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(a.cert, a.key)
kw = dict(hostname="127.0.0.1", port=a.port, authenticator=authenticator, auth_required=True)
if a.tls == "starttls":
    kw.update(tls_context=ctx, require_starttls=True, auth_require_tls=True)
elif a.tls == "implicit":
    kw.update(ssl_context=ctx, auth_require_tls=False)
else:  # a local relay: plain text, AUTH all the same
    kw.update(auth_require_tls=False)
controller = Controller(Sink(), **kw)
controller.start()
print("READY 127.0.0.1:%d" % a.port, flush=True)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    controller.stop()
