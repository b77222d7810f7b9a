"""Webhooks over HTTP (issue 8, workload 7): signed status callbacks/s absorbed by a real daphne,
with duplicates and statuses out of order, and a check of every message's final status after.

A daphne child process serves the console against a scratch database (SQLite file or
PostgreSQL) holding a Twilio and a Meta (WhatsApp Cloud) account and, per repeat, --messages
messages already sent (status "sent", each with its provider id), half SMS through Twilio, half
WhatsApp through Meta. The callbacks a provider would send for them are then fired over HTTP,
--concurrency at a time:
  - Twilio: form posts signed with X-Twilio-Signature: sent, then delivered (10 %: undelivered);
  - Meta: JSON signed with X-Hub-Signature-256: sent, delivered and (70 %) read; for a quarter of
    the read ones, read comes BEFORE delivered (out of order); a message's callbacks are adjacent
    in the stream, so they are in flight at the same time, as a provider's often are;
  - --duplicates (10 %) of the callbacks are sent a second time, byte for byte, later on.
Afterwards each message's status is compared with the one its callbacks imply (delivered /
undelivered / read), its outcome events are counted (one per status it reached: sent, delivered,
read or undelivered; "sent" may be dropped when undelivered overtook it), and statuses parked as "message unknown" are counted: all must be zero.

Usage:
  python bench/webhooks_http.py --database sqlite,postgresql://postgres@127.0.0.1:5432/sangam_bench_load
  python bench/webhooks_http.py --messages 300 --repeats 1                  # quick
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from dataclasses import dataclass

from common import ROOT, results_write, spread
from loadgen import (
    argv_replace,
    child_run,
    closed_loop,
    database_label,
    http_client,
    latency_ms,
    postgres_ensure,
    profile_start,
    profile_stop,
    profile_top,
    result_print,
    server_start,
)

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/sangam_bench_load"
TWILIO_SID, TWILIO_TOKEN = "AC" + "b" * 32, "bench-twilio-token"
META_SECRET, META_PHONE_ID = "bench-meta-app-secret", "1234567890"


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database", default="sqlite", help=f"comma-separated: sqlite, {PG_DEFAULT}"
    )
    parser.add_argument("--messages", type=int, default=1000, help="messages per repeat")
    parser.add_argument("--concurrency", type=int, default=8, help="callbacks in flight")
    parser.add_argument("--duplicates", type=float, default=0.10, help="share sent twice")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--profile", default="", help="py-spy the server into this folder")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


# --- data ---------------------------------------------------------------------------------------


@dataclass
class Callback:
    message_key: str
    path: str
    body: bytes
    headers: dict[str, str]


def seed_accounts() -> tuple:
    from channels_app.providers_console.services import provider_account_save
    from console.models import Workspace

    workspace = Workspace.objects.create(slug="hooks", name="Webhook bench")
    twilio = provider_account_save(workspace=workspace, kind="twilio", name="Twilio bench",
                                   credentials={"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN,
                                                "sms_from": "+15005550006"})  # fmt: skip
    meta = provider_account_save(workspace=workspace, kind="meta", name="Meta bench",
                                 credentials={"access_token": "bench-token", "app_secret": META_SECRET,
                                              "phone_number_id": META_PHONE_ID, "verify_token": "bench"})  # fmt: skip
    return workspace, twilio, meta


def seed_messages(workspace, twilio, meta, repeat: int, count: int) -> list:
    """``count`` sent messages (even: SMS via Twilio, odd: WhatsApp via Meta), 4 per customer."""
    from channels_app.models.outbox import Message
    from console.models import Customer

    customers = Customer.objects.bulk_create(
        Customer(
            workspace=workspace,
            external_id=f"W{repeat}-{i:06d}",
            name=f"Hook {i}",
            phone=f"+9191{repeat}{i:07d}",
            whatsapp=True,
        )  # fmt: skip
        for i in range((count + 3) // 4)
    )
    if customers[0].pk is None:  # backends without RETURNING on bulk insert
        customers = list(
            Customer.objects.filter(external_id__startswith=f"W{repeat}-").order_by("id")
        )
    rows = []
    for i in range(count):
        sms = i % 2 == 0
        customer = customers[i // 4]
        rows.append(Message(
            workspace=workspace, customer=customer, channel="sms" if sms else "whatsapp",
            provider_kind="twilio" if sms else "meta", purpose="service",
            template_key="bench", idempotency_key=f"bench:{repeat}:{i}", status="sent",
            provider_account=twilio if sms else meta, to_number=customer.phone,
            provider_id=(f"SM{repeat:02d}{i:030d}" if sms else f"wamid.bench{repeat}.{i}"),
            decision_action="send",
        ))  # fmt: skip
    Message.objects.bulk_create(rows, batch_size=2000)
    return list(Message.objects.filter(idempotency_key__startswith=f"bench:{repeat}:"))


def _twilio(base: str, account_id: int, sid: str, to: str, status: str) -> tuple[str, bytes, dict]:
    from urllib.parse import urlencode

    from channels_app.providers.twilio import twilio_signature

    path = f"/webhooks/twilio/{account_id}/status/"
    form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": TWILIO_SID, "MessageStatus": status,
            "SmsStatus": status, "To": to, "From": "+15005550006", "ApiVersion": "2010-04-01"}  # fmt: skip
    if status == "undelivered":
        form["ErrorCode"] = "30003"
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "X-Twilio-Signature": twilio_signature(base + path, form, TWILIO_TOKEN)}  # fmt: skip
    return path, urlencode(form).encode(), headers


def _meta(account_id: int, wamid: str, to: str, status: str, at: int) -> tuple[str, bytes, dict]:
    from channels_app.providers.meta import meta_signature

    item = {"id": wamid, "status": status, "timestamp": str(at), "recipient_id": to.lstrip("+")}
    if status in ("delivered", "read"):
        item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "utility"}
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "WABA-1", "changes": [
        {"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": {
            "display_phone_number": "919800000000", "phone_number_id": META_PHONE_ID},
            "statuses": [item]}}]}]}).encode()  # fmt: skip
    headers = {"Content-Type": "application/json",
               "X-Hub-Signature-256": meta_signature(body, META_SECRET)}  # fmt: skip
    return f"/webhooks/meta/{account_id}/", body, headers


def plan(base: str, messages: list, twilio_id: int, meta_id: int, duplicates: float, rng) -> tuple:
    """The callbacks to send (in order) and each message's expected final status and events."""
    stream: list[Callback] = []
    expected: dict[str, tuple[str, tuple[int, ...]]] = {}
    at = int(time.time())
    for message in sorted(messages, key=lambda m: m.pk):
        if message.channel == "sms":
            final = "undelivered" if rng.random() < 0.10 else "delivered"
            statuses = ["sent", final]
            make = lambda s, m=message: _twilio(base, twilio_id, m.provider_id, m.to_number, s)  # noqa: E731
        else:
            final = "read" if rng.random() < 0.70 else "delivered"
            statuses = ["sent", "delivered"] + (["read"] if final == "read" else [])
            if final == "read" and rng.random() < 0.25:
                statuses = ["sent", "read", "delivered"]  # out of order
            make = lambda s, m=message: _meta(meta_id, m.provider_id, m.to_number, s, at)  # noqa: E731
        # The messages are seeded "sent", as the dispatcher leaves them (it reported "sent"
        # itself): a status is reported once, when first reached, so the callbacks' own events
        # are the statuses past "sent" (a late "delivered" after "read" was implied by it).
        events = {"read": (2,), "delivered": (1,), "undelivered": (1,)}[final]
        expected[message.idempotency_key] = (final, events)
        for status in statuses:
            path, body, headers = make(status)
            stream.append(Callback(message.idempotency_key, path, body, headers))
    for original in rng.sample(stream, int(len(stream) * duplicates)):
        # Redelivered later: somewhere after the original, byte for byte.
        index = stream.index(original)
        stream.insert(rng.randint(index + 1, len(stream)), original)
    return stream, expected


