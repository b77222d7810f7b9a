"""Customer list and search latency with many customers (keyset pages, prefix and phone search).

Loads N customers into a scratch database, then times the queries the Customers screen runs.
Usage: python bench/customer_list.py --customers 1000000 [--database sqlite|postgres://...]
"""

import argparse
import random
import time

from common import django_setup, results_write, timed


def load(workspace, n: int) -> float:
    from console.demo import REGIONS
    from console.models import Customer

    rng = random.Random(7)
    start = time.perf_counter()
    batch = []
    for i in range(n):
        first, last, languages, cities = REGIONS[i % len(REGIONS)]
        name = f"{rng.choice(first)} {rng.choice(last)}"
        batch.append(
            Customer(
                workspace=workspace,
                external_id=f"C{i:08d}",
                name=name,
                name_key=name.lower(),
                phone=f"+919{i:09d}",
                whatsapp=i % 3 != 0,
                language=rng.choice(languages),
                attributes={
                    "city": rng.choice(cities),
                    "lifetime_value": rng.randrange(100, 90000),
                },
            )
        )
        if len(batch) == 5000:
            Customer.objects.bulk_create(batch)
            batch = []
    Customer.objects.bulk_create(batch)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database", default="sqlite", help="sqlite or a postgres:// URL")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    django_setup(args.database)

    from console.models import Workspace
    from console.selectors import customer_page, customer_quick_search

    workspace = Workspace.objects.create(slug="bench", name="Bench")
    load_s = load(workspace, args.customers)
    from django.db import connection

    with connection.cursor() as cursor:  # what autovacuum would do shortly after a bulk load
        cursor.execute("ANALYZE")
    middle = args.customers // 2
    first = customer_page(workspace=workspace)
    cases = {
        "first page": lambda: customer_page(workspace=workspace),
        "next page": lambda: customer_page(workspace=workspace, after=first.next_after),
        "deep page (keyset)": lambda: customer_page(workspace=workspace, after=middle),
        "name prefix 'priya'": lambda: customer_page(workspace=workspace, text="priya"),
        "phone search": lambda: customer_page(workspace=workspace, text=f"9{middle:09d}"),
        "external id": lambda: customer_page(workspace=workspace, text=f"C{middle:08d}"),
        "attribute city=Pune": lambda: customer_page(
            workspace=workspace, attribute="city", value="Pune"
        ),
        "top-bar quick search": lambda: customer_quick_search(workspace=workspace, text="kavya"),
    }
    figures = {"load_seconds": round(load_s, 1)}
    print(f"{args.customers:,} customers loaded in {load_s:.1f}s")
    print(f"{'query':<28} {'median ms':>10} {'p95 ms':>9} {'max ms':>9}")
    for name, fn in cases.items():
        figures[name] = timed(fn, args.repeats)
        f = figures[name]
        print(f"{name:<28} {f['median_ms']:>10.2f} {f['p95_ms']:>9.2f} {f['max_ms']:>9.2f}")
    path = results_write("customer_list", vars(args), figures)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
