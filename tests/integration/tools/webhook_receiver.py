#!/usr/bin/python3
"""A throw-away webhook receiver for certfleet's notification tests.

Listens on 127.0.0.1 (ephemeral port, written to --port-file once ready),
appends one JSON line per request ({"method", "path", "headers", "body"}) to
--out, answers with the statuses given by --statuses in turn (the last one
repeats) and exits after --lifetime seconds whatever happens, so a test that
dies never leaves it behind for long.
"""
import argparse
import http.server
import json
import os
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--statuses", default="200")
    ap.add_argument("--retry-after", default="")
    ap.add_argument("--lifetime", type=float, default=30)
    args = ap.parse_args()
    statuses = [int(s) for s in args.statuses.split(",")]
    served = [0]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = min(int(self.headers.get("Content-Length", "0")), 1 << 20)
            body = self.rfile.read(length).decode("utf-8", "replace")
            with open(args.out, "a", encoding="utf-8") as f:
                f.write(json.dumps({"method": "POST", "path": self.path,
                                    "headers": {k.lower(): v for k, v in self.headers.items()},
                                    "body": body}) + "\n")
            status = statuses[min(served[0], len(statuses) - 1)]
            served[0] += 1
            reply = b"ok" if status < 300 else b"no"
            self.send_response(status)
            if status == 429 and args.retry_after:
                self.send_header("Retry-After", args.retry_after)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *_):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    server.timeout = 0.2
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    deadline = time.monotonic() + args.lifetime
    while time.monotonic() < deadline:
        server.handle_request()


if __name__ == "__main__":
    main()