def verify(expected: dict[str, tuple[str, tuple[int, ...]]]) -> dict:
    from django.db.models import Count

    from channels_app.models.outbox import Message, PendingStatus
    from console.models import Event

    keys = list(expected)
    rows = dict(
        Message.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", "status")
    )
    ids = dict(
        Message.objects.filter(idempotency_key__in=keys).values_list("id", "idempotency_key")
    )
    events = {ids[int(r["properties__message_id"])]: r["n"] for r in Event.objects.filter(
        source="channel", properties__message_id__in=list(ids)).values(
        "properties__message_id").annotate(n=Count("id"))}  # fmt: skip
    wrong = {k: (rows.get(k), want) for k, (want, _) in expected.items() if rows.get(k) != want}
    event_wrong = sum(events.get(k, 0) not in counts for k, (_, counts) in expected.items())
    return {
        "messages": len(expected), "status_mismatches": len(wrong),
        "status_mismatch_examples": dict(list(wrong.items())[:5]),
        "event_count_mismatches": event_wrong, "parked": PendingStatus.objects.count(),
    }  # fmt: skip


# --- one database (a child process) -------------------------------------------------------------


async def fire(base: str, stream: list[Callback], concurrency: int):
    async with http_client(base, concurrency) as client:

        async def send(index: int) -> int:
            callback = stream[index]
            response = await client.post(
                callback.path, content=callback.body, headers=callback.headers
            )
            return response.status_code

        return await closed_loop(send, len(stream), concurrency)


