"""SMTP sink of the lab: stands in for the on-call's mailbox behind Alertmanager's email receiver. Every message
is kept as an .eml file under /var/lib/redfire-sinks/mail/ and summarised (time, from, to, subject) as one JSON
line in /var/lib/redfire-sinks/mail.jsonl."""
import email
import email.policy
import json
import os
import time

from aiosmtpd.controller import Controller

from sink_args import parse_sink_args


class Sink:
    def __init__(self, directory, index):
        self.directory = directory
        self.index = index

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        now = time.time()
        name = os.path.join(self.directory, "%.6f.eml" % now)
        with open(name, "wb") as fh:
            fh.write(envelope.original_content or envelope.content)
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with open(self.index, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"received_at": now, "from": envelope.mail_from, "to": envelope.rcpt_tos,
                                 "subject": str(msg.get("Subject", "")), "file": name}, ensure_ascii=False) + "\n")
        return "250 Message accepted"


def main():
    args, host, port = parse_sink_args(__doc__, "127.0.0.1:2525", "--dir", "/var/lib/redfire-sinks",
                                       "directory of mail/ and mail.jsonl")
    mail_dir = os.path.join(args.dir, "mail")
    os.makedirs(mail_dir, exist_ok=True)
    controller = Controller(Sink(mail_dir, os.path.join(args.dir, "mail.jsonl")), hostname=host, port=port)
    controller.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
