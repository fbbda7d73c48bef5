"""The callback receiver of docs/callbacks.md: checks the signature, prints one line per event.

Run it with the venv's Python (``rtcconsole.callbacks`` is pure, standard library only):
``.venv/bin/python examples/receiver.py [PORT]``, then ``rtcctl config callback ID --key
YourCallbackKey --room-url http://127.0.0.1:9000/room --media-url http://127.0.0.1:9000/media``.
It listens on loopback only; the server must run with ``--callback-allow-loopback`` to reach it.
"""

import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from rtcconsole.callbacks import parse_event, verify_signature

KEY = "YourCallbackKey"  # the app's callback key


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if not verify_signature(KEY, body, self.headers.get("Sign", "")):
            return self.send_error(401)
        event = parse_event(body)  # typed: event_id, room_seq, event_type, room_id, user_id, ...
        print(event.event_id, event.room_seq, event.type_name, event.room_id, event.user_id, flush=True)
        self.send_response(200)  # answer within 5 s; do slow work elsewhere
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # one line per event is enough
        pass


port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
server = HTTPServer(("127.0.0.1", port), Receiver)
print(f"listening on 127.0.0.1:{server.server_port}", flush=True)
server.serve_forever()