def run_one(args) -> dict:
    from common import django_setup

    os.environ.setdefault("BENCH_SQLITE", "bench-webhooks.sqlite3")
    if args.database != "sqlite":
        postgres_ensure(args.database)
    django_setup(args.database)
    from django.db import connection

    workspace, twilio, meta = seed_accounts()
    batches = [
        seed_messages(workspace, twilio, meta, r, args.messages) for r in range(args.repeats)
    ]
    connection.close()
    server = server_start(name="webhooks")
    rng = random.Random(args.seed)
    runs = []
    try:
        for repeat, messages in enumerate(batches):
            stream, expected = plan(server.base, messages, twilio.pk, meta.pk, args.duplicates, rng)
            spy = raw = None
            if args.profile and repeat == 0:
                from pathlib import Path

                Path(args.profile).mkdir(parents=True, exist_ok=True)
                raw = Path(args.profile) / f"webhooks-{database_label(args.database)}.txt"
                spy = profile_start(server.proc.pid, 3600, raw)
            cpu = server.cpu_seconds()
            outcome = asyncio.run(fire(server.base, stream, args.concurrency))
            server_cpu = server.cpu_seconds() - cpu
            if spy is not None:
                profile_stop(spy)
            ok = outcome.statuses.get(200, 0)
            run = {
                "callbacks": len(stream), "ok": ok, "failures": outcome.failures,
                "statuses": {str(k): v for k, v in outcome.statuses.items()},
                "elapsed_s": round(outcome.elapsed, 3),
                "callbacks_per_s": round(ok / outcome.elapsed, 1),
                "latency": latency_ms(outcome.latencies),
                "server_cpu_s": round(server_cpu, 2), "client_cpu_s": round(outcome.client_cpu, 2),
                "check": verify(expected),
            }  # fmt: skip
            if raw is not None:
                run["profile"] = {"file": str(raw), "top": profile_top(raw)}
            runs.append(run)
            _print_run(args, repeat, run)
    finally:
        server.stop()
    return {"runs": runs, "summary": {
        "callbacks_per_s": spread([r["callbacks_per_s"] for r in runs]),
        "p50_ms": spread([r["latency"]["p50_ms"] for r in runs]),
        "p99_ms": spread([r["latency"]["p99_ms"] for r in runs]),
        "status_mismatches": sum(r["check"]["status_mismatches"] for r in runs),
        "event_count_mismatches": sum(r["check"]["event_count_mismatches"] for r in runs),
        "non_200": sum(r["callbacks"] - r["ok"] for r in runs),
    }}  # fmt: skip


def _print_run(args, repeat: int, run: dict) -> None:
    c = run["check"]
    print(f"{database_label(args.database)} #{repeat + 1}: {run['callbacks']:,} callbacks for "
          f"{c['messages']:,} messages in {run['elapsed_s']:.1f}s: {run['callbacks_per_s']:,.0f}/s, "
          f"p50 {run['latency']['p50_ms']} ms, p99 {run['latency']['p99_ms']} ms | "
          f"wrong final status {c['status_mismatches']}, wrong event count "
          f"{c['event_count_mismatches']}, parked {c['parked']} | statuses {run['statuses']} | "
          f"cpu s server/client {run['server_cpu_s']}/{run['client_cpu_s']}", flush=True)  # fmt: skip
    if c["status_mismatches"]:
        print(f"    e.g. (got, expected): {c['status_mismatch_examples']}", flush=True)


# --- the suite ----------------------------------------------------------------------------------


def main() -> None:
    args = _args()
    if args.one:
        result_print(run_one(args))
        return
    figures = {}
    for database in args.database.split(","):
        arguments = argv_replace(sys.argv[1:], "--database", database)
        figures[database_label(database)] = child_run(
            ROOT / "bench" / "webhooks_http.py", arguments
        )
    print(f"\nStatus callbacks over HTTP (daphne, 1 process, {args.concurrency} in flight), "
          f"median of {args.repeats} (min-max):")  # fmt: skip
    print(f"{'database':<11} {'callbacks/s':>22} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'wrong status':>13} {'wrong events':>13} {'non-200':>8}")  # fmt: skip
    for label, result in figures.items():
        s = result["summary"]
        c = s["callbacks_per_s"]
        print(f"{label:<11} {c['median']:>8,.0f} ({c['min']:,.0f}-{c['max']:,.0f}) "
              f"{s['p50_ms']['median']:>8} {s['p99_ms']['median']:>8} {s['status_mismatches']:>13} "
              f"{s['event_count_mismatches']:>13} {s['non_200']:>8}")  # fmt: skip
    from common import django_connect

    django_connect(args.database.split(",")[0])
    print(f"results: {results_write('webhooks_http', vars(args), figures)}")


if __name__ == "__main__":
    main()
