"""The visual journey builder: canvas page, inspector forms, autosave, validation panel with
compliance lint, publication (with an optional approval rule), version diff, test runs.

A small Django app of its own (label ``journeys_builder``) because it owns two tables: the
workspace's approval rule and the publication requests. It calls the journeys services for every
write to journeys, versions and runs.
"""
