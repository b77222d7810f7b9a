"""Start-up registrations of the journey engine into console's registries (imported from
JourneysConfig.ready): the events listener, the live topic check, the customer timeline source
and panel, the API router, the demo seeder, the inbound IVR's caller context, and the periodic
schedules after migrate."""

from console.consumers import topic_check_register
from console.demo import demo_seeder_register
from console.schedules import schedule_register
from console.services import events_committed_register
from console.timeline import timeline_source_register
from journeys.demo import demo_journeys_seed
from journeys.tasks import events_committed
from journeys.timeline import journey_step_entries


def _journey_in_workspace(workspace_id: int, ident: str) -> bool:
    from journeys.models import Journey

    return (
        ident.isdigit()
        and Journey.objects.filter(id=int(ident), workspace_id=workspace_id).exists()
    )


events_committed_register(events_committed)
topic_check_register("journey", _journey_in_workspace)
timeline_source_register("journey_step", journey_step_entries, label="Journey steps")
demo_seeder_register("journeys", demo_journeys_seed)
schedule_register("journeys: due runs", "journeys.tasks.runs_due_sweep_task", minutes=1)
schedule_register("journeys: date triggers", "journeys.tasks.date_triggers_task", minutes=60)
schedule_register("journeys: demo traffic", "journeys.tasks.traffic_task", minutes=1)


def _api() -> None:
    from console.api import api
    from journeys.api import router

    if not any(prefix == "/journeys" for prefix, _ in api._routers):
        api.add_router("/journeys", router)


_api()


def _ivr_context() -> None:
    from channels_app.ivr.context import ivr_context_register
    from journeys.ivr_context import journey_caller_context

    ivr_context_register(journey_caller_context)


_ivr_context()


def _panel() -> None:
    from console.views import CUSTOMER_PANELS
    from journeys.views import customer_runs_panel

    if customer_runs_panel not in CUSTOMER_PANELS:
        CUSTOMER_PANELS.append(customer_runs_panel)


_panel()
