"""Four Python workflow apps in the shapes of the Dapr Python SDK's workflow examples
(task chaining, fan-out/fan-in, child workflows, a timer and an external event), each
with a Valkey/Redis store of its own and a deliberately broken variant (``APP_VARIANT``).
They are written as a Dapr user writes an app; ``*.scenario.yaml`` next to them host
them under dapr-chaos."""
