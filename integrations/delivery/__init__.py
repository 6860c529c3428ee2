"""Alert delivery channels.

- In-app: the alert row itself, always; `alert.matched` / `alert.created` in the outbox pushes it
  to `alertReceived`. Nothing to send.
- E-mail (`email.py`): SMTP when `SMTP_URL` is set, else the message is written to the log.
- Webhooks (`webhook.py`): a JSON body signed with HMAC-SHA256, POSTed with httpx.

Message contents (subjects, bodies, webhook JSON) are made in `messages.py`.
"""
