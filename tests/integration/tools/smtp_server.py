#!/usr/bin/python3
"""A throw-away SMTP server (aiosmtpd) for certfleet's notification tests.

Requires STARTTLS (certificate --cert/--key) before anything else, accepts
AUTH only over TLS and only for --user with the password read from
--password-file, and appends every accepted message as one JSON line
({"mail_from", "rcpt_tos", "data", "login"}) to --out. Listens on 127.0.0.1
with an ephemeral port written to --port-file once ready; exits after
--lifetime seconds whatever happens.
"""
import argparse
import asyncio
import json
import os
import ssl

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--lifetime", type=float, default=30)
    args = ap.parse_args()
    with open(args.password_file, encoding="utf-8") as f:
        password = f.read().rstrip("\n").encode()

    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(args.cert, args.key)

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == args.user.encode()
              and auth_data.password == password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            data = session.auth_data
            login = data.login.decode() if isinstance(data, LoginPassword) else ""
            with open(args.out, "a", encoding="utf-8") as f:
                f.write(json.dumps({"mail_from": envelope.mail_from,
                                    "rcpt_tos": envelope.rcpt_tos,
                                    "data": envelope.content.decode("utf-8", "replace"),
                                    "login": login}) + "\n")
            return "250 OK"

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(Handler(), hostname="mail.test", require_starttls=True,
                         tls_context=tls, authenticator=authenticate, auth_required=True,
                         auth_require_tls=True),
            "127.0.0.1", 0)
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(server.sockets[0].getsockname()[1]))
        os.rename(tmp, args.port_file)
        await asyncio.sleep(args.lifetime)
        server.close()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
