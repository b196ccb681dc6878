#!/usr/bin/env python3
"""A Git smart-HTTP server for the bare repositories under one directory, on loopback.

Flux's source-controller clones only over HTTP(S) or SSH, so the demo, the benchmarks and the Flux tests serve
their local bare repositories with it. Each request runs `git http-backend`, Git's own CGI program, so the
protocol is Git's, not an imitation. Read-only: pushes go to the repositories' paths directly. Any basic-auth
credential is accepted (the clients under test send one, as they would to a real host).

Usage: git-http.py ROOT [--listen 127.0.0.1:0]. Prints `listening on http://ADDRESS` once it serves.
"""

import argparse
import os
import shutil
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class GitHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    root = ""
    git = "git"

    def do_GET(self):
        self.backend()

    def do_POST(self):
        self.backend()

    def backend(self):
        url = urlsplit(self.path)
        if "git-receive-pack" in url.path or url.query == "service=git-receive-pack":
            self.send_error(403, "this server is read-only: push to the repository's path")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "GIT_PROJECT_ROOT": self.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": url.path,
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
        }
        for header, variable in (("Content-Encoding", "HTTP_CONTENT_ENCODING"), ("Git-Protocol", "GIT_PROTOCOL")):
            if self.headers.get(header):
                environment[variable] = self.headers[header]
        result = subprocess.run(
            [self.git, "http-backend"], input=body, env=environment, capture_output=True, check=False
        )
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = result.stdout.partition(b"\n\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name, value.strip()))
        if result.returncode != 0 and not headers:
            self.send_error(500, result.stderr.decode(errors="replace")[-200:])
            return
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):
        if os.environ.get("GIT_HTTP_LOG"):
            sys.stderr.write("git-http: " + (format % args) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="the directory holding the bare repositories")
    parser.add_argument("--listen", default="127.0.0.1:0", help="address to listen on (default 127.0.0.1:0)")
    args = parser.parse_args()
    host, _, port = args.listen.rpartition(":")
    GitHandler.root = os.path.abspath(args.root)
    GitHandler.git = shutil.which("git") or "git"
    server = ThreadingHTTPServer((host, int(port)), GitHandler)
    server.daemon_threads = True
    print(f"listening on http://{host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
