"""Builder: save and validate a 200-node journey draft on the server (the canvas's autosave).

Builds a chain of N nodes (trigger, then alternating waits and SMS sends, then an exit), and
times `builder_draft_save`: parse, revision check, validation of every node and template, write.
Usage: python bench/builder_save.py [--nodes 200] [--repeats 30] [--database sqlite|postgres://...]
"""

import argparse

from common import django_setup, results_write, timed


def chain(nodes: int) -> dict:
    graph = {
        "format": 1,
        "nodes": [{"id": "start", "kind": "trigger.event", "config": {"event": "order.placed"}}],
        "edges": [],
    }
    previous, port = "start", "out"
    for i in range(nodes - 2):
        if i % 2 == 0:
            node = {"id": f"w{i}", "kind": "wait", "config": {"mode": "duration", "hours": 1}}
            next_port = "out"
        else:
            node = {
                "id": f"s{i}",
                "kind": "send",
                "config": {
                    "channel": "sms",
                    "template": "order_confirmation_sms",
                    "purpose": "transactional",
                },
            }
            next_port = "sent"
        graph["nodes"].append(node)
        graph["edges"].append({"from": previous, "port": port, "to": node["id"]})
        previous, port = node["id"], next_port
    graph["nodes"].append({"id": "end", "kind": "exit", "config": {"reason": "done"}})
    graph["edges"].append({"from": previous, "port": port, "to": "end"})
    return graph


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--database", default="sqlite", help="sqlite or a postgres:// URL")
    args = parser.parse_args()
    django_setup(args.database)

    from channels_app.tmpl.demo import demo_templates_seed
    from console.models import Workspace
    from journeys.builder.services import builder_draft_save
    from journeys.services import journey_create

    workspace = Workspace.objects.create(slug="bench", name="Bench")
    demo_templates_seed(workspace)
    journey = journey_create(workspace=workspace, name="Bench builder")
    graph = chain(args.nodes)
    state = {"revision": journey.draft_revision}

    def save():
        journey.refresh_from_db()
        result = builder_draft_save(journey=journey, graph=graph, revision=journey.draft_revision)
        state["revision"] = getattr(result, "revision", state["revision"])

    save()  # warm the caches a running server would have
    figures = {"save_and_validate": timed(save, args.repeats)}
    f = figures["save_and_validate"]
    print(
        f"{args.nodes}-node draft: save + validation median {f['median_ms']:.1f} ms, "
        f"p95 {f['p95_ms']:.1f} ms, max {f['max_ms']:.1f} ms (goal: under 300 ms)"
    )
    print(f"results: {results_write('builder_save', vars(args), figures)}")


if __name__ == "__main__":
    main()
